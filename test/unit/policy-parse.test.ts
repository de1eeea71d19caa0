// MultiNetworkPolicy objects → Policy (daemon/policy/parse.ts): what the API server accepts for a
// NetworkPolicy, normalised; everything else a PolicySpecError naming the field. Also what a NAD
// named by policy-for is (daemon/policy/nad-target.ts), a pod as policies see it
// (controller/policy-caches.ts toPolicyPod) and the condition a report asks for (policy-status.ts).
import t, { type Test } from 'tap';
import { PolicySpecError } from '../../daemon/errors.ts';
import { parsePolicy, parsePolicyFor, POLICY_FOR_ANNOTATION } from '../../daemon/policy/parse.ts';
import { nadTargetOf } from '../../daemon/policy/nad-target.ts';
import { toPolicyPod } from '../../daemon/controller/policy-caches.ts';
import { enforcedCondition } from '../../daemon/controller/policy-status.ts';

function object(spec: unknown, policyFor: string | null = 'blue'): unknown {
  const annotations = policyFor === null ? {} : { [POLICY_FOR_ANNOTATION]: policyFor };
  return { apiVersion: 'k8s.cni.cncf.io/v1beta1', kind: 'MultiNetworkPolicy', metadata: { namespace: 'ns1', name: 'p', uid: 'u1', generation: 4, annotations }, spec };
}

/** The PolicySpecError message parsing `spec` gives (fails the test when it parses). */
function refusal(t: Test, spec: unknown, policyFor?: string): string {
  try {
    parsePolicy(object(spec, policyFor));
  } catch (err) {
    t.ok(err instanceof PolicySpecError, 'a PolicySpecError');
    return (err as Error).message;
  }
  t.fail(`parsed: ${JSON.stringify(spec)}`);
  return '';
}

t.test('a full policy, normalised', async (t) => {
  const policy = parsePolicy(object({
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{
      from: [
        { podSelector: { matchLabels: { role: 'client' } } },
        { namespaceSelector: { matchLabels: { tenant: 'a' } } },
        { podSelector: {}, namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } },
        { ipBlock: { cidr: '10.0.0.5/16', except: ['10.0.1.0/24'] } },
        { ipBlock: { cidr: 'fd00::/64', except: ['fd00::/96'] } },
      ],
      ports: [{ port: 5432 }, { protocol: 'UDP', port: 1000, endPort: 1010 }, { protocol: 'SCTP', port: 'diameter' }, { port: '8080' }, { protocol: 'TCP' }],
    }],
    egress: [{}],
  }, 'blue, other/red,blue'));
  t.same(policy.networks, [{ namespace: 'ns1', name: 'blue' }, { namespace: 'other', name: 'red' }], 'a bare name in the policy\'s namespace; duplicates dropped; spaces trimmed');
  t.same([policy.namespace, policy.name, policy.uid, policy.generation], ['ns1', 'p', 'u1', 4]);
  t.same(policy.policyTypes, ['egress', 'ingress'], 'egress rules written: both directions');
  const rule = policy.ingress[0];
  if (rule === undefined || rule.peers === 'any' || rule.ports === 'any') throw new Error('rule missing');
  t.same(rule.peers.map((p) => p.kind), ['pods', 'namespaces', 'pods-in-namespaces', 'ipBlock', 'ipBlock']);
  t.same(rule.peers[3], { kind: 'ipBlock', ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }, 'host bits cleared');
  t.same(rule.ports, [
    { protocol: 'TCP', port: 5432, endPort: undefined },
    { protocol: 'UDP', port: 1000, endPort: 1010 },
    { protocol: 'SCTP', port: 'diameter', endPort: undefined },
    { protocol: 'TCP', port: 8080, endPort: undefined },
    { protocol: 'TCP', port: undefined, endPort: undefined },
  ], 'protocol TCP by default; "8080" is a number');
  t.same(policy.egress, [{ peers: 'any', ports: 'any' }], 'an empty rule allows everything');
});

t.test('policyTypes as NetworkPolicy defaults them', async (t) => {
  t.same(parsePolicy(object({ podSelector: {} })).policyTypes, ['ingress'], 'Ingress always');
  t.same(parsePolicy(object({ podSelector: {}, policyTypes: ['Egress'] })).policyTypes, ['egress'], 'as written');
  t.same(parsePolicy(object({ podSelector: {}, policyTypes: [] })).policyTypes, ['ingress'], 'empty: as absent');
  t.same(parsePolicy(object({ podSelector: {} }, null)).networks, [], 'no policy-for: no network (left alone)');
});

t.test('every bad field named', async (t) => {
  const cases: Array<[string, unknown, RegExp, string?]> = [
    ['no podSelector', {}, /^spec\.podSelector: required/],
    ['bad selector', { podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }, /^spec\.podSelector\.matchExpressions\[0\]\.operator/],
    ['bad policyType', { podSelector: {}, policyTypes: ['Both'] }, /^spec\.policyTypes\[0\]: must be Ingress or Egress/],
    ['empty peer', { podSelector: {}, ingress: [{ from: [{}] }] }, /^spec\.ingress\[0\]\.from\[0\]: must set one of/],
    ['ipBlock with a selector', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, /^spec\.ingress\[0\]\.from\[0\]: ipBlock cannot be combined/],
    ['not a CIDR', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0' } }] }] }, /^spec\.egress\[0\]\.to\[0\]\.ipBlock\.cidr: "10\.0\.0\.0" is not a CIDR/],
    ['except outside', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] }, /ipBlock\.except\[0\]: 10\.1\.0\.0\/24 must be strictly within/],
    ['except equal', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }] }] }, /ipBlock\.except\[0\]: .* must be strictly within/],
    ['except other family', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['fd00::/64'] } }] }] }, /ipBlock\.except\[0\]: fd00::\/64 is not of the family/],
    ['bad protocol', { podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP' }] }] }, /^spec\.ingress\[0\]\.ports\[0\]\.protocol: must be one of TCP, UDP, SCTP/],
    ['port 0', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] }, /^spec\.ingress\[0\]\.ports\[0\]\.port: must be a port number 1-65535/],
    ['port 65536', { podSelector: {}, ingress: [{ ports: [{ port: '65536' }] }] }, /ports\[0\]\.port: must be a port number/],
    ['bad port name', { podSelector: {}, ingress: [{ ports: [{ port: 'Web--1' }] }] }, /ports\[0\]\.port: "Web--1" is not a port name/],
    ['endPort below port', { podSelector: {}, ingress: [{ ports: [{ port: 100, endPort: 99 }] }] }, /ports\[0\]\.endPort: must not be less than port 100/],
    ['endPort with a named port', { podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 99 }] }] }, /ports\[0\]\.endPort: needs a numeric port/],
    ['ingress not a list', { podSelector: {}, ingress: {} }, /^spec\.ingress: must be a list/],
    ['policy-for with two slashes', { podSelector: {} }, /policy-for\]: "a\/b\/c": must be/, 'a/b/c'],
    ['policy-for bad namespace', { podSelector: {} }, /policy-for\]: "Bad_NS\/x": "Bad_NS" is not a namespace name/, 'Bad_NS/x'],
    ['policy-for bad name', { podSelector: {} }, /policy-for\]: "ns\/": "" is not a NetworkAttachmentDefinition name/, 'ns/'],
  ];
  for (const [what, spec, expected, policyFor] of cases) t.match(refusal(t, spec, policyFor), expected, what);
  t.throws(() => parsePolicy({ metadata: { name: 'x' }, spec: {} }), /metadata: namespace, name and uid are required/);
  t.throws(() => parsePolicy(object(undefined)), /^spec: required/);
  t.same(parsePolicyFor(' , ', 'ns'), [], 'only separators: nothing');
});

t.test('what a NAD is for policies', async (t) => {
  const json = (v: unknown): string => JSON.stringify(v);
  t.same(nadTargetOf(json({ cniVersion: '1.0.0', name: 'blue', type: 'ovn-multinet' })), { kind: 'switch', switchName: 'blue' }, 'the switch defaults to the name');
  t.same(nadTargetOf(json({ cniVersion: '1.0.0', name: 'blue', type: 'ovn-multinet', logicalSwitch: 'ls-blue' })), { kind: 'switch', switchName: 'ls-blue' });
  t.same(nadTargetOf(json({ cniVersion: '1.0.0', name: 'c', plugins: [{ type: 'tuning' }, { type: 'ovn-multinet', logicalSwitch: 'ls-c' }] })), { kind: 'switch', switchName: 'ls-c' }, 'a conflist: its ovn-multinet entry');
  t.same(nadTargetOf(json({ cniVersion: '1.0.0', name: 'm', type: 'macvlan', master: 'eth0', ipam: { type: 'ovn-multinet', logicalSwitch: 'ls-m' } })), { kind: 'ipam-mode', switchName: 'ls-m' }, 'IPAM mode');
  t.same(nadTargetOf(json({ cniVersion: '1.0.0', name: 'b', type: 'bridge' })), { kind: 'not-ours' }, 'another plugin');
  t.same(nadTargetOf(undefined), { kind: 'not-ours' }, 'no config');
  const refused = nadTargetOf(json({ cniVersion: '1.0.0', name: 'x', type: 'ovn-multinet', mtu: 'big' }));
  t.equal(refused.kind, 'invalid');
  t.match(refused.kind === 'invalid' ? refused.why : '', /mtu/, 'the refusal names the field');
  t.equal(nadTargetOf('{').kind, 'invalid', 'not JSON');
});

t.test('a pod as policies see it', async (t) => {
  const pod = (extra: Record<string, unknown> = {}): unknown => ({
    metadata: { namespace: 'ns', name: 'a', uid: 'u', labels: { app: 'web', n: 1 } },
    spec: { containers: [{ ports: [{ name: 'http', containerPort: 80 }, { containerPort: 81 }] }, { ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }] },
    ...extra,
  });
  const narrowed = toPolicyPod(pod());
  t.same(narrowed && [...narrowed.labels], [['app', 'web']], 'string labels only');
  t.same(narrowed && [...narrowed.namedPorts], [['http', { protocol: 'TCP', port: 80 }], ['dns', { protocol: 'UDP', port: 53 }]], 'named ports; the first container naming one wins');
  t.equal(toPolicyPod(pod({ status: { phase: 'Succeeded' } })), undefined, 'a finished pod holds no port');
  t.equal(toPolicyPod({ metadata: { name: 'x' } }), undefined, 'malformed');
});

t.test('the condition a report asks for', async (t) => {
  const base = { namespace: 'ns', name: 'p', uid: 'u', generation: 1 };
  t.same(enforcedCondition({ ...base, enforced: true, problems: [] }), { type: 'Enforced', status: 'True', reason: 'Enforced', message: 'enforced on every network it names' });
  t.same(enforcedCondition({ ...base, enforced: false, problems: ['network ns/a: no such NetworkAttachmentDefinition', 'x'] }), {
    type: 'Enforced',
    status: 'False',
    reason: 'NotEnforced',
    message: 'network ns/a: no such NetworkAttachmentDefinition; x',
  });
});
