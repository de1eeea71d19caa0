// The manifests are what an operator applies: each must parse, the RBAC they grant must be the one
// docs/security.md lists (so the two cannot drift), the ValidatingAdmissionPolicy must confine the
// controller's NAD writes to the NADs it owns (its CEL evaluated here with the same inputs the API
// server gives it, test/helpers/cel.ts), the pods must run with the capabilities, resources and
// NB TLS files issue 19 item 9 asks for, and the MultiNetworkPolicy CRD must be upstream's resource
// with one schema for both versions, which the policy example fits (nothing refused or pruned).
import t, { type Test } from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { loadAllYaml } from '@kubernetes/client-node';
import { isObject } from '../../daemon/cni-spec/json.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, NAD_GROUP, NAD_PLURAL } from '../../daemon/controller/objects.ts';
import { compileCel, type Activation } from '../helpers/cel.ts';
import { WEBHOOK_PATH } from '../../daemon/controller/webhook-server.ts';

type Obj = Record<string, unknown>;

const root = new URL('../..', import.meta.url);
const dir = new URL('manifests/', root);

function obj(value: unknown, what: string): Obj {
  if (!isObject(value)) throw new Error(`${what}: not an object`);
  return value;
}
const list = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
const strings = (value: unknown): string[] => list(value).map(String);

const manifests = new Map<string, Obj[]>();
for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
  const docs = (loadAllYaml(await readFile(new URL(file, dir), 'utf8')) as unknown[]).filter((d) => d !== null);
  manifests.set(file, docs.map((d, i) => obj(d, `${file} document ${i}`)));
}
const all = [...manifests.values()].flat();
const find = (kind: string, name: string): Obj => {
  const found = all.find((d) => d['kind'] === kind && obj(d['metadata'], kind)['name'] === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in manifests/`);
  return found;
};
const metaOf = (d: Obj): Obj => obj(d['metadata'], 'metadata');
const specOf = (d: Obj): Obj => obj(d['spec'], 'spec');
const podSpec = (workload: Obj): Obj => obj(obj(specOf(workload)['template'], 'template')['spec'], 'pod spec');
const container = (pod: Obj, name: string, key = 'containers'): Obj =>
  obj(list(pod[key]).find((c) => isObject(c) && c['name'] === name), `container ${name}`);

t.test('every manifest parses, each document a named object of a kind', async (t) => {
  t.ok(manifests.size >= 10, `${manifests.size} files`);
  for (const [file, docs] of manifests) {
    t.ok(docs.length > 0, `${file}: at least one document`);
    for (const d of docs) {
      t.match(d, { apiVersion: String, kind: String, metadata: { name: String } }, `${file}: ${String(d['kind'])}`);
    }
  }
});

/** `sa | scope | group | resource | verbs` rows, from the manifests' bindings and their roles. */
function grantedRows(): string[] {
  const rows: string[] = [];
  for (const binding of all.filter((d) => d['kind'] === 'ClusterRoleBinding' || d['kind'] === 'RoleBinding')) {
    const ref = obj(binding['roleRef'], 'roleRef');
    const role = find(String(ref['kind']), String(ref['name']));
    const scope = binding['kind'] === 'RoleBinding' ? `namespace ${String(metaOf(binding)['namespace'])}` : 'cluster';
    for (const subject of list(binding['subjects']).map((s) => obj(s, 'subject'))) {
      const sa = `${String(subject['namespace'])}/${String(subject['name'])}`;
      for (const rule of list(role['rules']).map((r) => obj(r, 'rule'))) {
        for (const group of strings(rule['apiGroups'])) {
          for (const resource of strings(rule['resources'])) {
            rows.push([sa, scope, group === '' ? 'core' : group, resource, strings(rule['verbs']).join(', ')].join(' | '));
          }
        }
      }
    }
  }
  return rows.sort();
}

/** The rows of the RBAC table under "## Permissions" in docs/security.md. */
function documentedRows(doc: string): string[] {
  const section = doc.split(/^## Permissions$/m)[1]?.split(/^## /m)[0] ?? '';
  const table = (section.split(/^\| ServiceAccount \|.*\n\|[- |]+\|\n/m)[1] ?? '').split('\n\n')[0] ?? '';
  return [...table.matchAll(/^\| (.+) \|$/gm)].map((m) => (m[1] ?? '').split(' | ').map((cell) => cell.replace(/`/g, '').trim()).join(' | ')).sort();
}

t.test('docs/security.md lists exactly the RBAC manifests/rbac.yaml grants', async (t) => {
  const rows = grantedRows();
  t.ok(rows.length >= 10, `${rows.length} grants`);
  t.same(documentedRows(await readFile(new URL('docs/security.md', root), 'utf8')), rows);
});

const CONTROLLER_USER = ((): string => {
  const deployment = find('Deployment', 'ovn-multinet-controller');
  return `system:serviceaccount:${String(metaOf(deployment)['namespace'])}:${String(podSpec(deployment)['serviceAccountName'])}`;
})();

interface Review {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  user: string;
  object?: Obj;
  oldObject?: Obj;
}

/**
 * What the API server does with manifests/nad-policy.yaml for a NAD request: a bound policy whose
 * constraints and match conditions select the request, then every validation must be true (an
 * error denies: failurePolicy Fail). Returns the messages of the failed validations.
 */
function admit(review: Review): string[] {
  const policy = find('ValidatingAdmissionPolicy', 'ovn-multinet-controller-owned-nads');
  const binding = find('ValidatingAdmissionPolicyBinding', 'ovn-multinet-controller-owned-nads');
  const spec = specOf(policy);
  if (specOf(binding)['policyName'] !== metaOf(policy)['name'] || !strings(specOf(binding)['validationActions']).includes('Deny')) return [];
  const rules = list(obj(spec['matchConstraints'], 'matchConstraints')['resourceRules']).map((r) => obj(r, 'rule'));
  if (!rules.some((r) => strings(r['apiGroups']).includes(NAD_GROUP) && strings(r['resources']).includes(NAD_PLURAL) && strings(r['operations']).includes(review.operation))) return [];
  const base: Activation = {
    request: { operation: review.operation, userInfo: { username: review.user } },
    object: review.object ?? null,
    oldObject: review.oldObject ?? null,
  };
  const failed = (expression: unknown, env: Activation): boolean => {
    try {
      return compileCel(String(expression))(env) !== true;
    } catch {
      return true;
    }
  };
  if (list(spec['matchConditions']).some((c) => failed(obj(c, 'matchCondition')['expression'], base))) return [];
  const variables: Obj = {};
  for (const v of list(spec['variables']).map((x) => obj(x, 'variable'))) {
    try {
      variables[String(v['name'])] = compileCel(String(v['expression']))({ ...base, variables });
    } catch (e) {
      variables[String(v['name'])] = e;
    }
  }
  const env = { ...base, variables };
  return list(spec['validations']).map((v) => obj(v, 'validation')).filter((v) => failed(v['expression'], env)).map((v) => String(v['message']));
}

const nad = (name: string, labels?: Record<string, string>): Obj => ({
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name, namespace: 'tenant', ...(labels === undefined ? {} : { labels }) },
  spec: { config: '{}' },
});
const own = nad('blue', { [MANAGED_BY_LABEL]: MANAGED_BY, 'ovn-multinet.io/network': 'blue' });
const foreign = nad('red');
const foreignLabelled = nad('red', { [MANAGED_BY_LABEL]: 'someone-else' });

t.test('the admission policy: the controller writes only the NADs it owns', async (t) => {
  t.equal(CONTROLLER_USER, 'system:serviceaccount:ovn-multinet:ovn-multinet-controller');
  const c = CONTROLLER_USER;
  const cases: Array<[string, Review, boolean]> = [
    ['create an own NAD', { operation: 'CREATE', user: c, object: own }, true],
    ['update an own NAD', { operation: 'UPDATE', user: c, oldObject: own, object: { ...own, spec: { config: '{"x":1}' } } }, true],
    ['delete an own NAD', { operation: 'DELETE', user: c, oldObject: own }, true],
    ['create a NAD without labels', { operation: 'CREATE', user: c, object: foreign }, false],
    ['create a NAD managed by someone else', { operation: 'CREATE', user: c, object: foreignLabelled }, false],
    ['update a foreign NAD', { operation: 'UPDATE', user: c, oldObject: foreign, object: { ...foreign, spec: { config: '{"x":1}' } } }, false],
    ['relabel a foreign NAD as own', { operation: 'UPDATE', user: c, oldObject: foreign, object: { ...own, metadata: { ...metaOf(own), name: 'red' } } }, false],
    ['relabel a NAD of someone else as own', { operation: 'UPDATE', user: c, oldObject: foreignLabelled, object: own }, false],
    ['give an own NAD away (drop the label)', { operation: 'UPDATE', user: c, oldObject: own, object: foreign }, false],
    ['delete a foreign NAD', { operation: 'DELETE', user: c, oldObject: foreign }, false],
    ['delete a NAD managed by someone else', { operation: 'DELETE', user: c, oldObject: foreignLabelled }, false],
    ['another user creates a NAD without labels', { operation: 'CREATE', user: 'alice', object: foreign }, true],
    ['another user relabels a NAD', { operation: 'UPDATE', user: 'alice', oldObject: foreign, object: own }, true],
    ['another user deletes an own NAD', { operation: 'DELETE', user: 'alice', oldObject: own }, true],
    ['another service account deletes a foreign NAD', { operation: 'DELETE', user: 'system:serviceaccount:ovn-multinet:ovn-multinet', oldObject: foreign }, true],
  ];
  for (const [name, review, allowed] of cases) {
    const refusals = admit(review);
    t.equal(refusals.length === 0, allowed, `${name}: ${allowed ? 'allowed' : 'refused'}${refusals.length > 0 ? ` (${refusals.join('; ')})` : ''}`);
  }
});

t.test('the CEL subset: errors absorbed only when the other side decides', async (t) => {
  const env: Activation = { a: null, m: { k: 'v' } };
  t.equal(compileCel("a != null && has(a.b)")(env), false, 'false && error is false');
  t.equal(compileCel("has(m.k) || has(a.b)")(env), true, 'true || error is true');
  t.throws(() => compileCel('has(a.b) || false')(env), 'error || false is the error');
  t.equal(compileCel("'k' in m && m['k'] == 'v' && !('x' in m)")(env), true);
  t.throws(() => compileCel('m.x')(env), 'a missing key is an error');
  t.throws(() => compileCel('size(m) > 0'), 'outside the subset: refused at compile');
});

t.test('the DaemonSet: capabilities instead of privileged, resources, NB over ssl: from a Secret', async (t) => {
  const ds = find('DaemonSet', 'ovn-multinet');
  const pod = podSpec(ds);
  const daemon = container(pod, 'daemon');
  const security = obj(daemon['securityContext'], 'securityContext');
  t.not(security['privileged'], true, 'not privileged');
  t.same(obj(security['capabilities'], 'capabilities'), { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'] });
  t.equal(security['allowPrivilegeEscalation'], false);
  const init = container(pod, 'install-cni', 'initContainers');
  t.same(obj(init['securityContext'], 'init securityContext')['capabilities'], { drop: ['ALL'] }, 'install-cni: no capability');
  for (const workload of [ds, find('Deployment', 'ovn-multinet-controller')]) {
    const p = podSpec(workload);
    for (const c of [...list(p['initContainers']), ...list(p['containers'])].map((x) => obj(x, 'container'))) {
      const resources = obj(c['resources'], `${String(c['name'])} resources`);
      t.match(resources, { requests: { cpu: String, memory: String }, limits: { cpu: String, memory: String } }, `${String(c['name'])}: requests and limits`);
    }
  }
});

/**
 * A container's metrics listener as its manifest sets it up: the flag `--metrics-address` (or
 * none), the env var that gives the address, the named port and both httpGet probes on it,
 * without `host` (the kubelet probes the pod IP: the node's for a host-network pod).
 */
function checkListener(t: Test, c: Obj, where: string, address: { flag: string | undefined; env: string; fieldPath: string }): void {
  const args = strings(c['args']);
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  t.equal(flag('--metrics-address'), address.flag, `--metrics-address: ${String(address.flag)}`);
  t.match(list(c['env']).find((e) => obj(e, 'env')['name'] === address.env), { valueFrom: { fieldRef: { fieldPath: address.fieldPath } } }, `${address.env} from the downward API (${address.fieldPath})`);
  const port = Number(flag('--metrics-port'));
  t.ok(port > 0, `the listener is on port ${port}`);
  t.match(list(c['ports']), [{ name: 'metrics', containerPort: port }], 'the port is named for the PodMonitor');
  for (const [probe, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
    const get = obj(obj(c[probe], probe)['httpGet'], `${probe}.httpGet`);
    t.same([get['path'], get['port'], get['host']], [path, port, undefined], `${probe}: GET <${where}>:${port}${path}`);
  }
}

t.test('the DaemonSet listens on the node\'s IP and probes the daemon\'s /healthz and /readyz there', async (t) => {
  const pod = podSpec(find('DaemonSet', 'ovn-multinet'));
  t.equal(pod['hostNetwork'], true, 'on the host network: the pod IP the kubelet probes is the node\'s');
  // No flag: the address comes from the environment, which the operator commands read too.
  checkListener(t, container(pod, 'daemon'), 'node IP', { flag: undefined, env: 'OVN_MULTINET_METRICS_ADDRESS', fieldPath: 'status.hostIP' });
});

t.test('the controller Deployment listens on its pod IP and probes /healthz and /readyz there', async (t) => {
  checkListener(t, container(podSpec(find('Deployment', 'ovn-multinet-controller')), 'controller'), 'pod IP', { flag: '$(POD_IP)', env: 'POD_IP', fieldPath: 'status.podIP' });
});

t.test('the daemon and the controller reach the NB over ssl: with the Secret mounted read-only', async (t) => {
  for (const [workload, name] of [[find('DaemonSet', 'ovn-multinet'), 'daemon'], [find('Deployment', 'ovn-multinet-controller'), 'controller']] as const) {
    const pod = podSpec(workload);
    const c = container(pod, name);
    const env = list(c['env']).map((e) => obj(e, 'env'));
    t.match(String(env.find((e) => e['name'] === 'OVN_NB_DB')?.['value']), /^ssl:/, `${name}: OVN_NB_DB is ssl:`);
    const mount = list(c['volumeMounts']).map((m) => obj(m, 'mount')).find((m) => m['name'] === 'nb-tls');
    t.match(mount, { readOnly: true, mountPath: String }, `${name}: the TLS Secret mounted read-only`);
    const volume = list(pod['volumes']).map((v) => obj(v, 'volume')).find((v) => v['name'] === 'nb-tls');
    t.match(volume, { secret: { secretName: 'ovn-multinet-nb-tls' } }, `${name}: from the Secret`);
    const path = String(mount?.['mountPath']);
    const args = strings(c['args']);
    for (const [flag, key] of [['--nb-private-key', 'tls.key'], ['--nb-certificate', 'tls.crt'], ['--nb-ca-cert', 'ca.crt']]) {
      t.ok(args.includes(`${flag}=${path}/${key}`), `${name}: ${flag}=${path}/${key}`);
    }
  }
});

t.test('the relay tier: ovsdb-server relays of the NB over ssl:, a Service, and the DaemonSet pointing at it', async (t) => {
  const relay = find('Deployment', 'ovn-nb-relay');
  const pod = podSpec(relay);
  const c = container(pod, 'relay');
  t.same(c['command'], ['ovsdb-server']);
  const args = strings(c['args']);
  const env = list(c['env']).map((e) => obj(e, 'env'));
  const sourceArg = args.find((a) => a.startsWith('relay:'));
  t.equal(sourceArg, 'relay:OVN_Northbound:$(OVN_NB_RAFT)', 'relays OVN_Northbound from OVN_NB_RAFT');
  const sources = String(env.find((e) => e['name'] === 'OVN_NB_RAFT')?.['value']).split(',');
  t.ok(sources.length >= 3 && sources.every((s) => /^ssl:[^:]+:\d+$/.test(s)), `every raft member over ssl: ${sources.join(' ')}`);
  t.ok(args.includes('--remote=pssl:6641'), 'serves the daemons over ssl: on 6641');
  const mount = list(c['volumeMounts']).map((m) => obj(m, 'mount')).find((m) => m['name'] === 'tls');
  t.match(mount, { readOnly: true, mountPath: String }, 'the TLS Secret mounted read-only');
  t.match(list(pod['volumes']).map((v) => obj(v, 'volume')).find((v) => v['name'] === 'tls'), { secret: { secretName: 'ovn-nb-relay-tls' } });
  for (const [flag, key] of [['--private-key', 'tls.key'], ['--certificate', 'tls.crt'], ['--ca-cert', 'ca.crt']]) {
    t.ok(args.includes(`${flag}=${String(mount?.['mountPath'])}/${key}`), `${flag} from the Secret`);
  }
  // Ready only while connected to the NB: through the unix socket the relay also listens on.
  const probe = strings(obj(obj(c['readinessProbe'], 'readinessProbe')['exec'], 'exec')['command']);
  const socket = args.find((a) => a.startsWith('--remote=punix:'))?.slice('--remote=p'.length);
  t.same(probe.slice(-4), ['wait', socket, 'OVN_Northbound', 'connected'], 'readiness: ovsdb-client wait on its unix socket');
  const security = obj(c['securityContext'], 'securityContext');
  t.match(security, { runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, 'no privilege, no capability');
  t.match(obj(c['resources'], 'resources'), { requests: { cpu: String, memory: String }, limits: { cpu: String, memory: String } }, 'requests and limits');

  const service = find('Service', 'ovn-nb-relay');
  t.equal(metaOf(service)['namespace'], metaOf(relay)['namespace']);
  t.same(specOf(service)['selector'], obj(obj(specOf(relay)['selector'], 'selector')['matchLabels'], 'matchLabels'), 'selects the relay pods');
  t.match(list(specOf(service)['ports']), [{ port: 6641 }]);

  // The DaemonSet keeps its direct NB by default and names the relay Service, twice, as the other choice.
  const daemonset = await readFile(new URL('daemonset.yaml', dir), 'utf8');
  const remote = `ssl:${String(metaOf(service)['name'])}.${String(metaOf(service)['namespace'])}.svc:6641`;
  t.ok(daemonset.includes(`"${remote},${remote}"`), `manifests/daemonset.yaml documents ${remote} twice`);
});

/**
 * What the API server's structural-schema checks would say of `value` under `schema`: wrong types,
 * values outside an enum or bounds, missing required fields, and fields it would prune (not in
 * the schema). The subset the CRDs here use.
 */
function schemaProblems(schema: Obj, value: unknown, path: string): string[] {
  if (schema['x-kubernetes-int-or-string'] === true) {
    return Number.isInteger(value) || typeof value === 'string' ? [] : [`${path}: not an integer or a string`];
  }
  const problems: string[] = [];
  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && !enumValues.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(enumValues)}`);
  switch (schema['type']) {
    case 'object': {
      if (!isObject(value)) return [`${path}: not an object`];
      const properties = isObject(schema['properties']) ? schema['properties'] : undefined;
      const additional = isObject(schema['additionalProperties']) ? schema['additionalProperties'] : undefined;
      for (const key of strings(schema['required'])) if (!(key in value)) problems.push(`${path}.${key}: required`);
      for (const [key, v] of Object.entries(value)) {
        const sub = properties?.[key] ?? additional;
        if (sub === undefined) problems.push(`${path}.${key}: not in the schema (pruned)`);
        else problems.push(...schemaProblems(obj(sub, `${path}.${key} schema`), v, `${path}.${key}`));
      }
      return problems;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: not an array`];
      return [...problems, ...(value as unknown[]).flatMap((v, i) => schemaProblems(obj(schema['items'], `${path} items`), v, `${path}[${i}]`))];
    case 'string':
      return typeof value === 'string' ? problems : [`${path}: not a string`];
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return [`${path}: not an integer`];
      const [min, max] = [schema['minimum'], schema['maximum']];
      if (typeof min === 'number' && value < min) problems.push(`${path}: below ${min}`);
      if (typeof max === 'number' && value > max) problems.push(`${path}: above ${max}`);
      return problems;
    }
    case 'boolean':
      return typeof value === 'boolean' ? problems : [`${path}: not a boolean`];
    default:
      return [`${path}: schema type ${JSON.stringify(schema['type'])} not checked here`];
  }
}

t.test('the MultiNetworkPolicy CRD: upstream\'s resource, one schema for both versions, status, and the example fits it', async (t) => {
  const crd = find('CustomResourceDefinition', 'multi-networkpolicies.k8s.cni.cncf.io');
  const spec = specOf(crd);
  t.match(spec, { group: 'k8s.cni.cncf.io', scope: 'Namespaced', names: { plural: 'multi-networkpolicies', kind: 'MultiNetworkPolicy', shortNames: ['multi-policy'] } });
  const versions = list(spec['versions']).map((v) => obj(v, 'version'));
  t.same(versions.map((v) => [v['name'], v['served'], v['storage']]), [['v1beta1', true, true], ['v1beta2', true, false]], 'v1beta1 stored, both served');
  const [v1beta1, v1beta2] = versions;
  t.same(v1beta2?.['schema'], v1beta1?.['schema'], 'the same schema: the None conversion loses nothing');
  t.same(v1beta1?.['subresources'], { status: {} }, 'a status subresource');
  const root = obj(obj(v1beta1?.['schema'], 'schema')['openAPIV3Schema'], 'openAPIV3Schema');
  const policySpec = obj(obj(root['properties'], 'properties')['spec'], 'spec schema');
  t.same(policySpec['required'], ['podSelector']);
  const ports = obj(obj(obj(obj(obj(policySpec['properties'], 'spec properties')['egress'], 'egress')['items'], 'rule')['properties'], 'rule properties')['ports'], 'ports');
  const port = obj(obj(obj(ports['items'], 'port')['properties'], 'port properties')['port'], 'port.port');
  t.equal(port['x-kubernetes-int-or-string'], true, 'port: int-or-string');

  const example = find('MultiNetworkPolicy', 'storage-servers');
  t.equal(example['apiVersion'], 'k8s.cni.cncf.io/v1beta1');
  t.same(schemaProblems(root, { spec: example['spec'] }, 'example'), [], 'manifests/policy-example.yaml: nothing refused or pruned');
  t.match(obj(metaOf(example)['annotations'], 'annotations'), { 'k8s.v1.cni.cncf.io/policy-for': 'storage' });
  const status = { conditions: [{ type: 'Enforced', status: 'False', reason: 'NotEnforced', message: 'a', lastTransitionTime: '2026-12-07T12:00:00Z', observedGeneration: 2 }], observedGeneration: 2 };
  t.same(schemaProblems(root, { status }, 'status'), [], 'a status the controller writes is kept');
  const bad = { podSelector: {}, policyTypes: ['Both'], egress: [{ ports: [{ protocol: 'ICMP', port: 80, endPort: 70000 }], to: [{ ipBlock: { except: [] }, podSelector: { labels: {} } }] }] };
  t.same(schemaProblems(root, { spec: bad }, 's'), [
    's.spec.policyTypes[0]: "Both" not in ["Ingress","Egress"]',
    's.spec.egress[0].ports[0].protocol: "ICMP" not in ["TCP","UDP","SCTP"]',
    's.spec.egress[0].ports[0].endPort: above 65535',
    's.spec.egress[0].to[0].ipBlock.cidr: required',
    's.spec.egress[0].to[0].podSelector.labels: not in the schema (pruned)',
  ], 'the checker sees what the schema refuses');
});

t.test('the pod webhook: never blocks, only pod CREATEs that ask for networks, served by the controller over its Service', async (t) => {
  const config = find('MutatingWebhookConfiguration', 'ovn-multinet-interface-discovery');
  const [hook, ...more] = list(config['webhooks']).map((w) => obj(w, 'webhook'));
  if (hook === undefined) throw new Error('no webhook');
  t.same(more, [], 'one webhook');
  t.match(hook, { admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded' });
  t.ok(Number(hook['timeoutSeconds']) > 0 && Number(hook['timeoutSeconds']) <= 10, `a short timeout (${String(hook['timeoutSeconds'])} s)`);
  t.same(list(hook['rules']), [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }], 'pod CREATEs only');

  const deployment = find('Deployment', 'ovn-multinet-controller');
  const controllerNs = String(metaOf(deployment)['namespace']);
  const excluded = list(obj(hook['namespaceSelector'], 'namespaceSelector')['matchExpressions']).map((e) => obj(e, 'expression'));
  t.match(excluded, [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn' }]);
  t.same(strings(excluded[0]?.['values']).sort(), ['kube-system', controllerNs].sort(), 'not kube-system, not the controller\'s namespace');
  const labels = obj(obj(obj(specOf(deployment)['template'], 'template')['metadata'], 'template metadata')['labels'], 'labels');
  const notPods = list(obj(hook['objectSelector'], 'objectSelector')['matchExpressions']).map((e) => obj(e, 'expression'));
  t.ok(notPods.some((e) => e['operator'] === 'NotIn' && strings(e['values']).includes(String(labels[String(e['key'])]))), 'not the controller\'s own pods');

  const [condition] = list(hook['matchConditions']).map((c) => obj(c, 'matchCondition'));
  const matches = compileCel(String(condition?.['expression']));
  const podWith = (annotations: Obj | undefined): Activation => ({ object: { metadata: annotations === undefined ? { name: 'p' } : { name: 'p', annotations } } });
  t.equal(matches(podWith({ 'k8s.v1.cni.cncf.io/networks': 'red' })), true, 'a pod that asks for networks is sent');
  t.equal(matches(podWith({ other: 'x' })), false, 'one with other annotations is not');
  t.equal(matches(podWith(undefined)), false, 'nor one without annotations');

  const service = obj(obj(hook['clientConfig'], 'clientConfig')['service'], 'clientConfig.service');
  t.equal(service['path'], WEBHOOK_PATH, 'the path the controller serves');
  t.equal(service['namespace'], controllerNs);
  const svc = find('Service', String(service['name']));
  t.same(obj(specOf(svc)['selector'], 'selector'), labels, 'the Service selects the controller\'s pods');
  const svcPort = list(specOf(svc)['ports']).map((p) => obj(p, 'port')).find((p) => p['port'] === service['port']);
  const c = container(podSpec(deployment), 'controller');
  const args = strings(c['args']);
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  const containerPort = list(c['ports']).map((p) => obj(p, 'port')).find((p) => p['name'] === svcPort?.['targetPort']);
  t.equal(String(containerPort?.['containerPort']), flag('--webhook-port'), 'the Service reaches --webhook-port by the port\'s name');
  t.equal(flag('--webhook-address'), '$(POD_IP)', 'on the pod IP');

  const mount = list(c['volumeMounts']).map((m) => obj(m, 'mount')).find((m) => m['mountPath'] === flag('--webhook-cert-dir'));
  t.equal(mount?.['readOnly'], true, '--webhook-cert-dir is a read-only mount');
  const volume = list(podSpec(deployment)['volumes']).map((v) => obj(v, 'volume')).find((v) => v['name'] === mount?.['name']);
  const secret = obj(volume?.['secret'], 'webhook secret volume');
  t.equal(secret['optional'], true, 'optional: the controller starts before the Secret exists');
  const injectFrom = String(obj(metaOf(config)['annotations'], 'annotations')['cert-manager.io/inject-ca-from']);
  const certificate = find('Certificate', injectFrom.split('/')[1] ?? '');
  t.equal(injectFrom.split('/')[0], controllerNs, 'the CA injected from the Certificate in the controller\'s namespace');
  t.equal(specOf(certificate)['secretName'], secret['secretName'], 'cert-manager writes the Secret the controller mounts');
  t.ok(strings(specOf(certificate)['dnsNames']).includes(`${String(service['name'])}.${controllerNs}.svc`), 'for the name the API server calls');

  const example = find('Pod', 'discovery-demo');
  t.match(obj(metaOf(example)['annotations'], 'annotations'), { 'k8s.v1.cni.cncf.io/networks': String }, 'the example pod asks for networks');
});
