// The controller's ipamclaim-release loop against the fake API server (through the real client
// library) and an in-memory reservation store: reservations of deleted claims are released, those
// of existing claims never, not even of a claim the watch has not delivered (a GET finds it); the
// loop works again after a leadership term ends and a new one begins. The NB side runs against a
// live NB in test/e2e/ipamclaims.test.ts and test/integration/ipamclaims-race.test.ts.
import t from 'tap';
import { pino } from 'pino';
import { ClaimReleaser, rebuildPlan, type PlacedReservation, type ReservationStore, type SwitchView } from '../../daemon/controller/claims.ts';
import type { ClaimInfo } from '../../daemon/k8s/ipamclaims.ts';
import { ControllerCaches } from '../../daemon/controller/caches.ts';
import type { LeaderContext, NbView } from '../../daemon/controller/context.ts';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { CONTROLLER_NB_MONITOR } from '../../daemon/ovn/exposed.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';
import { startInProcessApi } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';
import { NO_CONTROLLER_METRICS } from '../../daemon/metrics/controller-registry.ts';

const log = pino({ level: 'silent' });

class MemoryStore implements ReservationStore {
  ready = true;
  readonly reservations: PlacedReservation[] = [];
  readonly released: string[] = [];
  list(): PlacedReservation[] {
    return [...this.reservations];
  }
  async release(r: PlacedReservation): Promise<void> {
    const i = this.reservations.indexOf(r);
    if (i >= 0) this.reservations.splice(i, 1);
    this.released.push(r.claim);
  }
  switchNamed(): 'missing' {
    return 'missing';
  }
  async reserve(): Promise<void> {
    throw new Error('no switch, nothing reserved');
  }
  add(claim: string): void {
    this.reservations.push({ claim, mac: '0a:00:00:00:00:01', ips: ['10.0.0.2'], switchUuid: 'u' as unknown as Uuid, switchName: 'vmnet' });
  }
}

t.test('ipamclaim-release', async (t) => {
  const { server, kubeConfig } = await startInProcessApi(t);
  const claim = (name: string, hidden = false) => server.apply('ipamclaims', { metadata: { namespace: 'vms', name }, spec: { network: 'vmnet', interface: 'net1' } }, { hidden });

  const store = new MemoryStore();
  const nb: NbView = { ready: true, switchState: () => 'missing', marked: () => [], onChange: () => () => undefined };
  // Neither is started: this loop reads its own claims cache and the store only.
  const nbClient = modelClient(nbModel, CONTROLLER_NB_MONITOR, { remotes: ['unix:/nonexistent'] });
  const ctx: LeaderContext = { kubeConfig, caches: new ControllerCaches(kubeConfig, log), nb, nbClient, log, resyncMs: 200, nbFlags: { nbDb: ['unix:/nonexistent'], nbTls: undefined, dbInactivityProbeMs: 4500 }, deadNodeGraceMs: 300_000, events: { record: () => undefined }, networkLowThreshold: 90, metrics: NO_CONTROLLER_METRICS };
  const loop = new ClaimReleaser(ctx, store);

  claim('alive');
  claim('late', true);
  store.add('vms/alive');
  store.add('vms/late');
  store.add('vms/gone');
  const term1 = new AbortController();
  loop.start(term1.signal);
  await until('vms/gone released', () => (store.released.includes('vms/gone') ? true : undefined));
  // Two more resyncs.
  await new Promise((r) => setTimeout(r, 500));
  t.same(store.released, ['vms/gone'], 'only the reservation of the deleted claim');
  t.ok(server.requests.includes('GET /apis/k8s.cni.cncf.io/v1alpha1/namespaces/vms/ipamclaims/late'), 'a claim missing from the watch was looked up');
  t.ok(server.requests.includes('GET /apis/k8s.cni.cncf.io/v1alpha1/namespaces/vms/ipamclaims/gone'), 'so was the deleted one');

  term1.abort();
  await loop.stop();
  server.remove('ipamclaims', 'vms', 'alive');
  t.same(store.released, ['vms/gone'], 'no leader, no release');

  const term2 = new AbortController();
  loop.start(term2.signal);
  t.teardown(async () => {
    term2.abort();
    await loop.stop();
  });
  await until('vms/alive released in the next term', () => (store.released.includes('vms/alive') ? true : undefined));
  t.same(store.released, ['vms/gone', 'vms/alive']);
  t.same(store.list().map((r) => r.claim), ['vms/late'], 'the claim that exists keeps its addresses');
});

t.test('which recorded reservations a pass rebuilds', async (t) => {
  const recorded = { logicalSwitch: 'vmsw', mac: '0a:58:0a:00:00:05', ips: ['10.0.0.5/24'] };
  const claim: ClaimInfo = { namespace: 'vms', name: 'vm1', network: 'vmnet', interface: 'net1', ips: ['10.0.0.5/24'], ownerPod: 'p', reservation: recorded };
  const sw = (ids: Record<string, string> = {}, subnet = '10.0.0.0/24'): SwitchView => ({
    uuid: 'u' as unknown as Uuid,
    name: 'vmsw',
    otherConfig: new Map([['subnet', subnet], ['exclude_ips', '10.0.0.200..10.0.0.210']]),
    externalIds: new Map(Object.entries(ids)),
  });
  t.same(rebuildPlan(claim, sw(), true), { kind: 'reserve', reservation: { claim: 'vms/vm1', mac: '0a:58:0a:00:00:05', ips: ['10.0.0.5'] } }, 'missing: reserved again, addresses without prefix');
  t.same(rebuildPlan({ ...claim, reservation: undefined }, sw(), true), { kind: 'none' }, 'no annotation');
  t.same(rebuildPlan(claim, sw({ 'ovn-multinet/ipam-claim:vms/vm1': '0a:58:0a:00:00:09 10.0.0.9' }), true), { kind: 'none' }, 'the switch holds a reservation for the claim, whatever it is');
  t.same(rebuildPlan({ ...claim, ips: ['10.0.0.6/24'] }, sw({ 'ovn-multinet/ipam-claim:vms/vm1': '0a:58:0a:00:00:05 10.0.0.5' }), false), { kind: 'none' }, 'nothing to say about a claim whose reservation is there');
  t.same(rebuildPlan(claim, sw({ 'ovn-multinet/addr:10.0.0.5': 'ipam-claim:vms/vm1', 'ovn-multinet/addr:0a:58:0a:00:00:05': 'ipam-claim:vms/vm1' }), true).kind, 'reserve', "the claim's own guard keys left behind");
  t.same(rebuildPlan(claim, sw({ 'ovn-multinet/addr:10.0.0.5': 'port:other' }), true), { kind: 'taken', address: '10.0.0.5', holder: 'port:other' }, 'an IP held by a port');
  t.same(rebuildPlan(claim, sw({ 'ovn-multinet/addr:0a:58:0a:00:00:05': 'ipam-claim:other/vm' }), true), { kind: 'taken', address: '0a:58:0a:00:00:05', holder: 'ipam-claim:other/vm' }, 'the MAC held by another claim');
  t.match(rebuildPlan({ ...claim, ips: ['10.0.0.6/24'] }, sw(), true), { kind: 'skip', reason: /does not match its status/ }, 'an annotation that is not the status');
  t.match(rebuildPlan({ ...claim, ips: [] }, sw(), true), { kind: 'skip' }, 'no status');
  t.match(rebuildPlan(claim, 'missing', true), { kind: 'skip', reason: /"vmsw" is missing/ });
  t.match(rebuildPlan(claim, sw(), false), { kind: 'skip', reason: /no Network admits namespace vms on logical switch "vmsw"/ }, "a switch the claim's namespace may not use");
  t.match(rebuildPlan(claim, 'ambiguous', true), { kind: 'skip', reason: /ambiguous/ });
  t.match(rebuildPlan(claim, sw({}, '10.1.0.0/24'), true), { kind: 'skip', reason: /not inside a subnet/ }, "outside the switch's subnet");
  const excluded = { ...claim, ips: ['10.0.0.205/24'], reservation: { ...recorded, ips: ['10.0.0.205/24'] } };
  t.match(rebuildPlan(excluded, sw(), true), { kind: 'skip', reason: /never handed out/ }, 'an excluded address');
  const network = { ...claim, ips: ['10.0.0.0/24'], reservation: { ...recorded, ips: ['10.0.0.0/24'] } };
  t.match(rebuildPlan(network, sw(), true), { kind: 'skip', reason: /never handed out/ }, 'the network address');
  t.match(rebuildPlan(claim, { ...sw(), otherConfig: new Map() }, true), { kind: 'skip', reason: /not inside a subnet/ }, 'a switch without subnets');
  t.match(rebuildPlan(claim, { ...sw(), otherConfig: new Map([['subnet', 'nonsense']]) }, true), { kind: 'skip', reason: /vmsw/ }, 'a switch with a broken subnet');
});
