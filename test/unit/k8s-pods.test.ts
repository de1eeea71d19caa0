// The pod cache through the real client library against the fake API server: cached pods need
// no GET, a pod the watch has not delivered yet is waited for, then read once; UIDs are checked.
import t from 'tap';
import { pino } from 'pino';
import { KubeConfig } from '@kubernetes/client-node';
import { PodCache, loadKubeConfig, type PodSource } from '../../daemon/k8s/pods.ts';
import { podAddressRequest } from '../../daemon/k8s/requests.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { PodLookupError, PodNotFoundError, PodUidMismatchError } from '../../daemon/errors.ts';
import { rejectsAsCniError } from '../helpers/cni-error.ts';

const log = pino({ level: 'silent' });
const signal = () => AbortSignal.timeout(10_000);
const annotation = (value: string) => ({ 'k8s.v1.cni.cncf.io/networks': value });

t.test('pod cache', async (t) => {
  const api = await startFakeApiServer(t);
  const kubeConfig = loadKubeConfig(api.kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  await api.upsert({ namespace: 'ns', name: 'early', uid: 'u-early', nodeName: 'node-a', annotations: annotation('red') });
  await api.upsert({ namespace: 'ns', name: 'elsewhere', uid: 'u-x', nodeName: 'node-b' });
  const cache = new PodCache({ kubeConfig, nodeName: 'node-a', log, waitMs: 500 }) satisfies PodSource;
  cache.start();
  t.teardown(() => cache.stop());

  const early = await cache.get({ namespace: 'ns', name: 'early', uid: 'u-early' }, signal());
  t.equal(early.annotations.get('k8s.v1.cni.cncf.io/networks'), 'red');
  t.match((await api.requests())[0], /^GET \/api\/v1\/pods\?fieldSelector=spec.nodeName%3Dnode-a/, 'lists only this node');

  const late = cache.get({ namespace: 'ns', name: 'late', uid: 'u-late' }, signal());
  await new Promise((r) => setTimeout(r, 100));
  await api.upsert({ namespace: 'ns', name: 'late', uid: 'u-late', nodeName: 'node-a' });
  t.equal((await late).uid, 'u-late', 'a pod created while an ADD waits comes from the watch');
  const updated = cache.get({ namespace: 'ns', name: 'late', uid: 'u-late2' }, signal());
  await api.upsert({ namespace: 'ns', name: 'late', uid: 'u-late2', nodeName: 'node-a' });
  t.equal((await updated).uid, 'u-late2', 'a recreated pod (new UID) is waited for too');
  t.notOk((await api.requests()).some((r) => r.startsWith('GET /api/v1/namespaces/')), 'no GET while the cache has the pods');

  await api.upsert({ namespace: 'ns', name: 'hidden', uid: 'u-hidden', nodeName: 'node-a' }, { hidden: true });
  const started = Date.now();
  t.equal((await cache.get({ namespace: 'ns', name: 'hidden', uid: undefined }, signal())).uid, 'u-hidden', 'not in the cache: one GET after the wait');
  t.ok(Date.now() - started >= 450, 'after waiting for the watch');
  t.equal((await api.requests()).filter((r) => r === 'GET /api/v1/namespaces/ns/pods/hidden').length, 1);

  await t.rejects(cache.get({ namespace: 'ns', name: 'hidden', uid: 'other' }, signal()), PodUidMismatchError);
  await t.rejects(cache.get({ namespace: 'ns', name: 'nobody', uid: undefined }, signal()), PodNotFoundError);
  await t.rejects(cache.get({ namespace: 'ns', name: 'nobody', uid: undefined }, AbortSignal.abort()), { name: 'AbortError' }, 'an aborted request does not wait');

  await api.delete('ns', 'early');
  await new Promise((r) => setTimeout(r, 200));
  await t.rejects(cache.get({ namespace: 'ns', name: 'early', uid: undefined }, signal()), PodNotFoundError, 'a deleted pod is gone');
});

t.test('unreachable API server', async (t) => {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify({ clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1', 'insecure-skip-tls-verify': true } }], users: [{ name: 'u', user: {} }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x' }));
  const cache = new PodCache({ kubeConfig: kc, nodeName: 'n', log, waitMs: 100, retryMs: 50 });
  cache.start();
  t.teardown(() => cache.stop());
  await t.rejects(cache.get({ namespace: 'ns', name: 'p', uid: undefined }, signal()), PodLookupError);
});

t.test('kubeconfig selection', async (t) => {
  t.equal(loadKubeConfig(undefined, {}), undefined, 'neither flag nor in-cluster: off');
  // client-node reads the service address from process.env itself.
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
  process.env['KUBERNETES_SERVICE_HOST'] = '10.0.0.1';
  process.env['KUBERNETES_SERVICE_PORT'] = '443';
  t.teardown(() => {
    for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const inCluster = loadKubeConfig(undefined);
  t.equal(inCluster?.getCurrentCluster()?.server, 'https://10.0.0.1:443', 'KUBERNETES_SERVICE_HOST: in-cluster config');
});

t.test('requests from the annotation, as CNI errors', async (t) => {
  const pods = new Map<string, Record<string, string>>([
    ['ns/json', annotation('[{"name":"red","ips":["10.1.0.5/24"],"mac":"0a:00:00:00:00:05"}]')],
    ['ns/csv', annotation('red, blue@data0')],
    ['ns/bad', annotation('[{"name":"red","ips":["nope"]}]')],
    ['ns/none', {}],
  ]);
  const fake: PodSource = {
    get: async (ref) => {
      const annotations = pods.get(`${ref.namespace}/${ref.name}`);
      if (annotations === undefined) throw new PodNotFoundError('gone');
      if (ref.uid !== undefined && ref.uid !== 'uid') throw new PodUidMismatchError('other', 'uid');
      return { namespace: ref.namespace, name: ref.name, uid: 'uid', annotations: new Map(Object.entries(annotations)) };
    },
    stop: async () => undefined,
  };
  const args = (name: string, uid = 'uid') => ({ K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: name, K8S_POD_UID: uid });
  const json = await podAddressRequest(fake, args('json'), 'red', 'net1', signal());
  t.same(json?.ips, [{ address: '10.1.0.5', prefixLength: 24 }]);
  t.equal(json?.mac, '0a:00:00:00:00:05');
  t.match(json?.field, /pod ns\/json: annotation k8s.v1.cni.cncf.io\/networks \(network ns\/red\)/);
  t.equal(await podAddressRequest(fake, args('csv'), 'red', 'net1', signal()), undefined, 'CSV asks for no address');
  t.equal(await podAddressRequest(fake, args('none'), 'red', 'net1', signal()), undefined, 'no annotation');
  t.equal(await podAddressRequest(fake, {}, 'red', 'net1', signal()), undefined, 'no K8S_POD_* in CNI_ARGS: not a pod');
  await rejectsAsCniError(t, podAddressRequest(fake, args('bad'), 'red', 'net1', signal()), { code: 7, message: 'pod ns/bad: annotation k8s.v1.cni.cncf.io/networks is invalid at [0].ips[0]', details: /^\[0\]\.ips\[0\]/ });
  await rejectsAsCniError(t, podAddressRequest(fake, args('json', 'wrong'), 'red', 'net1', signal()), { code: 3, message: /K8S_POD_UID wrong is not the UID of pod ns\/json/ });
  await rejectsAsCniError(t, podAddressRequest(fake, args('gone'), 'red', 'net1', signal()), { code: 3, message: /pod ns\/gone does not exist/ });
});
