// Network objects restrict which namespaces may attach: label-selector matching (a table, with
// Kubernetes semantics), the Network/Namespace cache through the real client library against the
// fake API server, and the ADD check as CNI errors.
import t from 'tap';
import { pino } from 'pino';
import { KubeConfig } from '@kubernetes/client-node';
import { parseLabelSelector, selectorMatches } from '../../daemon/k8s/labels.ts';
import { NetworkCache, checkNetworkAccess, toNetworkInfo, type NetworkInfo, type NetworkSource } from '../../daemon/k8s/networks.ts';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { LabelSelectorError, NetworkLookupError, NamespaceNotFoundError } from '../../daemon/errors.ts';
import { rejectsAsCniError } from '../helpers/cni-error.ts';

const log = pino({ level: 'silent' });
const signal = () => AbortSignal.timeout(10_000);
const labels = (o: Record<string, string>) => new Map(Object.entries(o));

t.test('label selector matching', async (t) => {
  const rows: Array<{ name: string; selector: unknown; labels: Record<string, string>; selects: boolean }> = [
    { name: 'absent selects nothing', selector: undefined, labels: { team: 'a' }, selects: false },
    { name: 'null selects nothing', selector: null, labels: {}, selects: false },
    { name: 'empty selects everything', selector: {}, labels: {}, selects: true },
    { name: 'empty lists select everything', selector: { matchLabels: {}, matchExpressions: [] }, labels: { x: 'y' }, selects: true },
    { name: 'matchLabels equal', selector: { matchLabels: { team: 'a' } }, labels: { team: 'a', env: 'p' }, selects: true },
    { name: 'matchLabels other value', selector: { matchLabels: { team: 'a' } }, labels: { team: 'b' }, selects: false },
    { name: 'matchLabels missing key', selector: { matchLabels: { team: 'a' } }, labels: {}, selects: false },
    { name: 'matchLabels all must match', selector: { matchLabels: { team: 'a', env: 'p' } }, labels: { team: 'a' }, selects: false },
    { name: 'In: value in list', selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a', 'b'] }] }, labels: { team: 'b' }, selects: true },
    { name: 'In: value not in list', selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] }, labels: { team: 'c' }, selects: false },
    { name: 'In: key missing', selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] }, labels: {}, selects: false },
    { name: 'NotIn: value not in list', selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] }, labels: { team: 'b' }, selects: true },
    { name: 'NotIn: value in list', selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] }, labels: { team: 'a' }, selects: false },
    { name: 'NotIn: key missing matches', selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] }, labels: {}, selects: true },
    { name: 'Exists: present', selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels: { team: '' }, selects: true },
    { name: 'Exists: missing', selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels: {}, selects: false },
    { name: 'DoesNotExist: missing', selector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist', values: [] }] }, labels: {}, selects: true },
    { name: 'DoesNotExist: present', selector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, labels: { team: 'a' }, selects: false },
    {
      name: 'labels and expressions are ANDed',
      selector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
      labels: { team: 'a', env: 'dev' },
      selects: false,
    },
  ];
  for (const row of rows) t.equal(selectorMatches(parseLabelSelector(row.selector, 's'), labels(row.labels)), row.selects, row.name);

  const bad: Array<{ name: string; selector: unknown; error: RegExp }> = [
    { name: 'not an object', selector: 'team=a', error: /^s: must be an object/ },
    { name: 'matchLabels value', selector: { matchLabels: { team: 1 } }, error: /^s\.matchLabels\.team: must be a string/ },
    { name: 'matchExpressions not a list', selector: { matchExpressions: {} }, error: /^s\.matchExpressions: must be a list/ },
    { name: 'unknown operator', selector: { matchExpressions: [{ key: 'k', operator: 'Gt', values: ['1'] }] }, error: /^s\.matchExpressions\[0\]\.operator: must be one of/ },
    { name: 'In without values', selector: { matchExpressions: [{ key: 'k', operator: 'In', values: [] }] }, error: /values: must be non-empty for In/ },
    { name: 'Exists with values', selector: { matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }] }, error: /values: must be empty for Exists/ },
    { name: 'no key', selector: { matchExpressions: [{ operator: 'Exists' }] }, error: /\.key: must be a non-empty string/ },
  ];
  for (const row of bad) t.throws(() => parseLabelSelector(row.selector, 's'), { name: 'LabelSelectorError', message: row.error }, row.name);

  t.same(toNetworkInfo({ metadata: { name: 'red' }, spec: { namespaceSelector: { matchLabels: { team: 'a' } } } })?.name, 'red');
  t.equal(toNetworkInfo({ metadata: { name: 'red' } })?.namespaceSelector, undefined, 'no spec: absent selector');
  t.type(toNetworkInfo({ metadata: { name: 'red' }, spec: { namespaceSelector: 'x' } })?.namespaceSelector, LabelSelectorError, 'an invalid selector is kept as its error');
  t.equal(toNetworkInfo({ metadata: {} }), undefined, 'malformed');
});

t.test('network cache', async (t) => {
  const api = await startFakeApiServer(t);
  const kubeConfig = loadKubeConfig(api.kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  await api.upsertNetwork({ name: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  await api.upsertNamespace({ name: 'tenant-a', labels: { team: 'a' } });
  const cache = new NetworkCache({ kubeConfig, log, waitMs: 500 }) satisfies NetworkSource;
  cache.start();
  t.teardown(() => cache.stop());

  t.equal((await cache.network('red', signal()))?.name, 'red', 'waits for the first list');
  t.equal(await cache.network('blue', signal()), undefined, 'no Network of that name');
  t.same([...(await cache.namespaceLabels('tenant-a', signal()))], [['team', 'a']]);

  await api.upsertNamespace({ name: 'tenant-a', labels: { team: 'b' } });
  await api.upsertNetwork({ name: 'blue', namespaceSelector: {} });
  await new Promise((r) => setTimeout(r, 200));
  t.same([...(await cache.namespaceLabels('tenant-a', signal()))], [['team', 'b']], 'label change from the watch');
  t.equal((await cache.network('blue', signal()))?.name, 'blue', 'a new Network from the watch');
  await api.deleteCluster('networks', 'blue');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(await cache.network('blue', signal()), undefined, 'a deleted Network is gone');

  const late = cache.namespaceLabels('late', signal());
  await new Promise((r) => setTimeout(r, 100));
  await api.upsertNamespace({ name: 'late', labels: { x: 'y' } });
  t.same([...(await late)], [['x', 'y']], 'a namespace created while an ADD waits comes from the watch');
  await t.rejects(cache.namespaceLabels('nowhere', signal()), NamespaceNotFoundError, 'not cached, then one GET: 404');
  const requests = await api.requests();
  t.equal(requests.filter((r) => r === 'GET /api/v1/namespaces/nowhere').length, 1, 'one GET');
  t.notOk(requests.includes('GET /api/v1/namespaces/tenant-a'), 'no GET for a cached namespace');
});

t.test('Networks never listed: try again later', async (t) => {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify({ clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1', 'insecure-skip-tls-verify': true } }], users: [{ name: 'u', user: {} }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x' }));
  const cache = new NetworkCache({ kubeConfig: kc, log, waitMs: 100, retryMs: 50 });
  cache.start();
  t.teardown(() => cache.stop());
  await t.rejects(cache.network('red', signal()), NetworkLookupError);
  await rejectsAsCniError(t, checkNetworkAccess(cache, { K8S_POD_NAMESPACE: 'ns' }, 'red', signal()), { code: 11, message: 'network red: the Kubernetes API server is not reachable' });
});

t.test('the ADD check, as CNI errors', async (t) => {
  const networks = new Map<string, NetworkInfo | undefined>([
    ['red', toNetworkInfo({ metadata: { name: 'red' }, spec: { namespaceSelector: { matchLabels: { team: 'a' } } } })],
    ['closed', toNetworkInfo({ metadata: { name: 'closed' }, spec: {} })],
    ['broken', toNetworkInfo({ metadata: { name: 'broken' }, spec: { namespaceSelector: { matchExpressions: [{ key: 'k', operator: 'In' }] } } })],
  ]);
  const namespaces = new Map([
    ['tenant-a', labels({ team: 'a' })],
    ['tenant-b', labels({ team: 'b' })],
  ]);
  const fake: NetworkSource = {
    network: async (name) => networks.get(name),
    namespaceLabels: async (name) => {
      const found = namespaces.get(name);
      if (found === undefined) throw new NamespaceNotFoundError(name);
      return found;
    },
    stop: async () => undefined,
  };
  const ns = (namespace: string) => ({ K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: 'p' });
  await checkNetworkAccess(fake, ns('tenant-a'), 'red', signal());
  t.pass('a selected namespace attaches');
  await checkNetworkAccess(fake, ns('tenant-b'), 'blue', signal());
  t.pass('no Network object: open');
  await checkNetworkAccess(fake, {}, 'red', signal());
  t.pass('not a pod: no check');
  await rejectsAsCniError(t, checkNetworkAccess(fake, ns('tenant-b'), 'red', signal()), { code: 7, message: 'network red: namespace tenant-b is not selected by its namespaceSelector', details: /"team":"b"/ });
  await rejectsAsCniError(t, checkNetworkAccess(fake, ns('tenant-a'), 'closed', signal()), { code: 7, message: /namespace tenant-a is not selected/, details: /no namespaceSelector/ }, 'absent selector: no namespace');
  await rejectsAsCniError(t, checkNetworkAccess(fake, ns('tenant-a'), 'broken', signal()), { code: 7, message: "network broken: the Network's namespaceSelector is invalid", details: /must be non-empty for In/ });
  await rejectsAsCniError(t, checkNetworkAccess(fake, ns('gone'), 'red', signal()), { code: 3, message: 'CNI_ARGS: namespace gone does not exist' });
});
