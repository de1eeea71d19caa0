// IPAMClaims: the reservation keys on a logical switch and the operations that guard and free
// them, the claim's port shared with a live migration's target, handed over and left (pure), the claim objects as narrowed from the API, the claim cache and its status writes
// through the real client library against the fake API server, and the release decision.
import t from 'tap';
import { pino } from 'pino';
import { claimKey, releaseOps, reservationGuard, reservationOf, reservationsOf, reserveOps } from '../../daemon/ipam/reservations.ts';
import { addressesInUse, describeUser, usedByClaim } from '../../daemon/ipam/in-use.ts';
import { creationOps } from '../../daemon/ipam/allocate.ts';
import { handOverOps, joinOps, leaveOps } from '../../daemon/ipam/migration.ts';
import type { LogicalPort } from '../../daemon/ovn/ports.ts';
import type { Operation } from '../../daemon/ovsdb/ops.ts';
import type { LogicalSwitch } from '../../daemon/ovn/switches.ts';
import { ownerExternalIds, OwnerKeys, roleOf, TargetKeys, targetIdsOf } from '../../daemon/ovn/ids.ts';
import { ClaimCache, parseRecordedReservation, recordChanged, RESERVATION_ANNOTATION, statusChanged, toClaimInfo } from '../../daemon/k8s/ipamclaims.ts';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { orphanedReservations, type PlacedReservation } from '../../daemon/controller/claims.ts';
import type { NbClient } from '../../daemon/ovn/nb.ts';
import { TableCache } from '../../daemon/ovsdb/cache.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { ChassisUnknownError, SameChassisError } from '../../daemon/errors.ts';

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
  const nb = { cache: new TableCache() } as unknown as NbClient;
  const used = addressesInUse(nb, sw);
  const user = used.ips.get('10.70.0.2');
  t.ok(user !== undefined && usedByClaim(user, 'vms/vm1'), 'its own claim may use it');
  t.ok(user !== undefined && !usedByClaim(user, 'vms/vm2'), 'another claim may not');
  t.equal(user === undefined ? '' : describeUser(user), 'IPAMClaim vms/vm1 (reserved)');
  t.ok(used.macs.has(r.mac), 'the MAC too');
});

t.test('the port of a claim shared by a live migration target (pure)', async (t) => {
  const r = { claim: 'vms/vm1', mac: '0a:58:0a:46:00:02', ips: ['10.70.0.2'] };
  const sw = switchWith({});
  const port = { name: 'target', mac: r.mac, ips: r.ips, portSecurity: true, externalIds: new Map([[OwnerKeys.ipamClaim, 'vms/vm1']]) };
  const alone = creationOps(sw, port, { kind: 'claim-existing', reservation: r, activePort: undefined });
  t.same(alone.row.addresses, ['0a:58:0a:46:00:02 10.70.0.2'], 'no port of the claim: a new one, active at once');
  t.equal(alone.guards, 1, 'guarded by the reservation');

  const identity = (id: string, node: string, chassis?: string) =>
    ownerExternalIds({ containerId: id, ifName: 'net1', netns: `/run/netns/${id}`, node, bootId: 'b', network: 'vmnet', ...(chassis === undefined ? {} : { chassis }), pod: { namespace: 'vms', name: id } });
  const source: LogicalPort = {
    uuid: uuid('p1'),
    name: 'omn-source',
    addresses: ['0a:58:0a:46:00:02 10.70.0.2'],
    portSecurity: ['0a:58:0a:46:00:02 10.70.0.2'],
    externalIds: new Map([...identity('src', 'node-a', 'chassis-a'), [OwnerKeys.ipamClaim, 'vms/vm1'], ['ovn-multinet/switch', 'sw']]),
    options: new Map([['other', 'kept']]),
  };
  const rowOf = (ops: readonly Operation[]) => {
    const u = ops[1];
    return u?.op === 'update' ? { ids: u.row['external_ids'] as Map<string, string>, options: u.row['options'] as Map<string, string> } : undefined;
  };

  const { ops: join, port: afterJoin } = joinOps(source, identity('dst', 'node-b', 'chassis-b'));
  t.match(join[0], { op: 'wait', table: 'Logical_Switch_Port', where: [['_uuid', '==', 'p1']], columns: ['external_ids', 'options'], until: '==', timeout: 0 }, 'guarded by the port row, by uuid');
  t.same(join[0]?.op === 'wait' ? join[0].rows : undefined, [{ external_ids: source.externalIds, options: source.options }], 'as read');
  const joined = rowOf(join);
  t.same(Object.fromEntries(joined?.options ?? []), { other: 'kept', 'requested-chassis': 'chassis-a,chassis-b', 'activation-strategy': 'rarp' });
  t.equal(joined?.ids.get(OwnerKeys.containerId), 'src', 'the source still owns it');
  t.equal(joined?.ids.get(TargetKeys.containerId), 'dst', 'the target is recorded beside it');
  t.equal(joined?.ids.get(TargetKeys.node), 'node-b');
  t.throws(() => joinOps(source, identity('dst', 'node-b')), ChassisUnknownError, 'a target without a chassis cannot join');
  t.throws(() => joinOps(source, identity('dst', 'node-a', 'chassis-a')), SameChassisError, 'nor one on the chassis of the source');

  const shared: LogicalPort = { ...source, externalIds: joined?.ids ?? new Map(), options: joined?.options ?? new Map() };
  t.same(afterJoin, shared, 'the port as the join leaves it');
  t.equal(roleOf(shared.externalIds, 'src', 'net1'), 'owner');
  t.equal(roleOf(shared.externalIds, 'dst', 'net1'), 'target');
  t.equal(roleOf(shared.externalIds, 'other', 'net1'), undefined);

  const left = rowOf(leaveOps(shared));
  t.same(Object.fromEntries(left?.ids ?? []), Object.fromEntries(source.externalIds), 'a target that leaves: the owner ids as before');
  t.same(Object.fromEntries(left?.options ?? []), { other: 'kept', 'requested-chassis': 'chassis-a' }, "the source's chassis only, no activation strategy");

  const handed = rowOf(handOverOps(shared));
  t.same(Object.fromEntries(handed?.ids ?? []), Object.fromEntries([...identity('dst', 'node-b', 'chassis-b'), [OwnerKeys.ipamClaim, 'vms/vm1'], ['ovn-multinet/switch', 'sw']]), 'the target owns it, the source is gone');
  t.same(Object.fromEntries(handed?.options ?? []), { other: 'kept', 'requested-chassis': 'chassis-b' }, "the target's chassis only");
  t.equal(targetIdsOf(handed?.ids ?? new Map()).size, 0, 'no target left');
});

t.test('claim objects', async (t) => {
  t.same(toClaimInfo({ metadata: { namespace: 'vms', name: 'vm1' }, spec: { network: 'vmnet', interface: 'net1' }, status: { ips: ['10.0.0.2/24', 3], ownerPod: { name: 'p' } } }), {
    namespace: 'vms',
    name: 'vm1',
    network: 'vmnet',
    interface: 'net1',
    ips: ['10.0.0.2/24'],
    ownerPod: 'p',
    reservation: undefined,
  });
  t.same(toClaimInfo({ metadata: { namespace: 'vms', name: 'vm1' } }), { namespace: 'vms', name: 'vm1', network: undefined, interface: undefined, ips: [], ownerPod: undefined, reservation: undefined });
  t.equal(toClaimInfo({ metadata: { name: 'no-namespace' } }), undefined);
  const reservation = { logicalSwitch: 'sw', mac: '0a:58:0a:00:00:02', ips: ['10.0.0.2/24'] };
  const claim = { namespace: 'vms', name: 'vm1', network: 'vmnet', interface: 'net1', ips: ['10.0.0.2/24'], ownerPod: 'p', reservation };
  const status = { ips: ['10.0.0.2/24'], ownerPod: 'p', logicalSwitch: 'sw', mac: '0a:58:0a:00:00:02' };
  t.notOk(statusChanged(claim, status));
  t.ok(statusChanged(claim, { ...status, ownerPod: 'q' }), 'a new owner pod');
  t.ok(statusChanged(claim, { ...status, ips: ['10.0.0.3/24'] }), 'other addresses');
  t.ok(statusChanged(claim, { ...status, ips: ['10.0.0.2/24', 'fd00::2/64'] }), 'more addresses');
  t.notOk(recordChanged(claim, status), 'the annotation records it');
  t.ok(recordChanged(claim, { ...status, mac: '0a:58:0a:00:00:03' }), 'another MAC');
  t.ok(recordChanged(claim, { ...status, logicalSwitch: 'other' }), 'another switch');
  t.ok(recordChanged(claim, { ...status, ips: ['10.0.0.3/24'] }), 'other addresses');
  t.ok(recordChanged({ ...claim, reservation: undefined }, status), 'no annotation');
  const annotated = (value: unknown) => toClaimInfo({ metadata: { namespace: 'vms', name: 'vm1', annotations: { [RESERVATION_ANNOTATION]: value } } })?.reservation;
  t.same(annotated(JSON.stringify(reservation)), reservation, 'the annotation is read');
  t.equal(annotated(reservation), undefined, 'not a string');
});

t.test('the reservation annotation is validated', async (t) => {
  const good = { logicalSwitch: 'sw', mac: '0a:58:0a:00:00:02', ips: ['10.0.0.2/24', 'fd00::2/64'] };
  t.same(parseRecordedReservation(JSON.stringify(good)), good);
  const bad: Array<[string, unknown]> = [
    ['not JSON', '{'],
    ['not an object', ['sw']],
    ['no switch', { ...good, logicalSwitch: '' }],
    ['a switch name with a space', { ...good, logicalSwitch: 'a b' }],
    ['a switch name that is not a string', { ...good, logicalSwitch: 3 }],
    ['a multicast MAC', { ...good, mac: '01:00:5e:00:00:01' }],
    ['the broadcast MAC', { ...good, mac: 'ff:ff:ff:ff:ff:ff' }],
    ['an all-zero MAC', { ...good, mac: '00:00:00:00:00:00' }],
    ['an uppercase MAC', { ...good, mac: '0A:58:0A:00:00:02' }],
    ['not a MAC', { ...good, mac: '0a:58:0a:00:00' }],
    ['no addresses', { ...good, ips: [] }],
    ['an address without prefix length', { ...good, ips: ['10.0.0.2'] }],
    ['not an address', { ...good, ips: ['10.0.0.300/24'] }],
    ['an address that is not a string', { ...good, ips: [167772162] }],
    ['a repeated address', { ...good, ips: ['10.0.0.2/24', '10.0.0.2/24'] }],
    ['too many addresses', { ...good, ips: Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 2}/24`) }],
    ['too long', { ...good, logicalSwitch: 'x'.repeat(2000) }],
  ];
  for (const [why, value] of bad) t.equal(parseRecordedReservation(typeof value === 'string' ? value : JSON.stringify(value)), undefined, why);
  t.equal(parseRecordedReservation(undefined), undefined, 'none');
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
  const status = { ips: ['10.70.0.2/29'], ownerPod: 'virt-launcher-a', logicalSwitch: 'vmnet-sw', mac: '0a:58:0a:46:00:02' };
  await cache.reportStatus(claim, status, signal());
  const stored = await api.get('ipamclaims', 'vms', 'vm1');
  t.same(stored?.['status'], { ips: ['10.70.0.2/29'], ownerPod: { name: 'virt-launcher-a' } }, 'the status subresource holds ips and owner');
  t.same(stored?.['spec'], { network: 'vmnet', interface: 'net1' }, 'spec untouched');
  const annotations = (stored?.['metadata'] as { annotations?: Record<string, string> } | undefined)?.annotations;
  t.same(JSON.parse(annotations?.[RESERVATION_ANNOTATION] ?? 'null'), { logicalSwitch: 'vmnet-sw', mac: '0a:58:0a:46:00:02', ips: ['10.70.0.2/29'] }, 'the annotation records the reservation');
  t.ok((await api.requests()).includes('PATCH /apis/k8s.cni.cncf.io/v1alpha1/namespaces/vms/ipamclaims/vm1/status'));
  t.ok((await api.requests()).includes('PATCH /apis/k8s.cni.cncf.io/v1alpha1/namespaces/vms/ipamclaims/vm1'), 'the annotation, on the main resource');

  let updated = await cache.claim('vms', 'vm1', signal());
  for (let i = 0; i < 50 && (updated?.ownerPod === undefined || updated.reservation === undefined); i++) {
    await new Promise((r) => setTimeout(r, 20));
    updated = await cache.claim('vms', 'vm1', signal());
  }
  const patches = (await api.requests()).filter((r) => r.startsWith('PATCH')).length;
  if (updated !== undefined && updated.ownerPod === 'virt-launcher-a' && updated.reservation !== undefined) {
    await cache.reportStatus(updated, status, signal());
    t.equal((await api.requests()).filter((r) => r.startsWith('PATCH')).length, patches, 'an unchanged status and annotation are not written again');
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
