// Dead nodes: the pure decision (node-plan.ts) as a table, and the controller's dead-node-release
// loop against the fake API server (through the real client library) and an in-memory NB side:
// a deleted Node's attachments are released after the grace period, never a NotReady Node's,
// never a Node the watch has not delivered (a GET finds it), and nothing while not leading. The
// NB side runs against a live NB in test/e2e/dead-node.test.ts.
import t from 'tap';
import { pino } from 'pino';
import type { KubernetesObject } from '@kubernetes/client-node';
import { planDeadNodes, type DeadNodeInput } from '../../daemon/controller/node-plan.ts';
import { DeadNodeReleaser, type NodeAttachments } from '../../daemon/controller/dead-nodes.ts';
import type { ReleasedPort } from '../../daemon/attachments/release-node.ts';
import { ControllerCaches } from '../../daemon/controller/caches.ts';
import type { LeaderContext, NbView } from '../../daemon/controller/context.ts';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { CONTROLLER_NB_MONITOR } from '../../daemon/ovn/exposed.ts';
import { startInProcessApi } from '../helpers/fake-apiserver.ts';
import { until, sleep } from '../helpers/until.ts';
import { NO_CONTROLLER_METRICS } from '../../daemon/metrics/controller-registry.ts';

const log = pino({ level: 'silent' });
const GRACE = 60_000;
const NOW = 1_000_000;
const node = (name: string, ready = 'True'): KubernetesObject => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: ready }] } } as KubernetesObject);

t.test('planDeadNodes', async (t) => {
  const rows: Array<{ name: string; input: Partial<DeadNodeInput>; dead: string[]; missing: Array<[string, number]>; nextDueMs: number | undefined }> = [
    { name: 'deleted long enough ago', input: { owners: new Set(['b']), nodes: [node('a')], missingSince: new Map([['b', NOW - GRACE]]) }, dead: ['b'], missing: [['b', NOW - GRACE]], nextDueMs: undefined },
    { name: 'deleted recently', input: { owners: new Set(['b']), nodes: [node('a')], missingSince: new Map([['b', NOW - 1000]]) }, dead: [], missing: [['b', NOW - 1000]], nextDueMs: GRACE - 1000 },
    { name: 'NotReady: left alone, its clock dropped', input: { owners: new Set(['b']), nodes: [node('b', 'False')], missingSince: new Map([['b', NOW - 2 * GRACE]]) }, dead: [], missing: [], nextDueMs: undefined },
    { name: 'Ready with ports', input: { owners: new Set(['a']), nodes: [node('a')] }, dead: [], missing: [], nextDueMs: undefined },
    { name: 'never seen but has ports: the grace period starts now', input: { owners: new Set(['ghost']), nodes: [] }, dead: [], missing: [['ghost', NOW]], nextDueMs: GRACE },
    { name: 'no ports any more: forgotten', input: { owners: new Set(), nodes: [], missingSince: new Map([['b', NOW - 2 * GRACE]]) }, dead: [], missing: [], nextDueMs: undefined },
    { name: 'came back: forgotten', input: { owners: new Set(['b']), nodes: [node('b')], missingSince: new Map([['b', NOW - 2 * GRACE]]) }, dead: [], missing: [], nextDueMs: undefined },
    {
      name: 'several: sorted dead, the nearest due',
      input: { owners: new Set(['d', 'c', 'e', 'f']), nodes: [], missingSince: new Map([['c', NOW - GRACE - 1], ['d', NOW - GRACE], ['e', NOW - 100], ['f', NOW - 5000]]) },
      dead: ['c', 'd'],
      missing: [['c', NOW - GRACE - 1], ['d', NOW - GRACE], ['e', NOW - 100], ['f', NOW - 5000]],
      nextDueMs: GRACE - 5000,
    },
  ];
  for (const row of rows) {
    const plan = planDeadNodes({ owners: new Set(), nodes: [], missingSince: new Map(), now: NOW, graceMs: GRACE, ...row.input });
    t.same(plan.dead, row.dead, `${row.name}: dead`);
    t.same([...plan.missingSince].sort(), row.missing, `${row.name}: missing since`);
    t.equal(plan.nextDueMs, row.nextDueMs, `${row.name}: next due`);
  }
});

class MemoryNodes implements NodeAttachments {
  ready = true;
  readonly ports = new Map<string, string[]>();
  readonly released: string[] = [];
  async owners(except: ReadonlySet<string>): Promise<Set<string>> {
    return new Set([...this.ports].filter(([n, p]) => p.length > 0 && !except.has(n)).map(([n]) => n));
  }
  async release(node: string): Promise<ReleasedPort[]> {
    const ports = this.ports.get(node) ?? [];
    this.ports.delete(node);
    this.released.push(node);
    return ports.map((name) => ({ name, switchName: 'green', entry: '', containerId: undefined, pod: undefined }));
  }
}

t.test('dead-node-release', async (t) => {
  const { server, kubeConfig } = await startInProcessApi(t);
  const apply = (name: string, ready = 'True', hidden = false) => server.apply('nodes', { metadata: { name }, status: { conditions: [{ type: 'Ready', status: ready }] } }, { hidden });

  const store = new MemoryNodes();
  const nb: NbView = { ready: true, switchState: () => 'missing', marked: () => [], onChange: () => () => undefined };
  const nbClient = modelClient(nbModel, CONTROLLER_NB_MONITOR, { remotes: ['unix:/nonexistent'] });
  const graceMs = 600;
  // A long resync: the release must come from the end of the grace period, not from a resync.
  const ctx: LeaderContext = { kubeConfig, caches: new ControllerCaches(kubeConfig, log), nb, nbClient, log, resyncMs: 60_000, nbFlags: { nbDb: ['unix:/nonexistent'], nbTls: undefined, dbInactivityProbeMs: 4500 }, deadNodeGraceMs: graceMs, events: { record: () => undefined }, networkLowThreshold: 90, metrics: NO_CONTROLLER_METRICS };
  const loop = new DeadNodeReleaser(ctx, store, graceMs);

  apply('node-a');
  apply('node-b');
  apply('sick', 'False');
  apply('late', 'True', true);
  for (const n of ['node-a', 'node-b', 'sick', 'late']) store.ports.set(n, [`omn-${n}`]);

  const term1 = new AbortController();
  loop.start(term1.signal);
  await sleep(300);
  const deletedAt = Date.now();
  server.remove('nodes', undefined, 'node-b');
  await until('node-b released', () => (store.released.includes('node-b') ? true : undefined), 10_000);
  t.ok(Date.now() - deletedAt >= graceMs, `released after the grace period (${Date.now() - deletedAt} ms)`);
  await sleep(2 * graceMs);
  t.same(store.released, ['node-b'], 'only the deleted node: not the NotReady one, not the one the watch has not delivered');
  t.ok(server.requests.includes('GET /api/v1/nodes/late'), 'a node missing from the watch was looked up');
  t.ok(server.requests.includes('GET /api/v1/nodes/node-b'), 'the deleted one was confirmed by a GET');

  term1.abort();
  await loop.stop();
  server.remove('nodes', undefined, 'sick');
  await sleep(2 * graceMs);
  t.same(store.released, ['node-b'], 'no leader, no release');

  const term2 = new AbortController();
  loop.start(term2.signal);
  t.teardown(async () => {
    term2.abort();
    await loop.stop();
  });
  await until('sick released in the next term', () => (store.released.includes('sick') ? true : undefined), 10_000);
  t.same(store.released, ['node-b', 'sick']);
  t.same([...store.ports.keys()].sort(), ['late', 'node-a'], 'the nodes that exist keep their attachments');
});
