// The policy plan's rows through OVN's own parser and pipeline: a plan of every shape (each peer
// kind, ipBlock with except in both families, numeric, ranged, protocol-only and named ports on
// ingress and egress, a name nobody has, an empty peer, a live migration) is written into a real
// NB; ovn-northd turns it into logical flows; ovn-trace parses every logical flow of the SB (and
// warns "parsing expression failed" for any it cannot) and then traces packets through the
// switch, so the verdicts the policy means are checked on OVN's own pipeline.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import t from 'tap';
import { execa } from 'execa';
import type { LabelSelector } from '../../daemon/k8s/labels.ts';
import type { PolicyAttachment, PolicyNamespace, PolicyPlan, PolicyPod, PolicyPort, PolicyProtocol } from '../../daemon/policy/model.ts';
import { planPolicies } from '../../daemon/policy/plan.ts';
import { NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';

const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
const SWITCH = 'ls-blue';
/** A switch whose only policy denies all ingress: no allow-related rule but the `stateful` ACL. */
const DENY_SWITCH = 'ls-red';

const sel = (labels: Record<string, string> = {}): LabelSelector => ({ matchLabels: new Map(Object.entries(labels)), matchExpressions: [] });
const tcp = (port: number | string, endPort?: number): PolicyPort => ({ protocol: 'TCP', port, endPort });

interface Host {
  switchName: string;
  pod: PolicyPod;
  port: string;
  mac: string;
  ips: string[];
}

function host(i: number, namespace: string, name: string, labels: Record<string, string>, ips: string[], namedPorts: Record<string, [PolicyProtocol, number]> = {}, switchName = SWITCH): Host {
  return {
    switchName,
    pod: {
      namespace,
      name,
      uid: `uid-${name}`,
      labels: new Map(Object.entries(labels)),
      namedPorts: new Map(Object.entries(namedPorts).map(([k, [protocol, port]]) => [k, { protocol, port }])),
    },
    port: `lsp-${name}`,
    mac: `0a:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
    ips,
  };
}

const web = host(1, 'ns1', 'web', { app: 'web' }, ['10.0.0.1', 'fd00::1'], { http: ['TCP', 8080] });
const db = host(3, 'ns1', 'db', { app: 'db' }, ['10.0.0.3', 'fd00::3'], { http: ['TCP', 9090], dns: ['UDP', 53] });
const ext = host(5, 'ns2', 'ext', { app: 'client' }, ['10.0.0.5']);
const vmSource = host(7, 'ns1', 'virt-a', { app: 'vm' }, ['10.0.0.7']);
const vmTarget = host(7, 'ns1', 'virt-b', { app: 'vm' }, ['10.0.0.7']);
const solo = host(9, 'ns1', 'solo', { app: 'solo' }, ['10.1.0.9'], {}, DENY_SWITCH);
const outside = host(10, 'ns2', 'outside', {}, ['10.1.0.10'], {}, DENY_SWITCH);
const hosts = [web, db, ext, solo, outside];

const attachments: PolicyAttachment[] = [
  ...hosts.map((h) => ({ port: h.port, switchName: h.switchName, pods: [{ namespace: h.pod.namespace, name: h.pod.name, uid: h.pod.uid }], ips: h.ips, ipamOnly: false })),
  { port: 'lsp-vm', switchName: SWITCH, pods: [vmSource, vmTarget].map((h) => ({ namespace: h.pod.namespace, name: h.pod.name, uid: h.pod.uid })), ips: vmSource.ips, ipamOnly: false },
];
const namespaces: PolicyNamespace[] = [{ name: 'ns1', labels: new Map() }, { name: 'ns2', labels: new Map([['team', 'x']]) }];

function plan(): PolicyPlan {
  return planPolicies({
    policies: [
      {
        namespace: 'ns1', name: 'web', uid: 'u1', generation: 1,
        networks: [{ namespace: 'ns1', name: 'blue' }],
        podSelector: sel({ app: 'web' }),
        policyTypes: ['ingress', 'egress'],
        ingress: [
          { peers: [{ kind: 'pods', podSelector: sel({ app: 'db' }) }], ports: [tcp('http')] },
          { peers: [{ kind: 'ipBlock', ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.5/32'] } }], ports: [{ protocol: 'UDP', port: 1000, endPort: 2000 }, { protocol: 'SCTP', port: undefined, endPort: undefined }] },
        ],
        egress: [
          { peers: [{ kind: 'namespaces', namespaceSelector: sel({ team: 'x' }) }], ports: [tcp(443)] },
          { peers: [{ kind: 'ipBlock', ipBlock: { cidr: 'fd00::/64', except: ['fd00::5/128'] } }], ports: 'any' },
        ],
      },
      {
        // Every other shape, for the parser: egress named ports (resolved on peers and on 'any'),
        // a name nobody has, pods-in-namespaces, a peer selecting nothing, a live migration.
        namespace: 'ns1', name: 'vm', uid: 'u2', generation: 1,
        networks: [{ namespace: 'ns1', name: 'blue' }],
        podSelector: sel({ app: 'vm' }),
        policyTypes: ['ingress', 'egress'],
        ingress: [
          { peers: [{ kind: 'pods-in-namespaces', namespaceSelector: sel({ team: 'x' }), podSelector: sel({ app: 'client' }) }, { kind: 'pods', podSelector: sel({ app: 'nobody' }) }], ports: [tcp('nope'), tcp(22)] },
          { peers: 'any', ports: [tcp('nope')] },
          { peers: [{ kind: 'namespaces', namespaceSelector: sel() }], ports: [tcp(8000, 8100)] },
        ],
        egress: [
          { peers: [{ kind: 'pods', podSelector: sel({ app: 'db' }) }], ports: [tcp('http'), { protocol: 'UDP', port: 'dns', endPort: undefined }] },
          { peers: 'any', ports: [tcp('http')] },
        ],
      },
      {
        namespace: 'ns1', name: 'deny', uid: 'u3', generation: 1,
        networks: [{ namespace: 'ns1', name: 'red' }],
        podSelector: sel({ app: 'solo' }),
        policyTypes: ['ingress'],
        ingress: [],
        egress: [],
      },
    ],
    pods: [...hosts, vmSource, vmTarget].map((h) => h.pod),
    namespaces,
    attachments,
    nadTarget: (ref) => ({ kind: 'switch', switchName: ref.name === 'red' ? DENY_SWITCH : SWITCH }),
  });
}

/** The plan as one ovn-nbctl transaction (a test may use the command line; the controller writes OVSDB itself). */
function nbctlArgs(p: PolicyPlan): string[] {
  const args = ['ls-add', SWITCH, '--', 'ls-add', DENY_SWITCH];
  for (const h of [...hosts, { switchName: SWITCH, port: 'lsp-vm', mac: vmSource.mac, ips: vmSource.ips }]) {
    args.push('--', 'lsp-add', h.switchName, h.port, '--', 'lsp-set-addresses', h.port, [h.mac, ...h.ips].join(' '));
  }
  for (const set of p.addressSets.values()) {
    args.push('--', 'create', 'Address_Set', `name=${set.name}`, `addresses=[${set.addresses.map((a) => JSON.stringify(a)).join(',')}]`);
  }
  for (const pg of p.portGroups.values()) {
    args.push('--', 'pg-add', pg.name, ...pg.ports);
    for (const acl of pg.acls) args.push('--', '--type=port-group', 'acl-add', pg.name, acl.direction, String(acl.priority), acl.match, acl.action);
  }
  return args;
}

t.test('the plan\'s matches parse, and OVN enforces what the policy means', async (t) => {
  const nb = await startOvsdbServer(t, NB_SCHEMA);
  const sb = await startOvsdbServer(t, SB_SCHEMA);
  const northdLog = join(nb.dir, 'northd.log');
  const northd = spawn('ovn-northd', [
    `--ovnnb-db=${nb.server.unixRemote}`, `--ovnsb-db=${sb.server.unixRemote}`,
    `--unixctl=${join(nb.dir, 'northd.ctl')}`, `--log-file=${northdLog}`, '-vconsole:off',
  ], { stdio: 'ignore' });
  t.teardown(async () => {
    if (northd.exitCode !== null || northd.signalCode !== null) return;
    const exited = once(northd, 'exit');
    northd.kill('SIGTERM');
    await exited;
  });

  const p = plan();
  t.same(p.reports.map((r) => r.problems), [[], [], []], 'nothing to report');
  const nbctl = (args: readonly string[]) => execa('ovn-nbctl', [`--db=${nb.server.unixRemote}`, '--timeout=30', ...args]);
  await nbctl(nbctlArgs(p));
  await nbctl(['--wait=sb', 'sync']);

  const acls = [...p.portGroups.values()].flatMap((pg) => pg.acls.map((acl) => acl.match));
  const flows = (await execa('ovn-sbctl', [`--db=${sb.server.unixRemote}`, '--bare', '--columns=match', 'list', 'Logical_Flow'])).stdout;
  t.same([...new Set(acls)].filter((match) => !flows.includes(`(${match})`)), [], 'northd made logical flows of every ACL');

  /** ct: the connection-tracking state ovn-trace gives both ct_next of the path (ingress and egress pipelines). */
  const trace = async (from: Host, to: Host, family: 4 | 6, l4: string, ct = 'new,trk'): Promise<{ delivered: boolean; stderr: string }> => {
    const src = from.ips.find((ip) => ip.includes(':') === (family === 6));
    const dst = to.ips.find((ip) => ip.includes(':') === (family === 6));
    if (src === undefined || dst === undefined) throw new Error(`no IPv${family} address`);
    const flow = `inport == "${from.port}" && eth.src == ${from.mac} && eth.dst == ${to.mac} && ip${family}.src == ${src} && ip${family}.dst == ${dst} && ip.ttl == 64 && ${l4}`;
    const { stdout, stderr } = await execa('ovn-trace', [`--db=${sb.server.unixRemote}`, `--ct=${ct}`, `--ct=${ct}`, from.switchName, flow]);
    return { delivered: stdout.includes(`output to "${to.port}"`), stderr };
  };

  const first = await trace(db, web, 4, 'tcp.dst == 8080');
  t.notMatch(first.stderr, /parsing expression failed|error/i, 'ovn-trace parsed every logical flow', { stderr: first.stderr });

  const cases: [string, Host, Host, 4 | 6, string, boolean][] = [
    ['pod peer to the named port', db, web, 4, 'tcp.dst == 8080', true],
    ['pod peer over IPv6 (its address set for v6)', db, web, 6, 'tcp.dst == 8080', true],
    ['pod peer to another port', db, web, 4, 'tcp.dst == 80', false],
    ['not a pod peer, in the ipBlock\'s except', ext, web, 4, 'tcp.dst == 8080', false],
    ['ipBlock peer, in the UDP range', db, web, 4, 'udp.dst == 1500', true],
    ['ipBlock peer, past the range\'s end', db, web, 4, 'udp.dst == 2001', false],
    ['the ipBlock\'s except, in the range', ext, web, 4, 'udp.dst == 1500', false],
    ['ipBlock peer, SCTP (any port)', db, web, 4, 'sctp.dst == 7', true],
    ['egress to a namespace peer on 443', web, ext, 4, 'tcp.dst == 443', true],
    ['egress to a namespace peer on 444', web, ext, 4, 'tcp.dst == 444', false],
    ['egress to a pod outside the namespace peer', web, db, 4, 'tcp.dst == 443', false],
    ['egress to the IPv6 ipBlock', web, db, 6, 'tcp.dst == 22', true],
    ['unselected pods: no policy', ext, db, 4, 'tcp.dst == 1', true],
  ];
  for (const [what, from, to, family, l4, delivered] of cases) {
    const result = await trace(from, to, family, l4);
    t.equal(result.delivered, delivered, `${what}: ${delivered ? 'delivered' : 'dropped'}`);
  }
  // Stateful: the reply to a connection the selected pod opened passes its ingress deny.
  t.equal((await trace(ext, web, 4, 'tcp.src == 80 && tcp.dst == 40000', 'est,rpl,trk')).delivered, true, 'a reply to the selected pod\'s own connection: delivered');
  t.equal((await trace(ext, web, 4, 'tcp.src == 80 && tcp.dst == 40000')).delivered, false, 'the same packet opening a connection: dropped');
  // Where the only policy denies (no allow-related rule), the `stateful` ACL alone makes the switch
  // send IP to conntrack, so replies to the pod's own connections still pass (ovn-kubernetes #5667).
  t.equal((await trace(outside, solo, 4, 'tcp.src == 80 && tcp.dst == 40000', 'est,rpl,trk')).delivered, true, 'deny-all ingress: a reply to the pod\'s own connection is delivered');
  t.equal((await trace(outside, solo, 4, 'tcp.dst == 80')).delivered, false, 'deny-all ingress: a new connection to the pod is dropped');
  t.equal((await trace(solo, outside, 4, 'tcp.dst == 80')).delivered, true, 'egress not restricted');
  // DHCP into a selected pod: OVN's own server's reply passes (northd's flows for it), another
  // pod's packets to the pod's DHCP client port do not.
  t.equal((await trace(outside, solo, 4, 'udp.src == 67 && udp.dst == 68')).delivered, false, 'deny-all ingress: another pod\'s UDP 67 to 68 is dropped');
  await nbctl(['dhcp-options-create', '10.1.0.0/24']);
  const dhcp = (await nbctl(['--bare', '--columns=_uuid', 'find', 'DHCP_Options', 'cidr="10.1.0.0/24"'])).stdout.trim();
  await nbctl(['dhcp-options-set-options', dhcp, 'server_id=10.1.0.254', 'server_mac=0a:00:00:00:00:fe', 'lease_time=3600', 'router=10.1.0.1']);
  await nbctl(['lsp-set-dhcpv4-options', solo.port, dhcp]);
  await nbctl(['--wait=sb', 'sync']);
  const discover = `inport == "${solo.port}" && eth.src == ${solo.mac} && eth.dst == ff:ff:ff:ff:ff:ff && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && ip.ttl == 64 && udp.src == 68 && udp.dst == 67`;
  const answered = (await execa('ovn-trace', [`--db=${sb.server.unixRemote}`, '--ct=new,trk', DENY_SWITCH, discover])).stdout;
  t.match(answered, /put_dhcp_opts/, 'the discover reaches OVN\'s DHCP stage');
  t.match(answered, new RegExp(`output to "${solo.port}"`), 'deny-all ingress: OVN\'s own DHCP reply is delivered to the pod');
});
