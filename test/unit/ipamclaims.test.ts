// IPAMClaims: the reservation keys on a logical switch and the operations that guard and free
// them, the standby port of a live migration's target and its promotion (pure), the claim objects as narrowed from the API, the claim cache and its status writes
// through the real client library against the fake API server, and the release decision.
import t from 'tap';
import { pino } from 'pino';
import { claimKey, releaseOps, reservationGuard, reservationOf, reservationsOf, reserveOps } from '../../daemon/ipam/reservations.ts';
import { addressesInUse, describeUser, usedByClaim } from '../../daemon/ipam/in-use.ts';
import { creationOps } from '../../daemon/ipam/allocate.ts';
import { handOverOps } from '../../daemon/ipam/handover.ts';
import { portEntry } from '../../daemon/ovn/ports.ts';
import type { LogicalSwitch } from '../../daemon/ovn/switches.ts';
import { OwnerKeys } from '../../daemon/ovn/ids.ts';
import { ClaimCache, statusChanged, toClaimInfo } from '../../daemon/k8s/ipamclaims.ts';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { orphanedReservations, type PlacedReservation } from '../../daemon/controller/claims.ts';
import type { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import { TableCache } from '../../daemon/ovsdb/cache.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';

const log = pino({ level: 'silent' });
const signal = () => AbortSignal.timeout(10_000);
const uuid = (s: string) => s as unknown as Uuid;

function switchWith(ids: Record<string, string>): LogicalSwitch {
  return { uuid: uuid('11111111-1111-1111-1111-111111111111'), name: 'vmnet', ports: [], otherConfig: new Map(), externalIds: new Map(Object.entries(ids)) };
}

t.test('reservations on a switch', async (t) => {
  const r = { claim: 'vms/vm1', mac: '0a:58:0a:46:00:02', ips: ['10.70.0.2', 'fd00::2'] };
  const [reserve, guard] = reserveOps(switchWith({}), r);
  t.match(reserve, { op: 'mutate', table: 'Logical_Switch', where: [['_uuid', '==']], mutations: [['external_ids', 'insert']] });
  const pairs = reserve?.op === 'mutate' ? (reserve.mutations[0]?.[2] as Map<string, string>) : new Map<string, string>();
  t.same(Object.fromEntries(pairs), {
    'ovn-multinet/addr:0a:58:0a:46:00:02': 'ipam-claim:vms/vm1',
    'ovn-multinet/addr:10.70.0.2': 'ipam-claim:vms/vm1',
    'ovn-multinet/addr:fd00::2': 'ipam-claim:vms/vm1',
    'ovn-multinet/ipam-claim:vms/vm1': '0a:58:0a:46:00:02 10.70.0.2 fd00::2',
  });
  t.match(guard, { op: 'wait', until: '==', rows: [{ name: 'vmnet' }], timeout: 0, where: [['_uuid', '=='], ['external_ids', 'includes']] }, 'then waits for every key to be the claim\'s: an address or the claim taken meanwhile fails it');
  t.same(guard?.op === 'wait' ? guard.where[1]?.[2] : undefined, pairs, 'the same pairs');
  const [release] = releaseOps(switchWith({}).uuid, r);
  t.match(release, { op: 'mutate', mutations: [['external_ids', 'delete']] }, 'release deletes key-value pairs, so a newer reservation survives a stale release');
  t.same(release?.op === 'mutate' ? release.mutations[0]?.[2] : undefined, pairs, 'the same pairs');

  const sw = switchWith(Object.fromEntries(pairs));
  t.same(reservationOf(sw, 'vms/vm1'), r);
  t.equal(reservationOf(sw, 'vms/other'), undefined);
  t.same(reservationsOf(new Map([[claimKey('a/b'), '0a:00:00:00:00:01'], [claimKey('a/bad'), 'not-a-mac'], ['other', 'x']])), [{ claim: 'a/b', mac: '0a:00:00:00:00:01', ips: [] }], 'malformed values are skipped');

  t.match(reservationGuard(sw, r), { op: 'wait', until: '==', rows: [{ name: 'vmnet' }], where: [['_uuid', '=='], ['external_ids', 'includes']] }, 'later pods of a claim wait for its reservation to be unchanged');

  // A reserved address is in use for everyone but its claim.
  const nb = { cache: new TableCache() } as unknown as OvsdbClient;
  const used = addressesInUse(nb, sw);
  const user = used.ips.get('10.70.0.2');
  t.ok(user !== undefined && usedByClaim(user, 'vms/vm1'), 'its own claim may use it');
  t.ok(user !== undefined && !usedByClaim(user, 'vms/vm2'), 'another claim may not');
  t.equal(user === undefined ? '' : describeUser(user), 'IPAMClaim vms/vm1 (reserved)');
  t.ok(used.macs.has(r.mac), 'the MAC too');
});

t.test('a standby port while another port of the claim is active (live migration)', async (t) => {
  const r = { claim: 'vms/vm1', mac: '0a:58:0a:46:00:02', ips: ['10.70.0.2'] };
  const sw = switchWith({});
  const port = { name: 'target', mac: r.mac, ips: r.ips, portSecurity: true, externalIds: new Map([[OwnerKeys.ipamClaim, 'vms/vm1']]) };
  const standby = creationOps(sw, port, { kind: 'claim-existing', reservation: r, activePort: 'source' });
  t.equal(standby.guards, 2, 'the reservation unchanged, and the active port still there');
  t.match(standby.ops[1], { op: 'wait', table: 'Logical_Switch_Port', where: [['name', '==', 'source']], until: '==', rows: [{ name: 'source' }] });
  t.same(standby.row.addresses, [], 'no addresses: no L2 lookup flow, unicast stays with the running VM');
  t.same(standby.row.portSecurity, ['0a:58:0a:46:00:02 10.70.0.2'], 'port security as usual');
  t.equal(standby.row.externalIds.get(OwnerKeys.claimStandby), '0a:58:0a:46:00:02 10.70.0.2', 'the entry it gets when promoted');
  t.equal(portEntry({ uuid: uuid('x'), ...standby.row }), '0a:58:0a:46:00:02 10.70.0.2');
  const alone = creationOps(sw, port, { kind: 'claim-existing', reservation: r, activePort: undefined });
  t.same(alone.row.addresses, ['0a:58:0a:46:00:02 10.70.0.2'], 'no active port: the new one is active at once');
  t.equal(alone.guards, 1);

  const handOver = handOverOps('vms/vm1', '0a:58:0a:46:00:02 10.70.0.2', [{ uuid: uuid('s1'), name: 'target' }, { uuid: uuid('s2'), name: 'other' }]);
  t.equal(handOver.guards, 1);
  t.match(handOver.ops[0], { op: 'wait', table: 'Logical_Switch_Port', rows: [{ name: 'target' }, { name: 'other' }] }, 'the standbys are the ones seen');
  t.match(handOver.ops.slice(1), [
    { op: 'update', where: [['_uuid', '==', 's1']], row: { addresses: ['0a:58:0a:46:00:02 10.70.0.2'] } },
    { op: 'mutate', where: [['_uuid', '==', 's1']], mutations: [['external_ids', 'delete', [OwnerKeys.claimStandby]]] },
  ], 'the first standby is promoted');
  t.same(handOverOps('vms/vm1', 'e', []).ops.length, 1, 'no standby: only the guard');
});

t.test('claim objects', async (t) => {
  t.same(toClaimInfo({ metadata: { namespace: 'vms', name: 'vm1' }, spec: { network: 'vmnet', interface: 'net1' }, status: { ips: ['10.0.0.2/24', 3], ownerPod: { name: 'p' } } }), {
    namespace: 'vms',
    name: 'vm1',
    network: 'vmnet',
    interface: 'net1',
    ips: ['10.0.0.2/24'],
    ownerPod: 'p',
  });
  t.same(toClaimInfo({ metadata: { namespace: 'vms', name: 'vm1' } }), { namespace: 'vms', name: 'vm1', network: undefined, interface: undefined, ips: [], ownerPod: undefined });
  t.equal(toClaimInfo({ metadata: { name: 'no-namespace' } }), undefined);
  const claim = { namespace: 'vms', name: 'vm1', network: 'vmnet', interface: 'net1', ips: ['10.0.0.2/24'], ownerPod: 'p' };
  t.notOk(statusChanged(claim, { ips: ['10.0.0.2/24'], ownerPod: 'p' }));
  t.ok(statusChanged(claim, { ips: ['10.0.0.2/24'], ownerPod: 'q' }), 'a new owner pod');
  t.ok(statusChanged(claim, { ips: ['10.0.0.3/24'], ownerPod: 'p' }), 'other addresses');
  t.ok(statusChanged(claim, { ips: ['10.0.0.2/24', 'fd00::2/64'], ownerPod: 'p' }), 'more addresses');
});

t.test('claim cache and status writes, through the client library', async (t) => {
  const api = await startFakeApiServer(t);
  const kubeConfig = loadKubeConfig(api.kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  await api.apply('ipamclaims', { metadata: { namespace: 'vms', name: 'vm1' }, spec: { network: 'vmnet', interface: 'net1' } });
  const cache = new ClaimCache({ kubeConfig, log, waitMs: 300 });
  cache.start();
  t.teardown(() => cache.stop());

  const claim = await cache.claim('vms', 'vm1', signal());
  t.match(claim, { namespace: 'vms', name: 'vm1', network: 'vmnet', ips: [] });
  t.notOk((await api.requests()).some((r) => r.startsWith('GET /apis/k8s.cni.cncf.io/v1alpha1/namespaces/')), 'from the cache, no GET');
  t.equal(await cache.claim('vms', 'missing', signal()), undefined, 'a missing claim, after one GET (404)');
  t.ok((await api.requests()).includes('GET /apis/k8s.cni.cncf.io/v1alpha1/namespaces/vms/ipamclaims/missing'));

  if (claim === undefined) return;
  await cache.reportStatus(claim, { ips: ['10.70.0.2/29'], ownerPod: 'virt-launcher-a' }, signal());
  const stored = await api.get('ipamclaims', 'vms', 'vm1');
  t.same(stored?.['status'], { ips: ['10.70.0.2/29'], ownerPod: { name: 'virt-launcher-a' } }, 'the status subresource holds ips and owner');
  t.same(stored?.['spec'], { network: 'vmnet', interface: 'net1' }, 'spec untouched');
  t.ok((await api.requests()).includes('PATCH /apis/k8s.cni.cncf.io/v1alpha1/namespaces/vms/ipamclaims/vm1/status'));

  let updated = await cache.claim('vms', 'vm1', signal());
  for (let i = 0; i < 50 && updated?.ownerPod === undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    updated = await cache.claim('vms', 'vm1', signal());
  }
  const patches = (await api.requests()).filter((r) => r.startsWith('PATCH')).length;
  if (updated !== undefined && updated.ownerPod === 'virt-launcher-a') {
    await cache.reportStatus(updated, { ips: ['10.70.0.2/29'], ownerPod: 'virt-launcher-a' }, signal());
    t.equal((await api.requests()).filter((r) => r.startsWith('PATCH')).length, patches, 'an unchanged status is not written again');
  } else {
    t.fail('the cache did not see the status');
  }
});

t.test('which reservations a release pass frees', async (t) => {
  const placed = (claim: string): PlacedReservation => ({ claim, mac: '0a:00:00:00:00:01', ips: [], switchUuid: uuid('u'), switchName: 's' });
  t.same(
    orphanedReservations([placed('vms/a'), placed('vms/b'), placed('other/a')], new Set(['vms/a'])).map((r) => r.claim),
    ['vms/b', 'other/a'],
  );
  t.same(orphanedReservations([placed('vms/a')], new Set(['vms/a'])), [], 'claims that exist keep theirs');
});
