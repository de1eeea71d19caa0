// Interface discovery (issue 23 item 6): the pod webhook's JSONPatch, computed from the pod and
// applied to it here (RFC 6902, the fake API server's implementation), then read back as a
// container would see it: the variables naming each network's interface (Multus's names), the
// downward-API volume mounted read-only everywhere, nothing the pod set changed, nothing added
// twice on a second pass; a pod without networks gets nothing, a bad annotation nothing and a log
// line. The AdmissionReview around it: the uid echoed, always allowed, the patch base64.
import t from 'tap';
import { pino } from 'pino';
import type { Logger } from '../../daemon/lib/log.ts';
import {
  DISCOVERY_MOUNT_PATH,
  DISCOVERY_VOLUME,
  discoveryEnv,
  discoveryPlan,
  networkEnvSuffix,
  podInterfaces,
  type DiscoveryPlan,
  type JsonPatchAdd,
} from '../../daemon/controller/discovery-patch.ts';
import { admissionReview, parseAdmissionReview, reviewPod } from '../../daemon/controller/admission.ts';
import { parseNetworkSelections } from '../../daemon/k8s/selection.ts';
import { isObject } from '../../daemon/cni-spec/json.ts';
import { jsonPatch } from '../helpers/fake-apiserver.ts';

type Obj = Record<string, unknown>;
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';

const pod = (networks: string | undefined, spec: Obj = { containers: [{ name: 'app', image: 'busybox' }] }): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', ...(networks === undefined ? {} : { annotations: { [NETWORKS]: networks } }) },
  spec,
});

function patchOf(plan: DiscoveryPlan): JsonPatchAdd[] {
  if (plan.kind !== 'patch') throw new Error(`expected a patch, got ${JSON.stringify(plan)}`);
  return plan.patch;
}

/** The pod after its patch (the original is left as it was). */
const mutate = (p: Obj, namespace = 'default'): Obj => jsonPatch(p, patchOf(discoveryPlan(p, namespace))) as Obj;

const containersOf = (p: Obj, key = 'containers'): Obj[] => ((p['spec'] as Obj)[key] ?? []) as Obj[];
/** A container's variables as the kubelet would set them (a later duplicate would win). */
const envOf = (c: Obj): Record<string, string> => Object.fromEntries(((c['env'] ?? []) as Obj[]).map((e) => [String(e['name']), typeof e['value'] === 'string' ? e['value'] : '']));
const mountsOf = (c: Obj): Obj[] => (c['volumeMounts'] ?? []) as Obj[];

t.test("Multus's interface names: the element's interface, else net<position>", async (t) => {
  const csv = parseNetworkSelections('red, tenant/blue@storage, red, default/green', 'default');
  t.same(podInterfaces(csv, 'default'), [
    { network: 'red', interface: 'net1' },
    { network: 'tenant/blue', interface: 'storage' },
    { network: 'red', interface: 'net3' },
    { network: 'green', interface: 'net4' },
  ], 'CSV form: a position counts every element, named or not; the pod\'s own namespace is not written');
  const json = parseNetworkSelections('[{"name":"blue","namespace":"tenant"},{"name":"red","interface":"fast0"}]', 'apps');
  t.same(podInterfaces(json, 'apps'), [{ network: 'tenant/blue', interface: 'net1' }, { network: 'red', interface: 'fast0' }], 'JSON form');
});

t.test('variable names: sanitized, one per network, none for two networks that would share one', async (t) => {
  t.equal(networkEnvSuffix('red'), 'RED');
  t.equal(networkEnvSuffix('tenant/blue-net.v2'), 'TENANT__BLUE_NET_V2');
  const { env, skipped } = discoveryEnv([
    { network: 'red', interface: 'net1' },
    { network: 'red', interface: 'net2' },
    { network: 'a-b', interface: 'net3' },
    { network: 'a.b', interface: 'net4' },
    { network: 'tenant/blue', interface: 'storage' },
  ]);
  t.same(env, [
    { name: 'OVN_MULTINET_INTERFACES', value: 'red=net1,red=net2,a-b=net3,a.b=net4,tenant/blue=storage' },
    { name: 'OVN_MULTINET_IF_RED', value: 'net1,net2' },
    { name: 'OVN_MULTINET_IF_TENANT__BLUE', value: 'storage' },
  ], 'a network attached twice names both interfaces; A_B would name two networks, so it is not set');
  t.match(skipped, [/OVN_MULTINET_IF_A_B: the networks a-b, a\.b would share it/]);
});

t.test('a pod with networks: every container and init container gets the variables and the volume', async (t) => {
  const before = pod('red,tenant/blue@storage', {
    initContainers: [{ name: 'init', image: 'busybox' }],
    containers: [
      { name: 'app', image: 'busybox', env: [{ name: 'OVN_MULTINET_IF_RED', value: 'mine' }, { name: 'OTHER', value: '1' }], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      { name: 'sidecar', image: 'busybox' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  });
  const original = JSON.stringify(before);
  const after = mutate(before);
  t.equal(JSON.stringify(before), original, 'the pod given is not changed in place');
  const [init] = containersOf(after, 'initContainers');
  const [app, sidecar] = containersOf(after);
  if (init === undefined || app === undefined || sidecar === undefined) throw new Error('containers missing');
  const expected = { OVN_MULTINET_INTERFACES: 'red=net1,tenant/blue=storage', OVN_MULTINET_IF_RED: 'net1', OVN_MULTINET_IF_TENANT__BLUE: 'storage' };
  t.same(envOf(init), expected, 'the init container');
  t.same(envOf(sidecar), expected, 'a container without env');
  t.same(envOf(app), { ...expected, OVN_MULTINET_IF_RED: 'mine', OTHER: '1' }, 'a variable the pod sets is kept as it is, the others added');
  t.equal(((app['env'] as Obj[]).filter((e) => e['name'] === 'OVN_MULTINET_IF_RED')).length, 1, 'and not given twice');
  const mount = { name: DISCOVERY_VOLUME, mountPath: DISCOVERY_MOUNT_PATH, readOnly: true };
  for (const c of [init, app, sidecar]) t.same(mountsOf(c).filter((m) => m['name'] === DISCOVERY_VOLUME), [mount], `${String(c['name'])}: mounted read-only`);
  t.same(mountsOf(app)[0], { name: 'data', mountPath: '/data' }, 'the pod\'s own mount stays first');
  const volumes = (after['spec'] as Obj)['volumes'] as Obj[];
  t.same(volumes.map((v) => v['name']), ['data', DISCOVERY_VOLUME]);
  t.same(volumes[1], {
    name: DISCOVERY_VOLUME,
    downwardAPI: {
      items: [
        { path: 'network-status', fieldRef: { fieldPath: "metadata.annotations['k8s.v1.cni.cncf.io/network-status']" } },
        { path: 'networks', fieldRef: { fieldPath: "metadata.annotations['k8s.v1.cni.cncf.io/networks']" } },
      ],
    },
  }, 'a downward-API volume of the two annotations');

  const again = discoveryPlan(after, 'default');
  t.same(patchOf(again), [], 'a second pass (reinvocation, or a pod patched before) adds nothing');
});

t.test('a pod without networks, or with an empty annotation: nothing', async (t) => {
  t.same(discoveryPlan(pod(undefined), 'default'), { kind: 'none' });
  t.same(discoveryPlan(pod('  '), 'default'), { kind: 'none' });
  t.same(discoveryPlan(pod('[]'), 'default'), { kind: 'none' });
});

t.test('a bad annotation or a malformed pod: no patch, and the reason names the field', async (t) => {
  const cases: [string, Obj, RegExp][] = [
    ['a bad name', pod('Red_Net'), /\[0\]\.name: "Red_Net" is not a valid object name/],
    ['bad JSON', pod('[{"name":'), /value: not valid JSON/],
    ['an interface name too long', pod('red@interface-name-too-long'), /\[0\]\.interface:/],
    ['a non-string annotation', { metadata: { annotations: { [NETWORKS]: 1 } }, spec: { containers: [] } }, /k8s\.v1\.cni\.cncf\.io\/networks: must be a string/],
    ['containers not a list', pod('red', { containers: { name: 'x' } }), /spec\.containers: must be a list of objects/],
    ['env not a list', pod('red', { containers: [{ name: 'x', env: 'A=1' }] }), /spec\.containers\[0\]\.env: must be a list of objects/],
    ['no spec', { metadata: { annotations: { [NETWORKS]: 'red' } } }, /spec: must be an object/],
  ];
  for (const [name, p, reason] of cases) {
    const plan = discoveryPlan(p, 'default');
    t.equal(plan.kind, 'invalid', name);
    if (plan.kind === 'invalid') t.match(plan.reason, reason, `${name}: ${plan.reason}`);
  }
});

t.test("what the pod already has at the volume's name or the mount path is left alone", async (t) => {
  const own = mutate(pod('red', { containers: [{ name: 'app', image: 'busybox' }], volumes: [{ name: DISCOVERY_VOLUME, emptyDir: {} }] }));
  const [app] = containersOf(own);
  t.same(mountsOf(app ?? {}), [], 'its own volume of that name is not mounted at the discovery path');
  t.same(((own['spec'] as Obj)['volumes'] as Obj[]).length, 1, 'nor replaced');
  t.equal(envOf(app ?? {})['OVN_MULTINET_IF_RED'], 'net1', 'the variables come all the same');
  t.match(discoveryPlan(pod('red', { containers: [], volumes: [{ name: DISCOVERY_VOLUME, emptyDir: {} }] }), 'default'), { kind: 'patch', skipped: [/has its own volume/] });

  const taken = mutate(pod('red', { containers: [{ name: 'a', volumeMounts: [{ name: 'cfg', mountPath: DISCOVERY_MOUNT_PATH }] }, { name: 'b' }], volumes: [{ name: 'cfg', emptyDir: {} }] }));
  const [a, b] = containersOf(taken);
  t.same(mountsOf(a ?? {}), [{ name: 'cfg', mountPath: DISCOVERY_MOUNT_PATH }], 'a container with a mount at the path keeps it');
  t.equal(mountsOf(b ?? {}).length, 1, 'the other container gets the volume');
});

function captureLog(): { log: Logger; lines: Obj[] } {
  const lines: Obj[] = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Obj) }), lines };
}

const review = (request: Obj): Obj => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });

function decodedPatch(answer: Obj): unknown {
  const response = answer['response'];
  if (!isObject(response)) throw new Error('no response');
  if (typeof response['patch'] !== 'string') return undefined;
  if (response['patchType'] !== 'JSONPatch') throw new Error(`patchType ${String(response['patchType'])}`);
  return JSON.parse(Buffer.from(response['patch'], 'base64').toString('utf8'));
}

t.test('the AdmissionReview: uid echoed, always allowed, the patch base64 when there is one', async (t) => {
  const { log, lines } = captureLog();
  const request = (object: Obj, extra: Obj = {}): Obj => ({ uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'default', object, ...extra });
  const parse = (body: Obj): ReturnType<typeof parseAdmissionReview> => parseAdmissionReview(body);

  const withNetworks = parse(review(request(pod('red'))));
  if ('invalid' in withNetworks) throw new Error(withNetworks.invalid);
  const answer = reviewPod(withNetworks, log);
  t.match(answer, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
  t.same(decodedPatch(answer), patchOf(discoveryPlan(pod('red'), 'default')), 'the patch of discoveryPlan');

  for (const [name, body] of [
    ['no networks', request(pod(undefined))],
    ['an UPDATE', request(pod('red'), { operation: 'UPDATE' })],
    ['not a pod', request(pod('red'), { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } })],
  ] as const) {
    const parsed = parse(review(body));
    if ('invalid' in parsed) throw new Error(parsed.invalid);
    const out = reviewPod(parsed, log);
    t.same(out['response'], { uid: 'u-1', allowed: true }, `${name}: allowed, no patch`);
  }

  const bad = parse(review(request(pod('red@a/b'))));
  if ('invalid' in bad) throw new Error(bad.invalid);
  t.same(reviewPod(bad, log)['response'], { uid: 'u-1', allowed: true }, 'a bad annotation: allowed, no patch');
  t.match(lines.at(-1), { level: 40, pod: 'default/web-', uid: 'u-1', reason: /\[0\]\.interface/, msg: /network annotation is invalid/ }, 'and logged with the reason');

  t.same(admissionReview('x', []), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'x', allowed: true } });
  for (const [body, reason] of [
    [[], /not a JSON object/],
    [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'a' } }, /not an admission\.k8s\.io\/v1 AdmissionReview/],
    [review({ uid: '' }), /request\.uid: missing/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request: missing/],
  ] as const) {
    t.match(parseAdmissionReview(body), { invalid: reason });
  }
});
