import t from 'tap';
import { readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostNetnsError, NetnsNotFoundError, NotANetnsError } from '../../daemon/errors.ts';
import { inNetnsSync, openNetns } from '../../daemon/netlink/netns.ts';
import { Rtnl } from '../../daemon/netlink/rtnl.ts';
import { rt } from '../../daemon/netlink/codec.ts';
import { createNetns, rootSkipReason } from '../helpers/netns.ts';

const threadNetns = (): string => readlinkSync('/proc/thread-self/ns/net');
const allThreadsNetns = (): string[] => [...new Set(readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`)))];

const skip = rootSkipReason();
if (skip !== false) {
  t.plan(0, skip);
} else {
  const host = threadNetns();
  const { path } = await createNetns(t, 'nlt');

  t.test('opens a named netns; refuses its own', async (tt) => {
    const handle = await openNetns(path);
    tt.equal(handle.path, path);
    tt.ok(handle.fd > 2, `${path} fd is held`);
    await handle.close();
    await tt.rejects(openNetns('/proc/self/ns/net'), HostNetnsError, 'the process\'s own netns is the host\'s: refused');
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

  t.test('requests for a netns go to that netns, and the pool thread comes back', async (tt) => {
    const handle = await openNetns(path);
    tt.teardown(() => handle.close());
    const links = await Rtnl.in(handle).dump(rt.MessageType.GETLINK, { kind: 'link', data: {}, attrs: {} }, AbortSignal.timeout(2000));
    const names = links.flatMap((msg) => (msg.kind === 'link' && msg.attrs.ifname !== undefined ? [msg.attrs.ifname] : []));
    tt.same(names, ['lo'], 'a fresh netns has only lo');
    const hostLinks = await Rtnl.host().dump(rt.MessageType.GETLINK, { kind: 'link', data: {}, attrs: {} }, AbortSignal.timeout(2000));
    tt.ok(hostLinks.length > 1, `the host netns has its own links (${hostLinks.length})`);
    tt.equal(threadNetns(), host);
    tt.same(allThreadsNetns(), [host], 'every thread (libuv pool included) is back in the host netns');
  });

  t.test('a batch of 1000 requests: each answered, in order', async (tt) => {
    const request = { type: rt.MessageType.GETLINK, message: { kind: 'link', data: {}, attrs: { ifname: 'lo' } } as const, flags: 0, operation: 'RTM_GETLINK lo' };
    const handle = await openNetns(path);
    tt.teardown(() => handle.close());
    const replies = await Rtnl.in(handle).batch(Array.from({ length: 1000 }, () => request), AbortSignal.timeout(10_000));
    tt.equal(replies.length, 1000);
    tt.ok(replies.every((r) => r.length === 1 && r[0]?.kind === 'link' && r[0].attrs.ifname === 'lo'), 'every reply is lo');
  });

  t.test('the first kernel error stops the batch and names its request', async (tt) => {
    const lo = { type: rt.MessageType.GETLINK, message: { kind: 'link', data: {}, attrs: { ifname: 'lo' } } as const, flags: 0, operation: 'RTM_GETLINK lo' };
    const none = { ...lo, message: { kind: 'link', data: {}, attrs: { ifname: 'nlt-none' } } as const, operation: 'RTM_GETLINK nlt-none' };
    const handle = await openNetns(path);
    tt.teardown(() => handle.close());
    await tt.rejects(Rtnl.in(handle).batch([lo, none, lo], AbortSignal.timeout(2000)), { name: 'KernelError', code: 'ENODEV', operation: 'RTM_GETLINK nlt-none' });
  });
}
