import t from 'tap';
import { readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsNotFoundError, NotANetnsError } from '../../daemon/netlink/errors.ts';
import { inNetnsSync, openNetns } from '../../daemon/netlink/netns.ts';
import { withNetnsRtnl } from '../../daemon/netlink/rtnl.ts';
import { rt } from 'netlink';
import { createNetns, rootSkipReason } from '../helpers/netns.ts';

const threadNetns = (): string => readlinkSync('/proc/thread-self/ns/net');
const allThreadsNetns = (): string[] => [...new Set(readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`)))];

const skip = rootSkipReason();
if (skip !== false) {
  t.plan(0, skip);
} else {
  const host = threadNetns();
  const { path } = await createNetns(t, 'nlt');

  t.test('opens named netns and /proc/self/ns/net', async (tt) => {
    for (const target of [path, '/proc/self/ns/net']) {
      const handle = await openNetns(target);
      tt.equal(handle.path, target);
      tt.ok(handle.fd > 2, `${target} fd is held`);
      await handle.close();
    }
  });

  t.test('missing paths and non-netns files have their own errors', async (tt) => {
    const file = join(tmpdir(), `nlt-file-${process.pid}`);
    writeFileSync(file, 'not a netns');
    tt.teardown(() => rmSync(file, { force: true }));
    await tt.rejects(openNetns('/var/run/netns/does-not-exist-nlt'), NetnsNotFoundError);
    await tt.rejects(openNetns(`${file}/below-a-file`), NetnsNotFoundError);
    for (const notNetns of [file, '/proc/self/ns/uts', '/proc/self/ns/mnt', tmpdir()]) {
      await tt.rejects(openNetns(notNetns), NotANetnsError, `${notNetns} is not a netns`);
    }
  });

  t.test('inNetnsSync switches the thread and always switches back', async (tt) => {
    const handle = await openNetns(path);
    tt.teardown(() => handle.close());
    const target = `net:[${statSync(path).ino}]`;
    tt.equal(inNetnsSync(handle, threadNetns), target, 'inside: the target netns');
    tt.equal(threadNetns(), host, 'after: the host netns');
    tt.throws(() => inNetnsSync(handle, () => { throw new Error('boom'); }), { message: 'boom' });
    tt.equal(threadNetns(), host, 'after a throw: the host netns');
    tt.throws(() => inNetnsSync(handle, async () => 1), TypeError, 'async functions are refused');
    tt.equal(threadNetns(), host);
    tt.same(allThreadsNetns(), [host], 'every thread (libuv pool included) is in the host netns');
  });

  t.test('withNetnsRtnl talks to the netns it was opened for', async (tt) => {
    const handle = await openNetns(path);
    tt.teardown(() => handle.close());
    const names = await withNetnsRtnl(handle, async (sock) => {
      const links = await sock.dump(rt.MessageType.GETLINK, { kind: 'link', data: {}, attrs: {} }, AbortSignal.timeout(2000));
      return links.flatMap((msg) => (msg.kind === 'link' && msg.attrs.ifname !== undefined ? [msg.attrs.ifname] : []));
    });
    tt.same(names, ['lo'], 'a fresh netns has only lo');
    tt.equal(threadNetns(), host);
  });

  t.test('a long pipeline of large replies does not overflow the receive buffer', async (tt) => {
    // Unbounded, 200 RTM_GETLINK replies overflow the socket buffer and the netlink package aborts the process.
    const request = { type: rt.MessageType.GETLINK, message: { kind: 'link', data: {}, attrs: { ifname: 'lo' } } as const, flags: 0, operation: 'RTM_GETLINK lo' };
    const handle = await openNetns(path);
    tt.teardown(() => handle.close());
    await withNetnsRtnl(handle, (sock) => sock.pipeline(Array.from({ length: 1000 }, () => request), AbortSignal.timeout(10_000)));
    tt.pass('1000 requests answered');
  });
}
