// The TypeScript face of the ovn_multinet_native addon, whose C is beside it (setns.c, rtnl.c,
// errno_error.c): loads it with process.dlopen from the one path nativeAddonPath() gives: the
// node-gyp output from source, the extracted `native.node` asset inside the single executable
// (see daemon/lib/addons.ts).
import { fileURLToPath } from 'node:url';
import { addonPath } from '../../lib/addons.ts';
import { KernelError, NativeAddonError } from '../../errors.ts';

export interface NativeBinding {
  /** Moves the calling thread into the netns behind fd. */
  setns(fd: number): void;
  /** Like setns, but aborts the process on failure (used to return to the host netns). */
  restoreNetns(fd: number): void;
  /** CLONE_NEW* type of the namespace behind fd. */
  nsType(fd: number): number;
  /** TX checksum offload state of an interface in the calling thread's netns. */
  getTxChecksum(ifname: string): boolean;
  /**
   * Sends netlink messages one by one on a threadpool thread, in the netns behind netnsFd (-1:
   * the host's, hostFd), optionally turning off TX checksum offload of an interface first.
   * Resolves with each message's replies; the first kernel error stops it (`failed`, `errno`).
   */
  rtnlExchange(hostFd: number, netnsFd: number, messages: Buffer, txChecksumOff: string | undefined): Promise<RtnlExchange>;
}

export interface RtnlExchange {
  /** Per message: the raw netlink messages it was answered with (empty for a bare ACK). */
  replies: Buffer[];
  /** Index of the message the kernel refused, -1 when none was. */
  failed: number;
  /** The positive errno of that refusal. */
  errno: number;
}

const functionNames = ['setns', 'restoreNetns', 'nsType', 'getTxChecksum', 'rtnlExchange'] as const;

/** The addon file; from source, where `node-gyp rebuild -C daemon/netlink/native` puts it. */
export function nativeAddonPath(): string {
  return addonPath('native.node', fileURLToPath(new URL('./build/Release/ovn_multinet_native.node', import.meta.url)));
}

let binding: NativeBinding | undefined;

/** The addon's functions; their system errors are rethrown as KernelError. */
export function native(): NativeBinding {
  binding ??= load(nativeAddonPath());
  return binding;
}

function load(path: string): NativeBinding {
  const holder: { exports: unknown; } = { exports: {} };
  try {
    process.dlopen(holder, path);
  } catch (err) {
    throw new NativeAddonError(path, { cause: err });
  }
  const raw = holder.exports;
  if (!isRawBinding(raw)) throw new NativeAddonError(path, { details: 'missing exports' });
  return {
    setns: (fd) => kernelCall(() => raw.setns(fd)),
    restoreNetns: (fd) => raw.restoreNetns(fd),
    nsType: (fd) => kernelCall(() => raw.nsType(fd)),
    getTxChecksum: (ifname) => kernelCall(() => raw.getTxChecksum(ifname)),
    rtnlExchange: (hostFd, netnsFd, messages, txChecksumOff) =>
      raw.rtnlExchange(hostFd, netnsFd, messages, txChecksumOff).catch((err: unknown) => kernelCall(() => { throw err; })),
  };
}

function isRawBinding(value: unknown): value is NativeBinding {
  if (typeof value !== 'object' || value === null) return false;
  const record: Partial<Record<string, unknown>> = { ...value };
  return functionNames.every((name) => typeof record[name] === 'function');
}

function kernelCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error && 'errno' in err && typeof err.errno === 'number' && 'syscall' in err) {
      throw new KernelError(err.errno, String(err.syscall), { cause: err });
    }
    throw err;
  }
}
