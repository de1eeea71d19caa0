// The controller's ipamclaim-release loop against the fake API server (through the real client
// library) and an in-memory reservation store: reservations of deleted claims are released, those
// of existing claims never, not even of a claim the watch has not delivered (a GET finds it); the
// loop works again after a leadership term ends and a new one begins. The NB side runs against a
// live NB in test/e2e/ipamclaims.test.ts and test/integration/ipamclaims-race.test.ts.
import t from 'tap';
import { pino } from 'pino';
import { ClaimReleaser, type PlacedReservation, type ReservationStore } from '../../daemon/controller/claims.ts';
import { ControllerCaches } from '../../daemon/controller/caches.ts';
import type { LeaderContext, NbView } from '../../daemon/controller/context.ts';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { CONTROLLER_NB_MONITOR } from '../../daemon/ovn/exposed.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';
import { startInProcessApi } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';

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
  const ctx: LeaderContext = { kubeConfig, caches: new ControllerCaches(kubeConfig, log), nb, nbClient, log, resyncMs: 200, nbFlags: { nbDb: ['unix:/nonexistent'], nbTls: undefined, dbInactivityProbeMs: 4500 }, deadNodeGraceMs: 300_000 };
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
