// Network namespace handles and the one place where the main thread changes netns.
//
// A netlink socket (or ioctl socket) belongs to the netns of the thread that created it. Node has no
// setns, so inNetnsSync() switches the calling thread into the target netns, runs a synchronous
// function (create a socket, one ioctl) and switches back before any other JavaScript can run. The
// switch back cannot fail silently: restoreNetns aborts the process instead. Node's libuv threadpool
// inherits the netns of the thread that starts it, so it is started before the first switch.
import { fstatSync, openSync } from 'node:fs';
import { access, open, statfs, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { HostNetnsError, KernelError, NetnsNotFoundError, NotANetnsError } from '../errors.ts';
import { native } from './native/addon.ts';

const CLONE_NEWNET = 0x40000000;
/** statfs f_type of the kernel's namespace filesystem (linux/magic.h). */
const NSFS_MAGIC = 0x6e736673;

/** An open network namespace. The fd stays valid (and the netns alive) until close(). */
export interface NetnsHandle {
  readonly path: string;
  readonly fd: number;
  close(): Promise<void>;
}

let hostNetns: number | undefined;
let threadpoolStarted: Promise<void> | undefined;

/**
 * Opens `path` (e.g. /var/run/netns/x or /proc/PID/ns/net) once and checks the opened file, so
 * nothing can be swapped between the check and the use: an nsfs file (statfs through
 * /proc/self/fd, which names the open file itself), a network namespace (NS_GET_NSTYPE), and not
 * the daemon's own (its device and inode differ from the main thread's netns).
 * @throws NetnsNotFoundError when the path does not exist, NotANetnsError when it is not a netns,
 * HostNetnsError when it is the daemon's own.
 */
export async function openNetns(path: string): Promise<NetnsHandle> {
  await startThreadpool();
  let file: FileHandle;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) throw new NetnsNotFoundError(path, { cause: err });
    throw err;
  }
  try {
    if ((await statfs(`/proc/self/fd/${file.fd}`)).type !== NSFS_MAGIC) throw new NotANetnsError(path);
    const type = native().nsType(file.fd);
    if (type !== CLONE_NEWNET) throw new NotANetnsError(path);
    if (fileId(file.fd) === fileId(hostNetnsFd())) throw new HostNetnsError(path);
  } catch (err) {
    await file.close();
    if (err instanceof KernelError && err.code === 'ENOTTY') throw new NotANetnsError(path, { cause: err });
    throw err;
  }
  return { path, fd: file.fd, close: () => file.close() };
}

/**
 * The namespace's identity: device and inode of its nsfs file (what `ip netns identify` and
 * `lsns` compare). Two paths to one namespace give the same; a namespace made later at the same
 * path (a reused /proc/<pid>/ns/net) gives another while the first lives.
 */
export function netnsId(netns: NetnsHandle): string {
  return fileId(netns.fd);
}

function fileId(fd: number): string {
  const st = fstatSync(fd, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/**
 * Runs `fn` with the calling thread inside `netns` and returns to the host netns afterwards, even
 * when `fn` throws. `fn` must be synchronous: no JavaScript but `fn` may run in the other netns.
 * Callers must have awaited openNetns() (which starts the threadpool) before.
 */
export function inNetnsSync<T>(netns: NetnsHandle, fn: () => T): T {
  const host = hostNetnsFd();
  native().setns(netns.fd);
  try {
    const result = fn();
    if (result instanceof Promise) throw new TypeError('inNetnsSync needs a synchronous function');
    return result;
  } finally {
    native().restoreNetns(host);
  }
}

/** Starts the libuv threadpool (its threads must be created in the host netns). */
export function startThreadpool(): Promise<void> {
  threadpoolStarted ??= access('/proc/thread-self/ns/net');
  return threadpoolStarted;
}

/** The netns the main thread started in, opened once and kept for the life of the process. */
export function hostNetnsFd(): number {
  hostNetns ??= openSync('/proc/thread-self/ns/net', constants.O_RDONLY);
  return hostNetns;
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}
