// The policy plan (daemon/policy/plan.ts): MultiNetworkPolicies + pods + namespaces + the NB's
// attachments → the port groups, address sets and ACLs that enforce them, and the reports.
import t from 'tap';
import type { LabelSelector } from '../../daemon/k8s/labels.ts';
import { PolicyKeys } from '../../daemon/ovn/ids.ts';
import type {
  NadRef,
  NadTarget,
  PlanInput,
  Policy,
  PolicyAttachment,
  PolicyNamespace,
  PolicyPeer,
  PolicyPlan,
  PolicyPod,
  PolicyPort,
  PolicyRule,
  WantedPortGroup,
} from '../../daemon/policy/model.ts';
import { addressSetName, MAX_PROBLEMS, peerKey, planPolicies, POLICY_PRIORITY, portGroupName, selectorKey } from '../../daemon/policy/plan.ts';

const sel = (labels: Record<string, string> = {}, expressions: LabelSelector['matchExpressions'] = []): LabelSelector => ({
  matchLabels: new Map(Object.entries(labels)),
  matchExpressions: expressions,
});

function policy(name: string, extra: Partial<Policy> = {}): Policy {
  return {
    namespace: 'ns1',
    name,
    uid: `uid-${name}`,
    generation: 1,
    networks: [{ namespace: 'ns1', name: 'blue' }],
    podSelector: sel({ app: 'web' }),
    policyTypes: ['ingress'],
    ingress: [],
    egress: [],
    ...extra,
  };
}

function pod(namespace: string, name: string, labels: Record<string, string> = {}, namedPorts: Record<string, [PolicyPort['protocol'], number]> = {}): PolicyPod {
  return {
    namespace,
    name,
    uid: `uid-${namespace}-${name}`,
    labels: new Map(Object.entries(labels)),
    namedPorts: new Map(Object.entries(namedPorts).map(([k, [protocol, port]]) => [k, { protocol, port }])),
  };
}

function attach(port: string, switchName: string, pods: readonly PolicyPod[], ips: readonly string[], ipamOnly = false): PolicyAttachment {
  return { port, switchName, pods: pods.map((p) => ({ namespace: p.namespace, name: p.name, uid: p.uid })), ips, ipamOnly };
}

const namespace = (name: string, labels: Record<string, string> = {}): PolicyNamespace => ({ name, labels: new Map(Object.entries({ 'kubernetes.io/metadata.name': name, ...labels })) });

/** blue → ls-blue, red → ls-red, in any namespace. */
function targets(ref: NadRef): NadTarget {
  switch (ref.name) {
    case 'blue':
      return { kind: 'switch', switchName: 'ls-blue' };
    case 'red':
      return { kind: 'switch', switchName: 'ls-red' };
    case 'ipam':
      return { kind: 'ipam-mode', switchName: 'ls-ipam' };
    case 'other':
      return { kind: 'not-ours' };
    case 'broken':
      return { kind: 'invalid', why: 'its config does not parse' };
    default:
      return { kind: 'missing' };
  }
}

function input(policies: Policy[], pods: PolicyPod[], attachments: PolicyAttachment[], namespaces: PolicyNamespace[] = [namespace('ns1'), namespace('ns2')]): PlanInput {
  return { policies, pods, namespaces, attachments, nadTarget: targets };
}

function onlyGroup(plan: PolicyPlan): WantedPortGroup {
  const [pg, ...rest] = plan.portGroups.values();
  if (pg === undefined || rest.length > 0) throw new Error(`${plan.portGroups.size} port groups, not one`);
  return pg;
}

function aclMatch(pg: WantedPortGroup, key: string): string | undefined {
  return pg.acls.find((a) => a.key === key)?.match;
}

const web1 = pod('ns1', 'web1', { app: 'web' }, { http: ['TCP', 8080] });
const web2 = pod('ns1', 'web2', { app: 'web' }, { http: ['TCP', 9090] });
const db1 = pod('ns1', 'db1', { app: 'db' }, { http: ['TCP', 8080], dns: ['UDP', 53] });
const other = pod('ns2', 'web3', { app: 'web' });

t.test('an ingress policy: its port group, default deny, always allowed, stateful', async (t) => {
  const plan = planPolicies(input([policy('p')], [web1, web2, db1, other], [
    attach('lsp-web1', 'ls-blue', [web1], ['10.0.0.1']),
    attach('lsp-web2', 'ls-blue', [web2], ['10.0.0.2', 'fd00::2']),
    attach('lsp-db1', 'ls-blue', [db1], ['10.0.0.3']),
    attach('lsp-web3', 'ls-blue', [other], ['10.0.0.4']),
    attach('lsp-web1-red', 'ls-red', [web1], ['10.1.0.1']),
  ]));
  const pg = onlyGroup(plan);
  const name = portGroupName('ns1', 'p', 'ls-blue');
  t.match(name, /^omn_pg_[0-9a-f]{16}$/);
  t.equal(pg.name, name);
  t.same(pg.ports, ['lsp-web1', 'lsp-web2'], 'the selected pods of the policy namespace, that switch only');
  t.same([...pg.externalIds], [[PolicyKeys.policy, 'ns1/p'], [PolicyKeys.switchName, 'ls-blue']]);
  t.same(pg.acls, [
    {
      key: 'always-in', direction: 'to-lport', priority: POLICY_PRIORITY.always, action: 'allow',
      match: `outport == @${name} && (nd || nd_rs || nd_ra)`,
    },
    { key: 'ingress-deny', direction: 'to-lport', priority: POLICY_PRIORITY.deny, action: 'drop', match: `outport == @${name} && ip` },
    { key: 'stateful', direction: 'to-lport', priority: POLICY_PRIORITY.stateful, action: 'allow-related', match: `outport == @${name} && ip4 && ip6` },
  ], 'no rules: deny all ingress; sorted by key');
  t.same(POLICY_PRIORITY, { stateful: 2000, deny: 2001, allow: 2002, always: 2003 });
  t.equal(plan.addressSets.size, 0);
  t.same(plan.reports, [{ namespace: 'ns1', name: 'p', uid: 'uid-p', generation: 1, enforced: true, problems: [] }]);
});

t.test('egress only: deny and always allowed from the pods, no ingress ACLs', async (t) => {
  const pg = onlyGroup(planPolicies(input([policy('p', { policyTypes: ['egress'], egress: [{ peers: 'any', ports: 'any' }] })], [web1], [attach('l1', 'ls-blue', [web1], ['10.0.0.1'])])));
  const g = `@${pg.name}`;
  t.same(pg.acls.map((a) => [a.key, a.direction, a.priority, a.action]), [
    ['always-out', 'from-lport', 2003, 'allow'],
    ['egress-0', 'from-lport', 2002, 'allow-related'],
    ['egress-deny', 'from-lport', 2001, 'drop'],
    ['stateful', 'to-lport', 2000, 'allow-related'],
  ]);
  t.equal(aclMatch(pg, 'always-out'), `inport == ${g} && (nd || nd_rs || nd_ra || (udp.src == 68 && udp.dst == 67) || (udp.src == 546 && udp.dst == 547))`);
  t.equal(aclMatch(pg, 'egress-deny'), `inport == ${g} && ip`);
  t.equal(aclMatch(pg, 'egress-0'), `inport == ${g} && ip`, 'any peer, any port: both clauses omitted');
});

t.test('pods are matched through identity and uid; a live migration selects by either pod', async (t) => {
  const recreated = { ...web1, uid: 'uid-new' };
  const noUid: PolicyAttachment = { port: 'l-nouid', switchName: 'ls-blue', pods: [{ namespace: 'ns1', name: 'web2', uid: '' }], ips: ['10.0.0.2'], ipamOnly: false };
  const vmSource = pod('ns1', 'virt-launcher-a', { app: 'db' });
  const vmTarget = pod('ns1', 'virt-launcher-b', { app: 'web' });
  const migrating = attach('l-vm', 'ls-blue', [vmSource, vmTarget], ['10.0.0.9']);
  const plan = planPolicies(input(
    [policy('p', { ingress: [{ peers: [{ kind: 'pods', podSelector: sel({ app: 'db' }) }], ports: 'any' }] })],
    [recreated, web2, vmSource, vmTarget],
    [attach('l-old', 'ls-blue', [web1], ['10.0.0.1']), noUid, migrating, attach('l-ghost', 'ls-blue', [pod('ns1', 'gone', { app: 'web' })], ['10.0.0.7'])],
  ));
  const pg = onlyGroup(plan);
  t.same(pg.ports, ['l-nouid', 'l-vm'], 'old uid: not the new pod\'s port; no uid recorded: by name; a migration target that matches; a pod not in the cache: nobody');
  const key = peerKey({ kind: 'pods', podSelector: sel({ app: 'db' }) }, 'ns1');
  t.same(plan.addressSets.get(addressSetName(key, 'ls-blue', 4))?.addresses, ['10.0.0.9'], 'the migration source matches the peer: its port\'s IPs are in the set');
});

t.test('selector peers: one address set per family, that switch\'s addresses, shared by policies', async (t) => {
  const a = pod('ns1', 'a', { role: 'client' });
  const b = pod('ns2', 'b', { role: 'client' });
  const c = pod('ns2', 'c', { role: 'server' });
  const podsPeer: PolicyPeer = { kind: 'pods', podSelector: sel({ role: 'client' }) };
  const nsPeer: PolicyPeer = { kind: 'namespaces', namespaceSelector: sel({ team: 'x' }) };
  const bothPeer: PolicyPeer = { kind: 'pods-in-namespaces', namespaceSelector: sel({ team: 'x' }), podSelector: sel({ role: 'client' }) };
  const rules = (peers: PolicyPeer[]): PolicyRule[] => peers.map((p) => ({ peers: [p], ports: 'any' }));
  const plan = planPolicies(input(
    [
      policy('p1', { ingress: rules([podsPeer, nsPeer, bothPeer]) }),
      // The same peers in another policy of the same namespace, on the same switch: shared sets.
      policy('p2', { podSelector: sel(), ingress: rules([podsPeer, { kind: 'namespaces', namespaceSelector: sel({ team: 'x' }) }]) }),
      // The same pod selector in another namespace: another peer.
      policy('p3', { namespace: 'ns2', podSelector: sel(), ingress: rules([podsPeer]) }),
    ],
    [web1, a, b, c],
    [
      attach('l-web1', 'ls-blue', [web1], ['10.0.0.1']),
      attach('l-a', 'ls-blue', [a], ['10.0.0.20', 'fd00::20']),
      attach('l-b', 'ls-blue', [b], ['10.0.0.11', 'fd00::11']),
      attach('l-c', 'ls-blue', [c], ['10.0.0.12']),
      attach('l-a-red', 'ls-red', [a], ['10.9.0.1']),
    ],
    [namespace('ns1'), namespace('ns2', { team: 'x' })],
  ));
  const sets = (peer: PolicyPeer & { kind: 'pods' | 'namespaces' | 'pods-in-namespaces' }, ns: string) => {
    const key = peerKey(peer, ns);
    const v4 = plan.addressSets.get(addressSetName(key, 'ls-blue', 4));
    const v6 = plan.addressSets.get(addressSetName(key, 'ls-blue', 6));
    return { key, v4: v4?.addresses, v6: v6?.addresses, ids: v4 === undefined ? undefined : [...v4.externalIds] };
  };
  t.same(sets(podsPeer, 'ns1'), { key: 'pods ns=ns1 {role=client}', v4: ['10.0.0.20'], v6: ['fd00::20'], ids: [[PolicyKeys.peer, 'pods ns=ns1 {role=client}'], [PolicyKeys.switchName, 'ls-blue']] });
  t.same(sets(podsPeer, 'ns2'), { key: 'pods ns=ns2 {role=client}', v4: ['10.0.0.11'], v6: ['fd00::11'], ids: [[PolicyKeys.peer, 'pods ns=ns2 {role=client}'], [PolicyKeys.switchName, 'ls-blue']] });
  t.same(sets(nsPeer, 'ns1').v4, ['10.0.0.11', '10.0.0.12'], 'namespaceSelector alone: every pod of the matching namespaces');
  t.same(sets(nsPeer, 'ns1').v6, ['fd00::11']);
  t.same(sets(bothPeer, 'ns1').v4, ['10.0.0.11'], 'both: the pods matching in the namespaces matching');
  t.equal(plan.addressSets.size, 8, 'four peers, two families each: p2 shares p1\'s');
  for (const set of plan.addressSets.values()) t.match(set.name, /^omn_as_[0-9a-f]{16}_v[46]$/);
  const p1 = [...plan.portGroups.values()].find((pg) => pg.externalIds.get(PolicyKeys.policy) === 'ns1/p1');
  const v4 = addressSetName(sets(podsPeer, 'ns1').key, 'ls-blue', 4);
  const v6 = addressSetName(sets(podsPeer, 'ns1').key, 'ls-blue', 6);
  t.equal(p1 && aclMatch(p1, 'ingress-0'), `outport == @${p1?.name ?? ''} && ip && (ip4.src == $${v4} || ip6.src == $${v6})`);
});

t.test('a peer that selects nothing still has its ACL and (empty) sets', async (t) => {
  const plan = planPolicies(input([policy('p', { ingress: [{ peers: [{ kind: 'pods', podSelector: sel({ app: 'nobody' }) }], ports: 'any' }] })], [web1], [attach('l', 'ls-blue', [web1], ['10.0.0.1'])]));
  const pg = onlyGroup(plan);
  t.ok(aclMatch(pg, 'ingress-0')?.includes('ip4.src == $omn_as_'));
  t.same([...plan.addressSets.values()].map((s) => s.addresses), [[], []]);
});

t.test('selector keys are canonical', async (t) => {
  const a = sel({ b: '2', a: '1' }, [{ key: 'x', operator: 'In', values: ['z', 'y', 'z'] }, { key: 'w', operator: 'DoesNotExist', values: [] }]);
  const b = sel({ a: '1', b: '2' }, [{ key: 'w', operator: 'DoesNotExist', values: [] }, { key: 'x', operator: 'In', values: ['y', 'z'] }]);
  t.equal(selectorKey(a), selectorKey(b));
  t.equal(selectorKey(a), '{!w,a=1,b=2,x in (y,z)}');
  t.equal(selectorKey(sel({}, [{ key: 'k', operator: 'NotIn', values: ['v'] }, { key: 'e', operator: 'Exists', values: [] }])), '{e,k notin (v)}');
  t.equal(selectorKey(sel()), '{}');
  t.equal(peerKey({ kind: 'pods-in-namespaces', namespaceSelector: sel({ t: 'x' }), podSelector: sel() }, 'ns1'), 'pods-in-namespaces {t=x} {}');
});

t.test('ipBlock peers inline, several peers ORed', async (t) => {
  const pg = onlyGroup(planPolicies(input([policy('p', {
    policyTypes: ['ingress', 'egress'],
    ingress: [{ peers: [{ kind: 'ipBlock', ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }, { kind: 'ipBlock', ipBlock: { cidr: 'fd00::/64', except: [] } }], ports: 'any' }],
    egress: [{ peers: [{ kind: 'ipBlock', ipBlock: { cidr: '192.168.0.0/24', except: [] } }], ports: 'any' }],
  })], [web1], [attach('l', 'ls-blue', [web1], ['10.0.0.1'])])));
  t.equal(aclMatch(pg, 'ingress-0'), `outport == @${pg.name} && ip && ((ip4.src == 10.0.0.0/16 && !(ip4.src == 10.0.1.0/24)) || ip6.src == fd00::/64)`);
  t.equal(aclMatch(pg, 'egress-0'), `inport == @${pg.name} && ip && ip4.dst == 192.168.0.0/24`);
});

t.test('ports: numeric, ranges, protocol alone, named', async (t) => {
  const tcp80: PolicyPort = { protocol: 'TCP', port: 80, endPort: undefined };
  const range: PolicyPort = { protocol: 'UDP', port: 1000, endPort: 2000 };
  const sctp: PolicyPort = { protocol: 'SCTP', port: undefined, endPort: undefined };
  const http: PolicyPort = { protocol: 'TCP', port: 'http', endPort: undefined };
  const dns: PolicyPort = { protocol: 'UDP', port: 'dns', endPort: undefined };
  const dnsAsTcp: PolicyPort = { protocol: 'TCP', port: 'dns', endPort: undefined };
  const nobody: PolicyPort = { protocol: 'TCP', port: 'nope', endPort: undefined };
  const web4 = pod('ns1', 'web4', { app: 'web' }, { http: ['TCP', 8080] });
  const plan = planPolicies(input([policy('p', {
    policyTypes: ['ingress', 'egress'],
    ingress: [
      { peers: 'any', ports: [tcp80, range, sctp] },
      { peers: 'any', ports: [http] },
      { peers: 'any', ports: [nobody] },
      { peers: 'any', ports: [tcp80, nobody] },
    ],
    egress: [
      { peers: [{ kind: 'pods', podSelector: sel({ app: 'db' }) }], ports: [http, dns, dnsAsTcp] },
      { peers: 'any', ports: [http] },
      { peers: [{ kind: 'pods', podSelector: sel({ app: 'db' }) }], ports: [nobody] },
    ],
  })], [web1, web2, web4, db1], [
    attach('lsp-web1', 'ls-blue', [web1], ['10.0.0.1']),
    attach('lsp-web2', 'ls-blue', [web2], ['10.0.0.2']),
    attach('lsp-web4', 'ls-blue', [web4], ['10.0.0.4', 'fd00::4']),
    attach('lsp-db1', 'ls-blue', [db1], ['10.0.0.3', 'fd00::3']),
  ]));
  const pg = onlyGroup(plan);
  const out = `outport == @${pg.name} && ip`;
  const inp = `inport == @${pg.name} && ip`;
  t.equal(aclMatch(pg, 'ingress-0'), `${out} && (tcp.dst == 80 || (udp.dst >= 1000 && udp.dst <= 2000) || sctp)`);
  t.equal(aclMatch(pg, 'ingress-1'), `${out} && ((outport == {"lsp-web1", "lsp-web4"} && tcp.dst == 8080) || (outport == "lsp-web2" && tcp.dst == 9090))`, 'named: resolved against the selected pods, grouped by number');
  t.equal(aclMatch(pg, 'ingress-2'), `${out} && 0`, 'a name nobody has: matches nothing, still an ACL');
  t.equal(aclMatch(pg, 'ingress-3'), `${out} && tcp.dst == 80`);
  t.match(aclMatch(pg, 'egress-0'), new RegExp(`^${inp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} && \\(ip4\\.dst == \\$omn_as_[0-9a-f]{16}_v4 \\|\\| ip6\\.dst == \\$omn_as_[0-9a-f]{16}_v6\\) && `));
  t.ok(aclMatch(pg, 'egress-0')?.endsWith(' && (((ip4.dst == 10.0.0.3 || ip6.dst == fd00::3) && tcp.dst == 8080) || ((ip4.dst == 10.0.0.3 || ip6.dst == fd00::3) && udp.dst == 53))'),
    'egress named: resolved against the peer pods\' addresses, protocol checked (dns is UDP only)');
  t.equal(aclMatch(pg, 'egress-1'), `${inp} && (((ip4.dst == {10.0.0.1, 10.0.0.3, 10.0.0.4} || ip6.dst == {fd00::3, fd00::4}) && tcp.dst == 8080) || (ip4.dst == 10.0.0.2 && tcp.dst == 9090))`,
    'any peer: every pod on the switch');
  t.ok(aclMatch(pg, 'egress-2')?.endsWith(' && 0'));
});

t.test('what a policy cannot enforce is reported, sorted and bounded', async (t) => {
  const p = policy('p', {
    networks: [
      { namespace: 'ns1', name: 'blue' },
      { namespace: 'ns1', name: 'ipam' },
      { namespace: 'ns1', name: 'gone' },
      { namespace: 'ns1', name: 'broken' },
      { namespace: 'ns1', name: 'other' },
      { namespace: 'ns2', name: 'blue' },
    ],
  });
  const plan = planPolicies(input([p], [web1, web2], [
    attach('l-ipam', 'ls-blue', [web1], ['10.0.0.1'], true),
    attach('l-noaddr', 'ls-blue', [web2], []),
  ]));
  const pg = onlyGroup(plan);
  t.same(pg.ports, ['l-noaddr'], 'a port without addresses is in the group (deny and ipBlock apply), an IPAM-mode record is not; two names of one switch: one group');
  t.same(plan.reports[0]?.problems, [
    'network ns1/broken: its config does not parse',
    'network ns1/gone: no such NetworkAttachmentDefinition',
    'network ns1/ipam: IPAM-mode attachments are not enforced: their traffic never crosses OVN',
    'port l-ipam of pod ns1/web1 on network ns1/blue is in IPAM mode: its traffic never crosses OVN',
    'port l-noaddr of pod ns1/web2 on network ns1/blue has no addresses: only ipBlock peers apply',
  ]);
  t.equal(plan.reports[0]?.enforced, false);

  const notOurs = planPolicies(input([policy('q', { networks: [{ namespace: 'ns1', name: 'other' }] })], [], []));
  t.same(notOurs.reports, [], 'another plugin\'s network only: left alone, no report (its status is another implementation\'s)');
  const mixed = planPolicies(input([policy('m', { networks: [{ namespace: 'ns1', name: 'other' }, { namespace: 'ns1', name: 'blue' }] })], [], []));
  t.same(mixed.reports.map((r) => [r.name, r.enforced]), [['m', true]], 'one of ours among others: reported');
  t.equal(notOurs.portGroups.size, 0);

  const many = Array.from({ length: MAX_PROBLEMS + 5 }, (_, i) => pod('ns1', `w${String(i).padStart(2, '0')}`, { app: 'web' }));
  const bounded = planPolicies(input([policy('p')], many, many.map((m) => attach(`l-${m.name}`, 'ls-blue', [m], []))));
  const problems = bounded.reports[0]?.problems ?? [];
  t.equal(problems.length, MAX_PROBLEMS + 1);
  t.equal(problems.at(-1), 'and 5 more');
  t.match(problems[0], /^port l-w00 of pod ns1\/w00/);
});

t.test('deterministic: input order does not change the plan', async (t) => {
  const peers: PolicyPeer[] = [{ kind: 'pods', podSelector: sel({ app: 'db' }) }, { kind: 'namespaces', namespaceSelector: sel() }];
  const policies = [
    policy('a', { policyTypes: ['ingress', 'egress'], ingress: [{ peers, ports: 'any' }], egress: [{ peers, ports: [{ protocol: 'TCP', port: 'http', endPort: undefined }] }] }),
    policy('b', { networks: [{ namespace: 'ns1', name: 'red' }, { namespace: 'ns1', name: 'blue' }], ingress: [{ peers, ports: 'any' }] }),
  ];
  const pods = [web1, web2, db1, other];
  const attachments = [
    attach('l1', 'ls-blue', [web1], ['10.0.0.1', 'fd00::1']),
    attach('l2', 'ls-blue', [web2], ['10.0.0.2']),
    attach('l3', 'ls-blue', [db1], ['10.0.0.3']),
    attach('l4', 'ls-red', [web1], ['10.1.0.4']),
    attach('l5', 'ls-red', [other], ['10.1.0.5']),
  ];
  const one = planPolicies(input(policies, pods, attachments));
  const two = planPolicies(input([...policies].reverse(), [...pods].reverse(), [...attachments].reverse(), [namespace('ns2'), namespace('ns1')]));
  t.same(one, two);
  t.same([...two.portGroups.keys()], [...two.portGroups.keys()].sort());
  t.same([...two.addressSets.keys()], [...two.addressSets.keys()].sort());
  t.same(two.reports.map((r) => r.name), ['a', 'b']);
});

t.test('costs: 100 policies × 1,000 pods, rows grow with policies and selected ports, address sets shared', async (t) => {
  const namespaces = Array.from({ length: 10 }, (_, i) => namespace(`ns${i}`, { team: i % 2 === 0 ? 'even' : 'odd' }));
  const pods = Array.from({ length: 1000 }, (_, i) => pod(`ns${i % 10}`, `pod${i}`, { app: `app${i % 20}`, tier: i % 3 === 0 ? 'front' : 'back' }, { http: ['TCP', 8000 + (i % 4)] }));
  const attachments = pods.map((p, i) => attach(`lsp${i}`, 'ls-blue', [p], [`10.${Math.floor(i / 250)}.${i % 250}.1`]));
  // 100 policies: 10 per namespace, each selecting one app; all share one namespace peer, and
  // the 10 policies of a namespace share the pod peer of their namespace.
  const policies = Array.from({ length: 100 }, (_, i) => policy(`p${i}`, {
    namespace: `ns${i % 10}`,
    podSelector: sel({ app: `app${i % 20}` }),
    policyTypes: ['ingress', 'egress'],
    ingress: [
      { peers: [{ kind: 'pods', podSelector: sel({ tier: 'front' }) }, { kind: 'namespaces', namespaceSelector: sel({ team: 'even' }) }], ports: [{ protocol: 'TCP', port: 'http', endPort: undefined }] },
    ],
    egress: [{ peers: [{ kind: 'ipBlock', ipBlock: { cidr: '10.0.0.0/8', except: [] } }], ports: [{ protocol: 'UDP', port: 53, endPort: undefined }] }],
    networks: [{ namespace: `ns${i % 10}`, name: 'blue' }],
  }));
  const plan = planPolicies(input(policies, pods, attachments, namespaces));
  t.equal(plan.portGroups.size, 100, 'one port group per policy and switch');
  const selectedPorts = [...plan.portGroups.values()].reduce((n, pg) => n + pg.ports.length, 0);
  t.equal(selectedPorts, 100 * 50, 'each policy holds the 50 ports of its namespace and app, nothing else');
  t.equal(plan.addressSets.size, 2 * (10 + 1), 'one pod peer per namespace and one shared namespace peer, two families each: not one per policy');
  t.equal([...plan.portGroups.values()].reduce((n, pg) => n + pg.acls.length, 0), 100 * 7, 'seven ACLs a policy: stateful, two denies, two always, two rules');
  t.ok(plan.reports.every((r) => r.enforced), 'every policy enforced');
});
