// The controller's leader loops through the real client library against the fake API server
// (the NB is a fake NbView): NADs follow Networks and namespace labels, foreign NADs and
// conflicting definitions are reported in status, status is written only when it changes, and
// marked switches become Networks and go again.
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { ControllerCaches } from '../../daemon/controller/caches.ts';
import { LoopRunner } from '../../daemon/controller/loops.ts';
import type { LeaderContext, NbView } from '../../daemon/controller/context.ts';
import { NetworkSync } from '../../daemon/controller/sync.ts';
import { SwitchExposer } from '../../daemon/controller/expose.ts';
import { DISCOVERED_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from '../../daemon/controller/objects.ts';
import { definitionOf } from '../../daemon/k8s/definition.ts';
import type { SwitchState } from '../../daemon/controller/plan.ts';
import type { SwitchIds } from '../../daemon/ovn/exposed.ts';
import { ExposeKeys, OwnerKeys } from '../../daemon/ovn/ids.ts';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { CONTROLLER_NB_MONITOR } from '../../daemon/ovn/exposed.ts';
import { startFakeApiServer, type FakeApi, type KubeObject } from '../helpers/fake-apiserver.ts';
import { sleep, until } from '../helpers/until.ts';
import { NO_CONTROLLER_METRICS } from '../../daemon/metrics/controller-registry.ts';

const log = pino({ level: 'silent' });

class FakeNb implements NbView {
  ready = true;
  readonly switches = new Map<string, ReadonlyMap<string, string>>();
  readonly #listeners = new Set<() => void>();
  switchState(name: string): SwitchState {
    return this.switches.get(name) ?? 'missing';
  }
  marked(): SwitchIds[] {
    return [...this.switches].filter(([, ids]) => ids.has(ExposeKeys.expose)).map(([name, externalIds]) => ({ name, externalIds }));
  }
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(name: string, ids: Record<string, string> | undefined): void {
    if (ids === undefined) this.switches.delete(name);
    else this.switches.set(name, new Map(Object.entries(ids)));
    for (const l of this.#listeners) l();
  }
}

async function setup(t: Test, loops: (ctx: LeaderContext) => Array<NetworkSync | SwitchExposer>) {
  const api = await startFakeApiServer(t);
  const kubeConfig = loadKubeConfig(api.kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  const caches = new ControllerCaches(kubeConfig, log, 100);
  caches.start();
  const nb = new FakeNb();
  // Never started: the loops under test only read `nb`.
  const nbClient = modelClient(nbModel, CONTROLLER_NB_MONITOR, { remotes: ['unix:/nonexistent'] });
  const ctx: LeaderContext = { kubeConfig, caches, nb, nbClient, log, resyncMs: 150, nbFlags: { nbDb: ['unix:/nonexistent'], nbTls: undefined, dbInactivityProbeMs: 4500 }, deadNodeGraceMs: 300_000, events: { record: () => undefined }, networkLowThreshold: 90, metrics: NO_CONTROLLER_METRICS };
  const runner = new LoopRunner(loops(ctx), log);
  t.teardown(async () => {
    await runner.stop();
    await caches.stop();
  });
  return { api, nb, runner };
}

const nadNamespaces = async (api: FakeApi, name: string): Promise<string[]> =>
  (await api.list('network-attachment-definitions')).filter((n) => n.metadata.name === name).map((n) => n.metadata.namespace ?? '').sort();

async function nadsAre(t: Test, api: FakeApi, name: string, expected: string[]): Promise<void> {
  const what = `NADs ${name} in [${expected.join(', ')}]`;
  await until(what, async () => (JSON.stringify(await nadNamespaces(api, name)) === JSON.stringify(expected) ? true : undefined));
  t.pass(what);
}

type Cond = { type: string; status: string; reason: string; message: string; observedGeneration: number; lastTransitionTime: string };
const conditionsOf = (o: KubeObject | undefined): Cond[] => (((o?.['status'] ?? {}) as Record<string, unknown>)['conditions'] ?? []) as Cond[];
async function condition(api: FakeApi, network: string, type: string, status: string, reason: string): Promise<Cond> {
  return until(`${network} ${type}=${status} ${reason}`, async () => {
    const c = conditionsOf(await api.get('networks', undefined, network)).find((x) => x.type === type);
    return c?.status === status && c.reason === reason ? c : undefined;
  });
}
const statusWrites = async (api: FakeApi, network: string): Promise<number> => (await api.requests()).filter((r) => r === `PUT /apis/ovn-multinet.io/v1/networks/${network}/status`).length;

t.test('NADs follow Networks and namespace labels', async (t) => {
  const { api, runner } = await setup(t, (ctx) => [new NetworkSync(ctx)]);
  await api.upsertNamespace({ name: 'a1', labels: { team: 'a' } });
  await api.upsertNamespace({ name: 'a2', labels: { team: 'a' } });
  await api.upsertNamespace({ name: 'b1', labels: { team: 'b' } });
  await api.upsertNetwork({ name: 'red', logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  runner.start();

  await nadsAre(t, api, 'red', ['a1', 'a2']);
  const red = await api.get('networks', undefined, 'red');
  const nad = await api.get('network-attachment-definitions', 'a1', 'red');
  t.match(nad?.metadata, { labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'ovn-multinet.io/network': 'red' }, ownerReferences: [{ apiVersion: 'ovn-multinet.io/v1', kind: 'Network', name: 'red', uid: red?.metadata.uid }] });
  t.same(JSON.parse(String((nad?.['spec'] as Record<string, unknown>)['config'])), { cniVersion: '1.0.0', name: 'red', type: 'ovn-multinet', logicalSwitch: 'red', capabilities: { ips: true, mac: true, bandwidth: true } });
  const ready = await condition(api, 'red', 'Ready', 'False', 'LogicalSwitchNotFound');
  t.match(ready.message, /logical switch red does not exist/);
  t.equal(ready.observedGeneration, 1);

  await t.test('a relabelled namespace gains or loses the NAD', async (t) => {
    await api.upsertNamespace({ name: 'b1', labels: { team: 'a' } });
    await api.upsertNamespace({ name: 'a2', labels: { team: 'c' } });
    await nadsAre(t, api, 'red', ['a1', 'b1']);
  });

  await t.test('a changed Network updates its NADs', async (t) => {
    await api.upsertNetwork({ name: 'red', logicalSwitch: 'red2', namespaceSelector: { matchLabels: { team: 'a' } } });
    await until('config updated', async () => {
      const nads = (await api.list('network-attachment-definitions')).filter((n) => n.metadata.name === 'red');
      return nads.every((n) => String((n['spec'] as Record<string, unknown>)['config']).includes('"logicalSwitch":"red2"')) ? true : undefined;
    });
    const c = await until('generation observed', async () => conditionsOf(await api.get('networks', undefined, 'red')).find((x) => x.type === 'Ready' && x.observedGeneration === 2));
    t.ok(c);
  });

  await t.test('a new namespace gets it; a deleted Network takes its NADs along', async (t) => {
    await api.upsertNamespace({ name: 'a3', labels: { team: 'a' } });
    await nadsAre(t, api, 'red', ['a1', 'a3', 'b1']);
    await api.deleteCluster('networks', 'red');
    await nadsAre(t, api, 'red', []);
  });
});

t.test('status: conflicts, foreign NADs, written only on change', async (t) => {
  const { api, nb, runner } = await setup(t, (ctx) => [new NetworkSync(ctx)]);
  await api.upsertNamespace({ name: 'x', labels: {} });
  await api.upsertNamespace({ name: 'y', labels: {} });
  nb.set('blue', {});
  // Someone else's NAD named blue in namespace y.
  await api.apply('network-attachment-definitions', { metadata: { name: 'blue', namespace: 'y' }, spec: { config: '{"cniVersion":"1.0.0","name":"blue","type":"bridge"}' } });
  await api.upsertNetwork({ name: 'blue', logicalSwitch: 'blue', namespaceSelector: {} });
  await api.upsertNetwork({ name: 'bad', config: { topology: 'layer2', subnets: ['10.0.0.1/24'] }, namespaceSelector: {} });
  await api.upsertNetwork({ name: 'm1', config: { topology: 'layer2', logicalSwitch: 'shared', subnets: ['10.1.0.0/24'] }, namespaceSelector: {} });
  await sleep(20);
  await api.upsertNetwork({ name: 'm2', config: { topology: 'layer2', logicalSwitch: 'shared', subnets: ['10.2.0.0/24'] }, namespaceSelector: {} });
  runner.start();

  await t.test('a foreign NAD in the way', async (t) => {
    const c = await condition(api, 'blue', 'Ready', 'False', 'ForeignNetworkAttachmentDefinition');
    t.match(c.message, /in 1 namespace: y/);
    await nadsAre(t, api, 'blue', ['x', 'y']);
    t.equal((await api.get('network-attachment-definitions', 'y', 'blue'))?.metadata.labels?.[MANAGED_BY_LABEL], undefined, 'left alone');
    await condition(api, 'blue', 'Accepted', 'True', 'Accepted');
  });

  await t.test('an invalid spec', async (t) => {
    const c = await condition(api, 'bad', 'Accepted', 'False', 'InvalidSpec');
    t.match(c.message, /^spec\.config\.subnets\[0\]: host bits are set/);
    await condition(api, 'bad', 'Ready', 'False', 'NotAccepted');
    t.same(await nadNamespaces(api, 'bad'), [], 'no NAD');
  });

  await t.test('two definitions of one switch: the older Network wins', async (t) => {
    await condition(api, 'm1', 'Ready', 'True', 'NetworkAttachmentDefinitionsReady');
    const c = await condition(api, 'm2', 'Accepted', 'False', 'DefinitionConflict');
    t.match(c.message, /Network m1 \(older\) defines logical switch shared differently/);
    t.same(await nadNamespaces(api, 'm2'), []);
    t.same(await nadNamespaces(api, 'm1'), ['x', 'y']);
  });

  await t.test('the switch in the NB decides once it exists', async (t) => {
    const m2 = definitionOf('m2', { config: { topology: 'layer2', logicalSwitch: 'shared', subnets: ['10.2.0.0/24'] } });
    nb.set('shared', { [OwnerKeys.managedNetwork]: 'm2', [OwnerKeys.networkDefinition]: m2.managed ?? '' });
    const c = await condition(api, 'm1', 'Accepted', 'False', 'DefinitionConflict');
    t.match(c.message, /logical switch shared was created \(network m2\) with another definition/);
    await condition(api, 'm2', 'Ready', 'True', 'NetworkAttachmentDefinitionsReady');
    await nadsAre(t, api, 'm2', ['x', 'y']);
    t.same(await nadNamespaces(api, 'm1'), ['x', 'y'], 'm1 keeps its NADs while not accepted');
  });

  await t.test('status is written only when it changes', async (t) => {
    await condition(api, 'blue', 'Ready', 'False', 'ForeignNetworkAttachmentDefinition');
    const before = await statusWrites(api, 'blue');
    const since = conditionsOf(await api.get('networks', undefined, 'blue')).find((c) => c.type === 'Ready')?.lastTransitionTime;
    await sleep(700); // several resyncs (150 ms) and the events of the other Networks
    t.equal(await statusWrites(api, 'blue'), before, 'no write while nothing changed');
    await api.remove('network-attachment-definitions', 'y', 'blue');
    await condition(api, 'blue', 'Ready', 'True', 'NetworkAttachmentDefinitionsReady');
    await nadsAre(t, api, 'blue', ['x', 'y']);
    t.equal(await statusWrites(api, 'blue'), before + 1, 'one write for the change');
    const after = conditionsOf(await api.get('networks', undefined, 'blue'));
    t.not(after.find((c) => c.type === 'Ready')?.lastTransitionTime, undefined);
    t.ok(since !== undefined);
    t.equal(after.find((c) => c.type === 'Accepted')?.status, 'True');
  });

  await t.test('stopped (leadership lost): nothing is written; started again: it catches up', async (t) => {
    await runner.stop();
    await api.upsertNamespace({ name: 'z', labels: {} });
    await sleep(400);
    t.same(await nadNamespaces(api, 'blue'), ['x', 'y']);
    runner.start();
    await nadsAre(t, api, 'blue', ['x', 'y', 'z']);
  });
});

t.test('marked switches become Networks', async (t) => {
  const { api, nb, runner } = await setup(t, (ctx) => [new NetworkSync(ctx), new SwitchExposer(ctx)]);
  await api.upsertNamespace({ name: 'team-a', labels: { team: 'a' } });
  await api.upsertNamespace({ name: 'team-b', labels: { team: 'b' } });
  // An admin's own Network named like a marked switch: never touched.
  await api.upsertNetwork({ name: 'mine', logicalSwitch: 'elsewhere' });
  nb.set('red', { [ExposeKeys.expose]: 'true', [ExposeKeys.exposeNamespaces]: 'team=a' });
  nb.set('ls-green', { [ExposeKeys.expose]: 'green' });
  nb.set('mine', { [ExposeKeys.expose]: 'true' });
  nb.set('plain', {});
  runner.start();

  const red = await until('Network red', () => api.get('networks', undefined, 'red'));
  t.match(red.metadata.labels, { [DISCOVERED_LABEL]: 'true' });
  t.same(red['spec'], { logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  const green = await until('Network green', () => api.get('networks', undefined, 'green'));
  t.same(green['spec'], { logicalSwitch: 'ls-green' }, 'no expose-namespaces: no selector');
  await nadsAre(t, api, 'red', ['team-a']);
  await condition(api, 'green', 'Ready', 'True', 'NetworkAttachmentDefinitionsReady');
  t.same(await nadNamespaces(api, 'green'), [], 'selects no namespace');
  t.same((await api.get('networks', undefined, 'mine'))?.['spec'], { logicalSwitch: 'elsewhere' }, 'a Network the controller did not make is left alone');
  t.equal(await api.get('networks', undefined, 'plain'), undefined);

  nb.set('red', { [ExposeKeys.expose]: 'true', [ExposeKeys.exposeNamespaces]: '*' });
  await nadsAre(t, api, 'red', ['team-a', 'team-b']);
  // An edit of a discovered Network is undone: the NB is its source of truth.
  await api.upsertNetwork({ name: 'green', logicalSwitch: 'other' });
  await until('green restored', async () => ((await api.get('networks', undefined, 'green'))?.['spec'] as Record<string, unknown> | undefined)?.['logicalSwitch'] === 'ls-green' ? true : undefined);

  nb.set('red', {});
  nb.set('ls-green', undefined);
  await until('discovered Networks gone', async () => ((await api.get('networks', undefined, 'red')) === undefined && (await api.get('networks', undefined, 'green')) === undefined ? true : undefined));
  await nadsAre(t, api, 'red', []);
  t.ok(await api.get('networks', undefined, 'mine'), 'not discovered: never deleted');
});

t.test('an NB not read yet deletes nothing', async (t) => {
  const { api, nb, runner } = await setup(t, (ctx) => [new SwitchExposer(ctx)]);
  await api.apply('networks', { metadata: { name: 'old', labels: { [DISCOVERED_LABEL]: 'true' } }, spec: { logicalSwitch: 'old' } });
  nb.ready = false;
  runner.start();
  await sleep(400);
  t.ok(await api.get('networks', undefined, 'old'), 'kept while the NB is unknown');
  nb.ready = true;
  nb.set('unrelated', {});
  await until('old deleted', async () => ((await api.get('networks', undefined, 'old')) === undefined ? true : undefined));
});
