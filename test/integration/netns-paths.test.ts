// Netns paths against real files (issue 19, item 4): CNI_NETNS goes through the path grammar
// (cni-spec/env.ts) and then the checks on the opened file (netlink/netns.ts openNetns: nsfs, a
// network namespace, not the daemon's own), exactly as ADD and CHECK take it; a recorded path of
// an IPAM-only attachment that fails either counts as gone for the reconciler and is logged once.
// Here the test process stands for the daemon: its netns is "the host's".
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateNetnsPath } from '../../daemon/cni-spec/env.ts';
import { openPodNetns } from '../../daemon/attachments/context.ts';
import { ipamPodAlive } from '../../daemon/attachments/liveness.ts';
import { netnsId, openNetns } from '../../daemon/netlink/netns.ts';
import { toCniError } from '../../daemon/server/cni-errors.ts';
import { createNetns, rootSkipReason, run, uniqueName } from '../helpers/netns.ts';

/** What ADD does with CNI_NETNS: the grammar, then open and check. */
async function openAsAdd(path: string): Promise<string> {
  const handle = await openPodNetns(validateNetnsPath(path));
  try {
    return netnsId(handle);
  } finally {
    await handle.close();
  }
}

async function refused(tt: Test, path: string, msg: string): Promise<void> {
  const outcome = await openAsAdd(path).then(() => undefined, (err: unknown) => toCniError(err, 'ADD'));
  if (outcome === undefined) {
    tt.fail(`${path} was opened`);
    return;
  }
  tt.equal(outcome.code, 4, `${path}: code 4`);
  tt.match(outcome.message, msg, `${path}: ${outcome.message}`);
}

/** A file bind-mounted at /run/netns/<name> (how `ip netns add` pins a namespace), unmounted at teardown. */
async function bindMounted(tt: Test, source: string): Promise<string> {
  const target = `/run/netns/${uniqueName('omnpfile')}`;
  writeFileSync(target, '');
  tt.teardown(async () => {
    await run('umount', [target]).catch(() => undefined);
    rmSync(target, { force: true });
  });
  await run('mount', ['--bind', source, target]);
  return target;
}

const skip = rootSkipReason();
if (skip !== false) {
  t.plan(0, skip);
} else {
  const pod = await createNetns(t, 'omnp');
  // A process inside the pod's namespace, for its /proc/<pid>/ns/net and task paths.
  const sleeper = spawn('ip', ['netns', 'exec', pod.name, 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => {
    sleeper.kill('SIGKILL');
  });
  await run('sleep', ['0.2']);
  const pid = sleeper.pid ?? 0;

  t.test('the forms runtimes use open, and name the same namespace', async (tt) => {
    const id = await openAsAdd(pod.path);
    tt.equal(await openAsAdd(pod.path.replace('/var/run/', '/run/')), id, '/run/netns/<name>');
    tt.equal(await openAsAdd(`/proc/${pid}/ns/net`), id, '/proc/<pid>/ns/net of a process in the pod');
    tt.equal(await openAsAdd(`/proc/${pid}/task/${pid}/ns/net`), id, '/proc/<pid>/task/<tid>/ns/net');
  });

  t.test('refused: not a netns file, another path form, the daemon\'s own netns', async (tt) => {
    // A regular file on the root filesystem, bind-mounted where a netns would be.
    const diskFile = join(tmpdir(), `omnp-file-${process.pid}`);
    writeFileSync(diskFile, 'not a netns');
    tt.teardown(() => rmSync(diskFile, { force: true }));
    await refused(tt, await bindMounted(tt, diskFile), 'CNI_NETNS: not a network namespace');
    // A regular file on /run's tmpfs, right in the netns directory.
    const tmpfsFile = `/run/netns/${uniqueName('omnptmpfs')}`;
    writeFileSync(tmpfsFile, 'not a netns');
    tt.teardown(() => rmSync(tmpfsFile, { force: true }));
    await refused(tt, tmpfsFile, 'CNI_NETNS: not a network namespace');
    // Another namespace type of the pod's process, bind-mounted under /run/netns (nsfs, not net).
    await refused(tt, await bindMounted(tt, `/proc/${pid}/ns/uts`), 'CNI_NETNS: not a network namespace');
    // The daemon's own netns, by its pid, its thread, and bind-mounted under /run/netns.
    await refused(tt, `/proc/${process.pid}/ns/net`, "CNI_NETNS: the daemon's own (host) network namespace");
    await refused(tt, `/proc/${process.pid}/task/${process.pid}/ns/net`, "CNI_NETNS: the daemon's own (host) network namespace");
    await refused(tt, await bindMounted(tt, '/proc/self/ns/net'), "CNI_NETNS: the daemon's own (host) network namespace");
    // Paths that are nsfs files but not a netns path form: refused before anything is opened.
    for (const path of ['/proc/self/ns/net', `/proc/${pid}/root${pod.path}`, `/proc/${process.pid}/root${pod.path}`, `/proc/${pid}/ns/mnt`]) {
      await refused(tt, path, 'CNI_NETNS: must be /proc/<pid>/ns/net');
    }
    // openNetns alone would take the /proc/<pid>/root path: the grammar is what stops it.
    const behindRoot = await openNetns(`/proc/${pid}/root${pod.path}`);
    await behindRoot.close();
  });

  t.test('IPAM-mode liveness: a recorded path that fails the checks counts as gone, logged once', async (tt) => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const signal = AbortSignal.timeout(5000);
    tt.equal(await ipamPodAlive({ netns: pod.path, netnsId: undefined, ifName: 'lo' }, log, signal), true, 'a pod netns with its interface: alive');
    const bad = [`/proc/${pid}/root${pod.path}`, `/proc/${process.pid}/ns/net`, '/etc/hostname'];
    for (const netns of bad) {
      for (let pass = 0; pass < 3; pass++) {
        tt.equal(await ipamPodAlive({ netns, netnsId: undefined, ifName: 'lo' }, log, signal), false, `${netns}: gone (pass ${pass})`);
      }
    }
    tt.same(lines.map((l) => l['netns']), bad, 'one warning per refused path, however many passes');
    tt.match(String(lines[0]?.['msg']), 'not a netns path', 'the grammar refusal says so');
    tt.match(String(lines[1]?.['msg']), "the daemon's own netns", 'the host netns refusal says so');
  });
}
