// The Event recorder (daemon/k8s/events.ts) through the real client library against the fake API
// server, which validates events.k8s.io/v1 Events as the real one does: a repeat is a series
// (one Event, its count), another note another Event, a token bucket per object holds writes
// back and the count is written when it refills, the LRU stays bounded, an Event deleted meanwhile
// is created again, a refused write is dropped without harm, a long note is cut to 1 kB, a
// cluster-scoped object's Events go to `default`, an Event in a namespace that is gone is dropped.
// The daemon's pod Events (pod-events.ts): a failed ADD only for a pod it finds, with the pod's uid.
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { EventRecorder, cutNote, NOTE_LIMIT, type EventRecord, type EventSink, type RecorderOptions } from '../../daemon/k8s/events.ts';
import { PodEvents } from '../../daemon/k8s/pod-events.ts';
import type { PodSource } from '../../daemon/k8s/pods.ts';
import { PodNotFoundError } from '../../daemon/errors.ts';
import { startInProcessApi, type FakeApiServer, type KubeObject } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';

const log = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const pod = (name: string, uid = `uid-${name}`): EventRecord['regarding'] => ({ apiVersion: 'v1', kind: 'Pod', namespace: 'ns1', name, uid });
const failed = (name: string, note = 'network blue, interface net1: boom (CNI error code 100)'): EventRecord => ({ regarding: pod(name), type: 'Warning', reason: 'AttachFailed', action: 'Attach', note });

async function setup(t: Test, options: Partial<RecorderOptions> = {}): Promise<{ server: FakeApiServer; recorder: EventRecorder }> {
  const { server, kubeConfig } = await startInProcessApi(t);
  server.upsertNamespace({ name: 'ns1' });
  const recorder = new EventRecorder({ kubeConfig, log, controller: 'ovn-multinet.io/daemon', instance: 'node-1', ...options });
  t.teardown(() => recorder.stop());
  return { server, recorder };
}

const eventsOf = (server: FakeApiServer, name: string): KubeObject[] => server.list('events').filter((e) => (e['regarding'] as { name?: string }).name === name);
const countOf = (e: KubeObject | undefined): number => ((e?.['series'] as { count?: number } | undefined)?.count ?? (e === undefined ? 0 : 1));
const writes = (server: FakeApiServer): string[] => server.requests.filter((r) => /^(POST|PATCH) \/apis\/events\.k8s\.io\//.test(r));
const countIs = (server: FakeApiServer, name: string, count: number): Promise<true> =>
  until(`${name}: count ${count}`, async () => (eventsOf(server, name).length === 1 && countOf(eventsOf(server, name)[0]) === count ? true : undefined), 5000);

t.test('a repeat updates the series of one Event; another note is another Event', async (t) => {
  const { server, recorder } = await setup(t);
  recorder.record(failed('a'));
  await countIs(server, 'a', 1);
  const [first] = eventsOf(server, 'a');
  t.match(first, {
    apiVersion: 'events.k8s.io/v1',
    metadata: { namespace: 'ns1', name: /^a\./ },
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'ns1', name: 'a', uid: 'uid-a' },
    type: 'Warning',
    reason: 'AttachFailed',
    action: 'Attach',
    note: 'network blue, interface net1: boom (CNI error code 100)',
    reportingController: 'ovn-multinet.io/daemon',
    reportingInstance: 'node-1',
    eventTime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
  });
  t.equal(first?.['series'], undefined, 'a first occurrence has no series');
  for (let i = 0; i < 4; i++) recorder.record(failed('a'));
  await countIs(server, 'a', 5);
  const [five] = eventsOf(server, 'a');
  t.equal(five?.metadata.name, first?.metadata.name, 'the same Event');
  t.match(five?.['series'], { count: 5, lastObservedTime: /\.\d{6}Z$/ });
  t.ok(writes(server).length <= 5, `at most one write per occurrence (${writes(server).length})`);

  recorder.record(failed('a', 'network blue, interface net1: another error (CNI error code 7)'));
  await until('a second Event', async () => (eventsOf(server, 'a').length === 2 ? true : undefined), 5000);
  t.same(eventsOf(server, 'a').map(countOf).sort(), [1, 5], 'another note: another Event, the first series kept');
});

t.test('the token bucket per object: a burst, then the count so far when a token is back', async (t) => {
  const { server, recorder } = await setup(t, { burst: 2, refillMs: 1000 });
  recorder.record(failed('loop'));
  await countIs(server, 'loop', 1);
  recorder.record(failed('loop'));
  await countIs(server, 'loop', 2);
  // The bucket is empty now: four more occurrences wait for one token.
  for (let i = 0; i < 4; i++) recorder.record(failed('loop'));
  recorder.record(failed('other'));
  await countIs(server, 'other', 1);
  t.pass('another object has its own bucket');
  await sleep(200);
  t.equal(countOf(eventsOf(server, 'loop')[0]), 2, 'no write while the bucket is empty');
  await countIs(server, 'loop', 6);
  t.equal(writes(server).length, 4, 'loop: create, patch, one patch with the four after the refill; other: create');
});

t.test('the LRU bounds the series kept; a key pushed out starts a new Event', async (t) => {
  const { server, recorder } = await setup(t, { maxSeries: 3 });
  for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) recorder.record(failed(name));
  t.equal(recorder.size, 3, 'three kept');
  await until('five Events', async () => (server.list('events').length === 5 ? true : undefined), 5000);
  recorder.record(failed('p1'));
  await until('p1 again: a new Event', async () => (eventsOf(server, 'p1').length === 2 ? true : undefined), 5000);
  t.same(eventsOf(server, 'p1').map(countOf), [1, 1]);
  recorder.record(failed('p5'));
  await countIs(server, 'p5', 2);
  t.equal(recorder.size, 3);
});

t.test('an Event deleted meanwhile is created again with the count so far', async (t) => {
  const { server, recorder } = await setup(t);
  recorder.record(failed('gone'));
  await countIs(server, 'gone', 1);
  const name = eventsOf(server, 'gone')[0]?.metadata.name ?? '';
  server.remove('events', 'ns1', name);
  recorder.record(failed('gone'));
  await countIs(server, 'gone', 2);
  t.not(eventsOf(server, 'gone')[0]?.metadata.name, name, 'a new Event');
});

t.test('a refused write is dropped; a long note is cut to 1 kB; a cluster-scoped object is in default', async (t) => {
  const { server, recorder } = await setup(t);
  recorder.record({ ...failed('bad'), reason: 'R'.repeat(200) });
  recorder.record({ ...failed('long'), note: 'é'.repeat(2000) });
  recorder.record({ regarding: { apiVersion: 'ovn-multinet.io/v1', kind: 'Network', name: 'blue', uid: 'uid-blue' }, type: 'Warning', reason: 'AddressesLow', action: 'Allocate', note: 'low' });
  await until('the two valid Events', async () => (server.list('events').length === 2 ? true : undefined), 5000);
  t.same(eventsOf(server, 'bad'), [], 'the API server refused it (reason too long)');
  const note = String(eventsOf(server, 'long')[0]?.['note']);
  t.ok(Buffer.byteLength(note) <= NOTE_LIMIT && note.endsWith('...'), `cut: ${Buffer.byteLength(note)} bytes`);
  t.match(eventsOf(server, 'blue')[0], { metadata: { namespace: 'default' }, regarding: { kind: 'Network', name: 'blue' } });
  t.equal(cutNote('short'), 'short');
  t.equal(Buffer.byteLength(cutNote('x'.repeat(5000))), NOTE_LIMIT);
});

t.test('an Event whose namespace is gone is dropped; the others are written', async (t) => {
  const { server, recorder } = await setup(t);
  recorder.record({ ...failed('orphan'), regarding: { ...pod('orphan'), namespace: 'gone' } });
  recorder.record(failed('alive'));
  await countIs(server, 'alive', 1);
  await until('the refused create', async () => (server.requests.some((r) => r.startsWith('POST /apis/events.k8s.io/v1/namespaces/gone/')) ? true : undefined), 5000);
  t.same(eventsOf(server, 'orphan'), []);
});

t.test('the fake API server validates events.k8s.io/v1 as the real one', async (t) => {
  const { server } = await setup(t);
  const valid: KubeObject = {
    metadata: { name: 'e1', namespace: 'ns1' },
    eventTime: '2026-12-07T10:00:00.000000Z',
    reportingController: 'ovn-multinet.io/daemon',
    reportingInstance: 'node-1',
    action: 'Attach',
    reason: 'AttachFailed',
    type: 'Warning',
    note: 'n',
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'ns1', name: 'a' },
  };
  const post = async (body: KubeObject, namespace = 'ns1'): Promise<number> =>
    (await fetch(`${server.url}/apis/events.k8s.io/v1/namespaces/${namespace}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
  const rows: Array<[string, KubeObject, number]> = [
    ['eventTime with milliseconds only', { ...valid, eventTime: '2026-12-07T10:00:00.000Z' }, 422],
    ['no reportingController', { ...valid, reportingController: undefined }, 422],
    ['no action', { ...valid, action: '' }, 422],
    ['a type that is neither Normal nor Warning', { ...valid, type: 'Error' }, 422],
    ['a note over 1 kB', { ...valid, note: 'x'.repeat(1025) }, 422],
    ['series.count 1', { ...valid, series: { count: 1, lastObservedTime: '2026-12-07T10:00:00.000000Z' } }, 422],
    ['series without lastObservedTime', { ...valid, series: { count: 2 } }, 422],
    ['regarding in another namespace', { ...valid, regarding: { kind: 'Pod', namespace: 'ns2', name: 'a' } }, 422],
    ['valid', valid, 201],
  ];
  for (const [what, body, status] of rows) t.equal(await post(body), status, what);
  t.equal(await post({ ...valid, metadata: { name: 'e2', namespace: 'nowhere' }, regarding: { kind: 'Pod', namespace: 'nowhere', name: 'a' } }, 'nowhere'), 404, 'a namespace that does not exist');
  server.apply('namespaces', { metadata: { name: 'leaving', deletionTimestamp: '2026-12-07T10:00:00Z' } });
  t.equal(await post({ ...valid, metadata: { name: 'e3', namespace: 'leaving' }, regarding: { kind: 'Pod', namespace: 'leaving', name: 'a' } }, 'leaving'), 403, 'a namespace being deleted');
  t.equal(await post({ ...valid, metadata: { name: 'cluster', namespace: 'default' }, regarding: { kind: 'Network', name: 'blue' } }, 'default'), 201, 'a cluster-scoped object, in default');
  const patch = async (body: unknown): Promise<number> =>
    (await fetch(`${server.url}/apis/events.k8s.io/v1/namespaces/ns1/events/e1`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify(body) })).status;
  t.equal(await patch({ note: 'changed' }), 422, 'note is immutable');
  t.equal(await patch({ series: { count: 2, lastObservedTime: '2026-12-07T10:00:01.000000Z' } }), 200, 'series may change');
});

t.test("the daemon's pod Events: a failed ADD for a pod it finds, a removal for the recorded pod", async (t) => {
  const recorded: EventRecord[] = [];
  const sink: EventSink = { record: (e) => void recorded.push(e) };
  const asked: string[] = [];
  const pods: PodSource = {
    get: async (ref) => {
      asked.push(`${ref.namespace}/${ref.name}/${ref.uid ?? ''}`);
      if (ref.name !== 'known') throw new PodNotFoundError(`pod ${ref.namespace}/${ref.name} does not exist`);
      return { namespace: ref.namespace, name: ref.name, uid: 'uid-from-cache', annotations: new Map() };
    },
    stop: async () => undefined,
  };
  const events = new PodEvents(sink, pods, log);
  const failure = { network: 'blue', ifName: 'net1', code: 7, msg: 'ips[0]: "10.99.0.5" is outside the network\'s subnets' };
  events.addFailed({ ...failure, args: { K8S_POD_NAMESPACE: 'ns1', K8S_POD_NAME: 'known', K8S_POD_UID: '' } });
  events.addFailed({ ...failure, args: { K8S_POD_NAMESPACE: 'ns1', K8S_POD_NAME: 'unknown', K8S_POD_UID: 'u2' } });
  events.addFailed({ ...failure, args: {} });
  await until('both looked up', async () => (asked.length === 2 ? true : undefined));
  await sleep(10);
  t.same(asked, ['ns1/known/', 'ns1/unknown/u2'], 'no pod named: not looked up');
  t.same(recorded, [{
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'ns1', name: 'known', uid: 'uid-from-cache' },
    type: 'Warning',
    reason: 'AttachFailed',
    action: 'Attach',
    note: 'network blue, interface net1: ips[0]: "10.99.0.5" is outside the network\'s subnets (CNI error code 7)',
  }], 'an Event for the pod found only');
  events.attachmentRemoved({ namespace: 'ns1', name: 'gone', uid: 'u3' }, 'blue', 'net1', 'container gone without DEL', 'Warning');
  t.match(recorded[1], { regarding: { kind: 'Pod', name: 'gone', uid: 'u3' }, type: 'Warning', reason: 'AttachmentRemoved', action: 'Detach', note: 'network blue, interface net1: removed by the reconciler: container gone without DEL' });
  events.attachmentRemoved({ namespace: 'ns1', name: 'gc', uid: 'u4' }, 'blue', 'net1', 'not in cni.dev/valid-attachments', 'Normal');
  t.match(recorded[2], { regarding: { name: 'gc' }, type: 'Normal', reason: 'AttachmentRemoved' }, 'a removal the runtime asked for (CNI GC) is Normal');
});
