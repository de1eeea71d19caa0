import t from 'tap';
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { isErrno, KernelError } from '../../daemon/errors.ts';
import { deleteLink, deleteLinkInNetns, findLink, listHostLinks } from '../../daemon/netlink/link.ts';
import { openNetns, type NetnsHandle } from '../../daemon/netlink/netns.ts';
import { configurePodInterface, inspectPodInterface } from '../../daemon/netlink/pod.ts';
import { createVethPair } from '../../daemon/netlink/veth.ts';
import { createNetns, rootSkipReason, run } from '../helpers/netns.ts';

const signal = (): AbortSignal => AbortSignal.timeout(5000);
const hostName = (): string => `nlt${randomBytes(5).toString('hex')}`;

/** A fresh netns (test/helpers/netns.ts), opened; at teardown the handle is closed and `hostLinks` deleted. */
async function tempNetns(tt: Test, ...hostLinks: string[]): Promise<{ name: string; handle: NetnsHandle; }> {
  const { name, path } = await createNetns(tt, 'nlt');
  const handle = await openNetns(path);
  tt.teardown(async () => {
    await handle.close();
    for (const link of hostLinks) await deleteLink(link, signal());
  });
  return { name, handle };
}

const skip = rootSkipReason();
if (skip !== false) {
  t.plan(0, skip);
} else {
  t.test('veth pair into a pod netns, configured, inspected, deleted', async (tt) => {
    const host = hostName();
    const { name: ns, handle } = await tempNetns(tt, host);
    const pair = await createVethPair({ hostName: host, podName: 'net1', podNetns: handle, podMac: '0a:58:0a:2a:00:05', mtu: 1442, signal: signal() });
    tt.match(pair.hostMac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    tt.same(await findLink(host, signal()), { index: pair.hostIndex, mac: pair.hostMac, mtu: 1442, up: true }, 'host end: MTU, up');
    tt.same(await listHostLinks(host, signal()), [host]);
    tt.same(await inspectPodInterface(handle, 'net1', signal()), { index: pair.podIndex, mac: '0a:58:0a:2a:00:05', mtu: 1442, up: false, addresses: [], txChecksum: true }, 'pod end: name, MAC, MTU, still down');

    await configurePodInterface({
      podNetns: handle,
      podName: 'net1',
      addresses: [{ address: '10.42.0.5', prefixLength: 24 }, { address: 'fd00:42::5', prefixLength: 64 }],
      routes: [{ destination: '0.0.0.0/0', gateway: '10.42.0.1' }, { destination: '::/0', gateway: 'fd00:42::1' }, { destination: '10.96.0.0/12' }],
      disableTxChecksum: true,
      signal: signal(),
    });
    const state = await inspectPodInterface(handle, 'net1', signal());
    tt.equal(state?.up, true);
    tt.equal(state?.txChecksum, false);
    tt.same(state?.addresses.filter((a) => !a.address.startsWith('fe80:')), [{ address: '10.42.0.5', prefixLength: 24 }, { address: 'fd00:42::5', prefixLength: 64 }]);

    const v6 = await run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', 'net1']);
    tt.match(v6, /inet6 fd00:42::5\/64 scope global nodad/);
    tt.notMatch(v6, /fd00:42::5\/64[^\n]*tentative/, 'IPv6 address is usable at once (not tentative)');
    tt.match(await run('ip', ['-n', ns, 'route']), /default via 10\.42\.0\.1 dev net1 \n/);
    tt.match(await run('ip', ['-n', ns, 'route']), /10\.96\.0\.0\/12 dev net1 scope link/);
    tt.match(await run('ip', ['-n', ns, '-6', 'route']), /default via fd00:42::1 dev net1 metric 1024/);
    tt.match(await run('ip', ['netns', 'exec', ns, 'ethtool', '-k', 'net1']), /tx-checksumming: off/);

    await run('ip', ['addr', 'add', '10.42.0.1/24', 'dev', host]);
    tt.match(await run('busybox', ['ping', '-c', '1', '-W', '2', '10.42.0.5']), /1 packets received/, 'host reaches the pod end');

    tt.equal(await deleteLink(host, signal()), true);
    tt.equal(await deleteLink(host, signal()), false, 'deleting again is not an error');
    tt.equal(await findLink(host, signal()), undefined);
    tt.equal(await inspectPodInterface(handle, 'net1', signal()), undefined, 'the pod end went with it');
  });

  t.test('two netns ping each other over one pair (v4 and v6)', async (tt) => {
    const a = await tempNetns(tt);
    const b = await tempNetns(tt);
    const host = hostName();
    await createVethPair({ hostName: host, podName: 'eth-b', podNetns: b.handle, podMac: '0a:58:0a:2b:00:02', signal: signal() });
    await run('ip', ['link', 'set', 'dev', host, 'netns', a.name, 'name', 'eth-a']);
    await configurePodInterface({ podNetns: a.handle, podName: 'eth-a', addresses: [{ address: '10.43.0.1', prefixLength: 24 }, { address: 'fd00:43::1', prefixLength: 64 }], routes: [], disableTxChecksum: false, signal: signal() });
    await configurePodInterface({ podNetns: b.handle, podName: 'eth-b', addresses: [{ address: '10.43.0.2', prefixLength: 24 }, { address: 'fd00:43::2', prefixLength: 64 }], routes: [{ destination: '10.99.0.0/16', gateway: '10.43.0.1' }], disableTxChecksum: true, signal: signal() });
    tt.equal((await inspectPodInterface(b.handle, 'eth-b', signal()))?.mtu, 1500, 'kernel default MTU when none is given');
    tt.match(await run('ip', ['netns', 'exec', a.name, 'busybox', 'ping', '-c', '1', '-W', '2', '10.43.0.2']), /1 packets received/);
    tt.match(await run('ip', ['netns', 'exec', a.name, 'busybox', 'ping', '-6', '-c', '1', '-W', '2', 'fd00:43::2']), /1 packets received/);
    tt.equal(await deleteLinkInNetns(b.handle, 'eth-b', signal()), true);
    tt.equal(await deleteLinkInNetns(b.handle, 'eth-b', signal()), false);
    tt.equal(await inspectPodInterface(a.handle, 'eth-a', signal()), undefined, 'the other end is gone too');
  });

  t.test('kernel refusals are typed errors', async (tt) => {
    const host = hostName();
    const { handle } = await tempNetns(tt, host);
    const opts = { hostName: host, podName: 'net1', podNetns: handle, podMac: '0a:58:0a:2c:00:05', signal: signal() };
    await createVethPair(opts);
    await tt.rejects(createVethPair(opts), { name: 'KernelError', code: 'EEXIST' }, 'host name taken');
    const other = hostName();
    const podNameTaken = await createVethPair({ ...opts, hostName: other }).catch((err: unknown) => err);
    tt.ok(isErrno(podNameTaken, 'EEXIST'), 'pod name taken in the pod netns');
    tt.equal(await findLink(other, signal()), undefined, 'nothing left behind on the host');
    await tt.rejects(createVethPair({ ...opts, hostName: hostName(), podName: 'net2', podMac: '01:00:5e:00:00:01' }), { code: 'EADDRNOTAVAIL' }, 'multicast MAC');
    await tt.rejects(
      configurePodInterface({ podNetns: handle, podName: 'nope0', addresses: [], routes: [], disableTxChecksum: true, signal: signal() }),
      KernelError,
      'missing pod interface',
    );
    await tt.rejects(
      configurePodInterface({ podNetns: handle, podName: 'net1', addresses: [{ address: '10.44.0.5', prefixLength: 24 }], routes: [{ destination: '0.0.0.0/0', gateway: '10.45.0.1' }], disableTxChecksum: false, signal: signal() }),
      { code: 'ENETUNREACH' },
      'gateway not on-link',
    );
  });

  t.test('an aborted signal stops the request', async (tt) => {
    await tt.rejects(findLink('lo', AbortSignal.abort()), { name: 'AbortError' });
    const reason = new Error('deadline');
    await tt.rejects(deleteLink('nlt-none', AbortSignal.abort(reason)), reason);
    tt.same(await findLink('lo', signal()), { index: 1, mac: '00:00:00:00:00:00', mtu: 65536, up: true }, 'later requests still work');
  });
}
