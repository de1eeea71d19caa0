// The fake API server behaves like the real one for what ovn-multinet uses, as seen through the
// real client library: create (201, 409 AlreadyExists), optimistic concurrency on update (409
// Conflict), merge and JSON patches, the status subresource kept apart from the rest, generation
// counting spec changes only, watch from a resourceVersion, delete (404 after; with finalizers,
// deletionTimestamp until the last is removed); Nodes (core v1,
// cluster-scoped) listed, read and deleted; Events listed by their involved object.
import t from 'tap';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api, PatchStrategy, Watch, setHeaderOptions, type V1Lease } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';

const codeOf = async (p: Promise<unknown>): Promise<unknown> => {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
};

t.test('fake API server semantics', async (t) => {
  const api = await startFakeApiServer(t);
  const kc = loadKubeConfig(api.kubeconfig, {});
  if (kc === undefined) throw new Error('no kubeconfig');
  const leases = kc.makeApiClient(CoordinationV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  const body: V1Lease = { metadata: { name: 'lock', namespace: 'sys' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } };
  const created = await leases.createNamespacedLease({ namespace: 'sys', body });
  t.ok(created.metadata?.uid !== undefined && created.metadata.resourceVersion !== undefined, 'uid and resourceVersion set');
  t.equal(await codeOf(leases.createNamespacedLease({ namespace: 'sys', body })), 409, 'a second create: AlreadyExists');

  const replaced = await leases.replaceNamespacedLease({ name: 'lock', namespace: 'sys', body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } } });
  t.equal(replaced.spec?.holderIdentity, 'b');
  t.not(replaced.metadata?.resourceVersion, created.metadata?.resourceVersion, 'a new resourceVersion');
  t.equal(await codeOf(leases.replaceNamespacedLease({ name: 'lock', namespace: 'sys', body: { ...created, spec: { holderIdentity: 'c' } } })), 409, 'an update from a stale resourceVersion: Conflict');
  t.equal((await leases.readNamespacedLease({ name: 'lock', namespace: 'sys' })).spec?.holderIdentity, 'b', 'the conflicting update changed nothing');

  const net = { group: 'ovn-multinet.io', version: 'v1', plural: 'networks' };
  await custom.createClusterCustomObject({ ...net, body: { apiVersion: 'ovn-multinet.io/v1', kind: 'Network', metadata: { name: 'red' }, spec: { logicalSwitch: 'red' }, status: { ignored: true } } });
  const read = async (): Promise<Record<string, unknown>> => (await custom.getClusterCustomObject({ ...net, name: 'red' })) as Record<string, unknown>;
  t.equal((await read())['status'], undefined, 'status is not taken on create');
  t.match(await read(), { metadata: { generation: 1 } });

  await custom.patchClusterCustomObjectStatus({ ...net, name: 'red', body: { status: { conditions: [{ type: 'Ready', status: 'True' }] }, spec: { logicalSwitch: 'changed' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  t.match(await read(), { spec: { logicalSwitch: 'red' }, status: { conditions: [{ type: 'Ready' }] }, metadata: { generation: 1 } }, '/status changes status only, and not the generation');

  await custom.patchClusterCustomObject({ ...net, name: 'red', body: { spec: { logicalSwitch: 'blue' }, status: null } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  t.match(await read(), { spec: { logicalSwitch: 'blue' }, status: { conditions: [{ type: 'Ready' }] }, metadata: { generation: 2 } }, 'the main resource changes spec (generation 2), never status');

  await custom.patchClusterCustomObject({ ...net, name: 'red', body: [{ op: 'replace', path: '/spec/logicalSwitch', value: 'green' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
  t.match(await read(), { spec: { logicalSwitch: 'green' }, metadata: { generation: 3 } }, 'a JSON patch');
  t.equal(await codeOf(custom.patchClusterCustomObject({ ...net, name: 'red', body: [{ op: 'test', path: '/spec/logicalSwitch', value: 'nope' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))), 422, 'a failed JSON patch test');

  // Watch from the resourceVersion the object has now: only later events.
  const { resourceVersion: from = '' } = (await read())['metadata'] as { resourceVersion?: string };
  const events: string[] = [];
  const done = Promise.withResolvers<void>();
  const req = await new Watch(kc).watch('/apis/ovn-multinet.io/v1/networks', { resourceVersion: from }, (type: string, obj: { metadata?: { name?: string } }) => {
    events.push(`${type} ${obj.metadata?.name ?? '?'}`);
    if (type === 'DELETED') done.resolve();
  }, () => undefined);
  t.teardown(() => req.abort());
  await custom.deleteClusterCustomObject({ ...net, name: 'red' });
  await done.promise;
  t.same(events, ['DELETED red'], 'the watch sends what came after its resourceVersion');
  t.equal(await codeOf(read()), 404, 'gone');
  t.equal(await codeOf(custom.deleteClusterCustomObject({ ...net, name: 'red' })), 404, 'a second delete: NotFound');
});

t.test('nodes: list, get, watch, delete', async (t) => {
  const api = await startFakeApiServer(t);
  const kc = loadKubeConfig(api.kubeconfig, {});
  if (kc === undefined) throw new Error('no kubeconfig');
  const core = kc.makeApiClient(CoreV1Api);
  await api.apply('nodes', { metadata: { name: 'node-a' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } });
  const list = await core.listNode();
  t.same(list.items.map((n) => [n.kind, n.metadata?.name]), [['Node', 'node-a']]);
  t.equal((await core.readNode({ name: 'node-a' })).status?.conditions?.[0]?.status, 'False', 'status as given');
  const events: string[] = [];
  const done = Promise.withResolvers<void>();
  const req = await new Watch(kc).watch('/api/v1/nodes', { resourceVersion: list.metadata?.resourceVersion ?? '' }, (type: string, obj: { metadata?: { name?: string } }) => {
    events.push(`${type} ${obj.metadata?.name ?? '?'}`);
    if (type === 'DELETED') done.resolve();
  }, () => undefined);
  t.teardown(() => req.abort());
  await core.deleteNode({ name: 'node-a' });
  await done.promise;
  t.same(events, ['DELETED node-a']);
  t.equal(await codeOf(core.readNode({ name: 'node-a' })), 404, 'gone');
});

t.test('Events listed by the object they are about, as kubectl describe lists a pod\'s', async (t) => {
  const api = await startFakeApiServer(t);
  const kc = loadKubeConfig(api.kubeconfig, {});
  if (kc === undefined) throw new Error('no kubeconfig');
  const events = kc.makeApiClient(EventsV1Api);
  for (const [name, pod] of [['a.1', 'a'], ['a.2', 'a'], ['b.1', 'b']] as const) {
    await api.apply('events', { metadata: { namespace: 'ns', name }, regarding: { kind: 'Pod', namespace: 'ns', name: pod, uid: `uid-${pod}` }, reason: 'R' });
  }
  const listed = async (fieldSelector: string): Promise<Array<string | undefined>> => (await events.listNamespacedEvent({ namespace: 'ns', fieldSelector })).items.map((e) => e.metadata?.name);
  t.same(await listed('regarding.kind=Pod,regarding.name=a'), ['a.1', 'a.2']);
  t.same(await listed('regarding.uid=uid-b'), ['b.1']);
  t.same(await listed('regarding.kind=Node'), []);
});

t.test('finalizers: a DELETE marks, the removal of the last finalizer deletes; none added while deleting', async (t) => {
  const api = await startFakeApiServer(t);
  const kc = loadKubeConfig(api.kubeconfig, {});
  if (kc === undefined) throw new Error('no kubeconfig');
  const custom = kc.makeApiClient(CustomObjectsApi);
  const where = { group: 'ovn-multinet.io', version: 'v1', plural: 'namespacednetworks', namespace: 'team-a' };
  await custom.createNamespacedCustomObject({ ...where, body: { apiVersion: 'ovn-multinet.io/v1', kind: 'NamespacedNetwork', metadata: { name: 'blue', finalizers: ['x/one'] }, spec: { topology: 'layer2' } } });
  const read = async (): Promise<{ metadata: Record<string, unknown> }> => (await custom.getNamespacedCustomObject({ ...where, name: 'blue' })) as { metadata: Record<string, unknown> };
  await custom.deleteNamespacedCustomObject({ ...where, name: 'blue' });
  const marked = await read();
  t.type(marked.metadata['deletionTimestamp'], 'string', 'still there, deletionTimestamp set');
  t.equal(await codeOf(custom.replaceNamespacedCustomObject({ ...where, name: 'blue', body: { ...marked, metadata: { ...marked.metadata, finalizers: ['x/one', 'x/two'] } } })), 422, 'no new finalizer while deleting');
  const kept = await custom.replaceNamespacedCustomObject({ ...where, name: 'blue', body: { ...marked, metadata: { ...marked.metadata, deletionTimestamp: undefined, labels: { a: 'b' } } } }) as { metadata: Record<string, unknown> };
  t.equal(kept.metadata['deletionTimestamp'], marked.metadata['deletionTimestamp'], 'a client cannot clear deletionTimestamp');
  await custom.replaceNamespacedCustomObject({ ...where, name: 'blue', body: { ...kept, metadata: { ...kept.metadata, finalizers: [] } } });
  t.equal(await codeOf(read()), 404, 'gone once the last finalizer is removed');
});
