// Lost ports come back (issue 19, item 6): a live attachment whose logical switch port vanishes
// from the NB (an admin's `lsp-del`, an NB restored from a file saved before the ADD) gets it back
// within 5 s with the same name, addresses and MAC, bound again (`ovn-installed`), with traffic
// flowing; its guard keys are never freed meanwhile; an IPAMClaim's reservation the NB lost is
// rebuilt; addresses another port has now are never taken back (the pod stays cut off, logged,
// its guard keys kept by every daemon until its DEL).
// Two nodes sharing one NB and a fake API server (test/helpers/claims.ts).
import t from 'tap';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostVethName, logicalPortName } from '../../daemon/cni-spec/names.ts';
import { e2eSkipReason } from '../helpers/node.ts';
import { CLAIM_NAMESPACE, startClaimCluster, type ClaimPod } from '../helpers/claims.ts';
import type { ClusterNode } from '../helpers/two-nodes.ts';
import { ping } from '../helpers/traffic.ts';
import { sleep, until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const NETWORK = 'lostnet';
// A short grace period: guard keys of a port that looks gone would be freed within 1.5 s.
const GRACE = ['--reconcile-grace', '1000', '--reconcile-interval', '200'];

t.test('lost ports come back', { skip }, async (t) => {
  const c = await startClaimCluster(t, { network: NETWORK, subnet: '10.72.0.0/24', daemonArgs: GRACE });
  const { nodes, api } = c;
  await api.upsertNamespace({ name: CLAIM_NAMESPACE });
  await api.upsertNetwork({ name: NETWORK, logicalSwitch: NETWORK, namespaceSelector: {} });
  const a = nodes.a;
  const lspOf = (pod: ClaimPod): string => logicalPortName(pod.call.containerId, pod.call.ifName);
  const vethOf = (pod: ClaimPod): string => hostVethName(pod.call.containerId, pod.call.ifName);
  /** The port's addresses and port security as the NB has them, or undefined when it is gone. */
  const portState = async (pod: ClaimPod): Promise<string | undefined> => {
    const out = await nodes.nbctl(['--bare', '--columns=name,addresses,port_security', 'find', 'logical_switch_port', `name=${lspOf(pod)}`]);
    return out.trim() === '' ? undefined : out.trim();
  };
  const installed = async (node: ClusterNode, pod: ClaimPod): Promise<boolean> =>
    (await node.sandbox.vsctl(['--if-exists', 'get', 'interface', vethOf(pod), 'external_ids:ovn-installed'])).trim() === '"true"';
  const switchIds = (): Promise<string> => nodes.nbctl(['get', 'logical_switch', NETWORK, 'external_ids']);
  const guardsOf = async (pod: ClaimPod): Promise<number> => ((await switchIds()).match(new RegExp(`"port:${lspOf(pod)}"`, 'g')) ?? []).length;
  const addressOf = (pod: ClaimPod): string => pod.ip.split('/')[0] ?? '';
  const restoredLog = (node: ClusterNode, pod: ClaimPod): boolean => node.daemon.logs.some((l) => l['msg'] === 'restored the lost logical switch port of a live attachment' && l['lsp'] === lspOf(pod));

  t.test('an admin\'s lsp-del: back within 5 s, same name, addresses and MAC, bound, traffic flows', async (t) => {
    const lost = await c.attach(t, a, { persistent: false });
    const peer = await c.attach(t, a, { persistent: false });
    t.equal(lost.out.exitCode, 0, lost.out.stdout);
    t.equal(peer.out.exitCode, 0, peer.out.stdout);
    t.ok(await ping(peer.ns, addressOf(lost)), 'traffic flows before');
    const before = await portState(lost);
    t.match(before, lost.mac, 'the port has the pod\'s MAC');
    t.equal(await guardsOf(lost), 2, 'it holds the guard keys of its MAC and IP');

    // The guard keys, watched while the port is away: they must never be freed.
    let watching = true;
    let guardsMissing = false;
    const watcher = (async () => {
      while (watching) {
        if ((await guardsOf(lost)) !== 2) guardsMissing = true;
        await sleep(25);
      }
    })();
    await nodes.nbctl(['lsp-del', lspOf(lost)]);
    const start = Date.now();
    const coming = until('the port to come back', async () => ((await portState(lost)) === before ? Date.now() - start : undefined), 5000);
    // Another pod asking for the lost pod's address meanwhile does not get it.
    const thief = await c.attach(t, a, { persistent: false, ips: [lost.ip] });
    t.not(thief.out.exitCode, 0, `an ADD asking for ${lost.ip} is refused: ${thief.out.stdout}`);
    const back = await coming;
    t.ok(back <= 5000, `back ${back} ms after its deletion (≤ 5 s), with the same name, addresses and port security`);
    await until('ovn-installed on its interface again', async () => ((await installed(a, lost)) ? true : undefined), 5000);
    t.pass('bound again (ovn-installed)');
    t.ok(await ping(peer.ns, addressOf(lost)), 'traffic flows again');
    t.ok(restoredLog(a, lost), 'logged');
    // Longer than the grace period and a half: nothing would be freed later either.
    await sleep(2000);
    watching = false;
    await watcher;
    t.notOk(guardsMissing, 'its guard keys were never freed');
    t.equal(await guardsOf(lost), 2, 'and are its own');
    t.comment(`lsp-del: the port was back ${back} ms after its deletion`);
  });

  t.test('an NB restored from a file saved before the ADDs: ports and the IPAMClaim reservations back', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'om-nb-backup-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const dbFile = join(a.sandbox.dir, 'ovn', 'ovnnb_db.db');
    const backup = join(dir, 'ovnnb_db.db');
    await a.sandbox.db('stop', 'nb');
    await copyFile(dbFile, backup);
    await a.sandbox.db('start', 'nb');
    // The daemons are connected again once STATUS answers 0.
    await until('both daemons reconnected', async () => ((await Promise.all(nodes.nodes.map(async (n) => (await n.cni({ command: 'STATUS' }, n.config(NETWORK))).exitCode))).every((code) => code === 0) ? true : undefined), 15_000);

    await c.claim('vm-lost');
    const vm = await c.attach(t, a, { claim: 'vm-lost' });
    const plain = await c.attach(t, nodes.b, { persistent: false });
    t.equal(vm.out.exitCode, 0, vm.out.stdout);
    t.equal(plain.out.exitCode, 0, plain.out.stdout);
    const reservation = `"ovn-multinet/ipam-claim:${CLAIM_NAMESPACE}/vm-lost"="${vm.mac} ${addressOf(vm)}"`;
    t.match(await switchIds(), reservation, 'the claim is reserved on the switch');
    await until('the claim status', async () => (JSON.stringify(await c.claimStatus('vm-lost')).includes(vm.ip) ? true : undefined));
    // A VM stopped before the NB went back: its claim has a reservation and a status, no pod.
    await c.claim('vm-idle');
    const idle = await c.attach(t, a, { claim: 'vm-idle' });
    t.equal(idle.out.exitCode, 0, idle.out.stdout);
    await until('the idle claim\'s status', async () => (JSON.stringify(await c.claimStatus('vm-idle')).includes(idle.ip) ? true : undefined));
    t.equal((await c.del(idle)).exitCode, 0, 'its pod goes');
    const vmBefore = await portState(vm);
    const plainBefore = await portState(plain);
    t.ok(await ping(plain.ns, addressOf(vm)), 'traffic flows before');

    await a.sandbox.db('stop', 'nb');
    await copyFile(backup, dbFile);
    await a.sandbox.db('start', 'nb');
    const start = Date.now();
    const back = await until('both ports and the reservation to come back', async () => {
      const [v, p, ids] = await Promise.all([portState(vm), portState(plain), switchIds()]);
      return v === vmBefore && p === plainBefore && ids.includes(reservation) ? Date.now() - start : undefined;
    }, 10_000);
    t.ok(back <= 5000, `back ${back} ms after the older NB started (≤ 5 s)`);
    t.match(JSON.stringify(await c.claimStatus('vm-lost')), addressOf(vm), 'the reservation holds what the claim\'s status says');
    t.equal(await guardsOf(plain), 2, 'the plain port\'s guard keys are back');
    await until('both bound again', async () => ((await installed(a, vm)) && (await installed(nodes.b, plain)) ? true : undefined), 10_000);
    t.pass('bound again (ovn-installed)');
    t.ok(await until('traffic again', async () => ((await ping(plain.ns, addressOf(vm))) ? true : undefined), 10_000), 'traffic flows again');
    t.notMatch(await switchIds(), 'ipam-claim:vms/vm-idle', 'the stopped VM\'s reservation is not in the older NB');
    const again = await c.attach(t, nodes.b, { claim: 'vm-idle' });
    t.equal(again.out.exitCode, 0, again.out.stdout);
    t.equal(again.ip, idle.ip, 'its next pod gets the address of the claim\'s status');
    t.match(await switchIds(), `"ovn-multinet/ipam-claim:${CLAIM_NAMESPACE}/vm-idle"="${again.mac} ${addressOf(again)}"`, 'reserved again');
    t.comment(`older NB: both ports and the reservation back ${back} ms after it started`);
  });

  t.test('an Interface an older daemon wrote gets the record from its port at start, and its port comes back', async (t) => {
    const pod = await c.attach(t, a, { persistent: false });
    t.equal(pod.out.exitCode, 0, pod.out.stdout);
    const recordKeys = ['ovn-multinet/logical-switch', 'ovn-multinet/addresses', 'ovn-multinet/port-security'];
    const record = async (): Promise<string> => a.sandbox.vsctl(['get', 'interface', vethOf(pod), 'external_ids']);
    t.match(await record(), '"ovn-multinet/addresses"', 'ADD recorded the port on the Interface');
    await a.restartDaemon('SIGTERM', async () => {
      await a.sandbox.vsctl(['remove', 'interface', vethOf(pod), 'external_ids', ...recordKeys]);
      t.notMatch(await record(), 'ovn-multinet/addresses', 'an Interface as an older daemon left it');
    });
    await until('the record written again', async () => ((await record()).includes(`"ovn-multinet/addresses"="${pod.mac} ${addressOf(pod)}"`) ? true : undefined), 5000);
    t.pass('written again from the port');
    const before = await portState(pod);
    await nodes.nbctl(['lsp-del', lspOf(pod)]);
    await until('the port to come back', async () => ((await portState(pod)) === before ? true : undefined), 5000);
    t.pass('the port came back');
  });

  t.test('addresses another port has now are not taken back; the guard keys stay while the veth lives', async (t) => {
    const pod = await c.attach(t, a, { persistent: false });
    t.equal(pod.out.exitCode, 0, pod.out.stdout);
    const intruder = 'intruder';
    t.teardown(() => nodes.nbctl(['--if-exists', 'lsp-del', intruder]));
    // In one transaction, the port goes and another NB client gives its IP out (as an older NB
    // would), with another MAC. (`set`, not lsp-set-addresses, which refuses a duplicate.)
    await nodes.nbctl(['lsp-del', lspOf(pod), '--', 'lsp-add', NETWORK, intruder, '--', 'set', 'logical_switch_port', intruder, `addresses="0a:00:00:00:00:fe ${addressOf(pod)}"`]);
    const refused = await until('the refusal', () => a.daemon.logs.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('cannot restore the lost logical switch port') && l['lsp'] === lspOf(pod)), 5000);
    t.match(refused['msg'], addressOf(pod), `logged: ${String(refused['msg'])}`);
    // Longer than the grace period and a half.
    await sleep(2500);
    t.equal(await portState(pod), undefined, 'the port was not made again');
    t.equal(await guardsOf(pod), 2, 'its guard keys were not freed');
    t.match(await switchIds(), new RegExp(`"ovn-multinet/lost:${lspOf(pod)}"="?${a.name}"?`), 'marked lost by its node, so that no daemon frees them');
    const thief = await c.attach(t, a, { persistent: false, ips: [pod.ip] });
    t.not(thief.out.exitCode, 0, `an ADD asking for its address is refused: ${thief.out.stdout}`);
    t.equal((await c.del(pod)).exitCode, 0, 'the pod\'s DEL');
    t.equal(await guardsOf(pod), 0, 'frees its guard keys');
    t.notMatch(await switchIds(), 'ovn-multinet/lost:', 'and the mark');
  });
});
