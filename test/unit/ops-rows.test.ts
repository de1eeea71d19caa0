// What the operator commands build from NB rows, API objects and the daemon's /status, and how
// each prints in the three formats (daemon/ops/): pure functions fed with rows as the NB client's
// cache holds them, malformed ones included (anyone can write the NB).
import t from 'tap';
import { loadYaml } from '@kubernetes/client-node';
import type { OpsPortRow, OpsRouterPortRow, OpsSwitchRow, NbSnapshot } from '../../daemon/ops/nb-snapshot.ts';
import { networkRows, networksTable } from '../../daemon/ops/networks.ts';
import { attachmentRows, attachmentsTable, podFlag } from '../../daemon/ops/attachments.ts';
import { inspectReport, inspectText, toEventInfo } from '../../daemon/ops/inspect.ts';
import { fetchStatus, statusText, statusUrl } from '../../daemon/ops/status.ts';
import { daemonStatus, parseDaemonStatus, type StatusSource } from '../../daemon/metrics/status.ts';
import { listenProbes } from '../../daemon/metrics/http.ts';
import { Registry } from 'prom-client';
import pino from 'pino';
import { renderData } from '../../daemon/ops/output.ts';
import { inPool, parseIpamSettings, poolCapacity } from '../../daemon/ipam/pool.ts';
import { parseSubnet } from '../../daemon/lib/ip.ts';
import { hostVethName } from '../../daemon/cni-spec/names.ts';
import type { LocalLook } from '../../daemon/ops/local.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';

/** Test rows name their uuids. */
const u = (name: string): Uuid => name as unknown as Uuid;

const ids = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));
const sw = (uuid: string, name: string, ports: string[], otherConfig: Record<string, string> = {}, externalIds: Record<string, string> = {}) =>
  ({ _uuid: u(uuid), name, ports: ports.map(u), qos_rules: [], other_config: ids(otherConfig), external_ids: ids(externalIds) }) satisfies OpsSwitchRow;
const port = (uuid: string, name: string, o: { addresses?: string[]; ids?: Record<string, string>; type?: string; options?: Record<string, string>; up?: boolean; dynamic?: string } = {}) =>
  ({ _uuid: u(uuid), name, type: o.type ?? '', addresses: o.addresses ?? [], dynamic_addresses: o.dynamic, port_security: [], options: ids(o.options ?? {}), external_ids: ids(o.ids ?? {}), up: o.up }) satisfies OpsPortRow;
const ours = (node: string, cid: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'ovn-multinet/owner': 'ovn-multinet', 'ovn-multinet/container-id': cid, 'ovn-multinet/ifname': 'net1', 'ovn-multinet/node': node, 'ovn-multinet/network': 'blue', ...extra,
});

/** blue: ours, dual-stack managed-style keys, a router, someone else's port, a reservation, a stale guard, a migration. */
function snapshot(): NbSnapshot {
  const switches = [
    sw('s-blue', 'blue', ['p-a', 'p-b', 'p-router', 'p-other', 'p-mig', 'p-bad'], { subnet: '10.0.0.0/24', exclude_ips: '10.0.0.100..10.0.0.109 10.0.0.105..10.0.0.120' }, {
      'ovn-multinet/subnets': '10.0.0.0/24,fd00::/120',
      'ovn-multinet/ipam-claim:ns/claim': '0a:00:00:00:00:07 10.0.0.7 fd00::7',
      'ovn-multinet/addr:10.0.0.7': 'ipam-claim:ns/claim',
      'ovn-multinet/addr:10.0.0.2': 'port:omn-a',
      'ovn-multinet/addr:10.0.0.50': 'port:omn-gone',
      'ovn-multinet/addr:not-an-ip': 'port:x',
    }),
    sw('s-managed', 'green-sw', [], {}, { 'ovn-multinet/managed-network': 'green' }),
    sw('s-bad', 'bad-settings', ['p-c'], { subnet: 'not a cidr' }),
    sw('s-plain', 'theirs', ['p-theirs']),
  ];
  const ports = [
    port('p-a', 'omn-a', { addresses: ['0a:58:0a:00:00:02 10.0.0.2 fd00::2'], ids: ours('n1', 'cid-a', { 'ovn-multinet/pod-namespace': 'ns', 'ovn-multinet/pod-name': 'a' }), up: true }),
    port('p-b', 'omn-b', { addresses: ['0a:58:0a:00:00:03 10.0.0.3'], ids: ours('n2', 'cid-b', { 'ovn-multinet/pod-namespace': 'ns', 'ovn-multinet/pod-name': 'b' }), up: false }),
    port('p-router', 'rtr', { type: 'router', addresses: ['router'], options: { 'router-port': 'lrp-blue' } }),
    port('p-other', 'admin-port', { addresses: ['dynamic'], dynamic: '0a:00:00:00:00:99 10.0.0.99' }),
    port('p-mig', 'omn-vm', {
      addresses: ['0a:58:0a:00:00:07 10.0.0.7 fd00::7'],
      ids: ours('n1', 'cid-src', { 'ovn-multinet/pod-namespace': 'ns', 'ovn-multinet/pod-name': 'vm-src', 'ovn-multinet/ipam-claim': 'ns/claim', 'ovn-multinet/migration-target/container-id': 'cid-dst', 'ovn-multinet/migration-target/ifname': 'net1', 'ovn-multinet/migration-target/node': 'n2', 'ovn-multinet/migration-target/owner': 'ovn-multinet', 'ovn-multinet/migration-target/pod-namespace': 'ns', 'ovn-multinet/migration-target/pod-name': 'vm-dst' }),
    }),
    port('p-bad', 'omn-bad', { addresses: ['\u001b[31mevil'], ids: ours('n1', '-bad', { 'ovn-multinet/ifname': 'way-too-long-ifname', 'ovn-multinet/pod-namespace': 'Not_A_Label', 'ovn-multinet/pod-name': 'x' }) }),
    port('p-c', 'omn-c', { addresses: ['0a:58:0a:00:00:04 10.9.0.4'], ids: ours('n1', 'cid-c') }),
    port('p-theirs', 'theirs-port', { addresses: ['0a:00:00:00:00:01 192.168.0.1'] }),
  ];
  const routerPorts: OpsRouterPortRow[] = [{ _uuid: u('r1'), name: 'lrp-blue', networks: ['10.0.0.1/24', 'fd00::1/120'] }, { _uuid: u('r2'), name: 'lrp-elsewhere', networks: ['10.0.0.200/24'] }];
  return { switches, ports: new Map(ports.map((p) => [p._uuid, p])), routerPorts };
}

t.test('poolCapacity and inPool count what the allocator may hand out', async (t) => {
  const v4 = parseSubnet('10.0.0.0/24');
  const v6 = parseSubnet('fd00::/120');
  const tiny = parseSubnet('10.1.0.0/31');
  if (v4 === undefined || v6 === undefined || tiny === undefined) throw new Error('subnets');
  const settings = parseIpamSettings(new Map([['subnet', '10.0.0.0/24'], ['exclude_ips', '10.0.0.100..10.0.0.109 10.0.0.105..10.0.0.120 10.0.0.0..10.0.0.3']]), new Map([['ovn-multinet/subnets', 'fd00::/120'], ['ovn-multinet/gateways', 'fd00::1']]));
  // .2 to .254 = 253; .100-.120 (overlapping ranges once) = 21; .2 and .3 excluded = 2.
  t.equal(poolCapacity(v4, settings.excluded), 230n);
  // ::2 to ::ff = 254 (the gateway ::1 is before the pool anyway).
  t.equal(poolCapacity(v6, settings.excluded), 254n);
  t.equal(poolCapacity(tiny, []), 0n, 'a /31 leaves the allocator nothing');
  t.equal(poolCapacity(v4, parseIpamSettings(new Map([['subnet', '10.0.0.0/24'], ['exclude_ips', '10.0.0.9..10.0.0.2']])).excluded), 253n, 'an inverted range excludes nothing');
  t.equal(poolCapacity(parseSubnet('fd00::/64') ?? v6, []), 2n ** 64n - 2n, 'a /64: counted exactly');
  t.same(['10.0.0.1', '10.0.0.3', '10.0.0.4', '10.0.0.110', '10.0.0.254', '10.0.0.255', '10.0.1.1', 'fd00::4'].map((ip) => inPool(v4, settings.excluded, ip)), [false, false, true, false, true, false, false, false]);
});

t.test('networks: used, free and reserved per subnet, ports per node, invalid settings', async (t) => {
  const rows = networkRows(snapshot());
  t.same(rows.map((r) => r.switch), ['bad-settings', 'blue', 'green-sw'], 'managed, or holding ports of ours; sorted');
  const blue = rows.find((r) => r.switch === 'blue');
  t.same(blue, {
    switch: 'blue',
    network: 'blue',
    managed: false,
    invalid: undefined,
    // v4 held: .2 .3 (ours), .1 (the router), .99 (dynamic), .7 (claim), .50 (a stale guard);
    // used counts the pool's (ipam/usage.ts): not .1, the gateway's -> 5; capacity 253 - 21 = 232.
    // v6 held: ::2, ::7 (claim and port), ::1 (router); in the pool: ::2, ::7.
    subnets: [
      { cidr: '10.0.0.0/24', family: 4, capacity: 232n, used: 5, reserved: 1, free: 227n },
      { cidr: 'fd00::/120', family: 6, capacity: 254n, used: 2, reserved: 1, free: 252n },
    ],
    ports: [{ node: 'n1', ports: 3 }, { node: 'n2', ports: 2 }],
  });
  t.match(rows.find((r) => r.switch === 'green-sw'), { network: 'green', managed: true, subnets: [], ports: [] }, 'a managed network without ports');
  t.match(rows.find((r) => r.switch === 'bad-settings'), { invalid: /other_config:subnet "not a cidr" is not an IPv4 CIDR/, subnets: [] }, 'invalid settings: a row that says so');

  const table = networksTable(rows);
  t.match(table, /^SWITCH\s+NETWORK\s+SUBNET\s+USED\s+FREE\s+RESERVED\s+PORTS\n/);
  t.match(table, /^blue\s+blue\s+10\.0\.0\.0\/24\s+5\s+227\s+1\s+n1=3,n2=2$/m);
  t.match(table, /^blue\s+blue\s+fd00::\/120\s+2\s+252\s+1\s+n1=3,n2=2$/m, 'a line per subnet');
  t.match(table, /^bad-settings\s+blue\s+invalid\s+-\s+-\s+-\s+n1=1$/m);
  t.match(table, /\ninvalid addressing settings:\nbad-settings: other_config:subnet/);
  const json = JSON.parse(await renderData('json', { networks: rows })) as { networks: Array<Record<string, unknown>> };
  t.match(json.networks[1], { subnets: [{ capacity: '232', free: '227', used: 5 }], invalid: null });
  t.same(loadYaml(await renderData('yaml', { networks: rows })), json, 'YAML: the same');
});

t.test('attachments: one row per attachment, a migration target its own, malformed rows shown', async (t) => {
  const local: LocalLook = { node: 'n1', ovnInstalled: (name) => name === hostVethName('cid-a', 'net1'), veths: new Set([hostVethName('cid-a', 'net1'), hostVethName('cid-src', 'net1')]) };
  const rows = attachmentRows(snapshot(), {}, local);
  t.equal(rows.length, 6, 'a, b, the migration source and target, the malformed one, c');
  const byCid = new Map(rows.map((r) => [r.containerId, r]));
  t.same(byCid.get('cid-a'), {
    pod: 'ns/a', podUid: undefined, interface: 'net1', containerId: 'cid-a', network: 'blue', switch: 'blue', port: 'omn-a', node: 'n1', role: 'owner',
    addresses: ['10.0.0.2', 'fd00::2'], mac: '0a:58:0a:00:00:02', ipamOnly: false, ipamClaim: undefined, up: true, ovnInstalled: true, veth: true, invalid: [],
  });
  t.match(byCid.get('cid-b'), { node: 'n2', up: false, ovnInstalled: undefined, veth: undefined }, 'another node: not looked at');
  t.match(byCid.get('cid-src'), { role: 'owner', pod: 'ns/vm-src', ipamClaim: 'ns/claim', ovnInstalled: false, veth: true });
  t.match(byCid.get('cid-dst'), { role: 'migration-target', pod: 'ns/vm-dst', node: 'n2', port: 'omn-vm', addresses: ['10.0.0.7', 'fd00::7'] });
  t.same(byCid.get('-bad')?.invalid, [
    'ovn-multinet/container-id "-bad" is not valid',
    'ovn-multinet/ifname "way-too-long-ifname" is not valid',
    'ovn-multinet/pod-namespace "Not_A_Label" is not valid',
    'addresses "\\u001b[31mevil" hold no "MAC IP..." entry',
  ]);
  t.same(attachmentRows(snapshot(), { node: 'n2' }).map((r) => r.containerId).sort(), ['cid-b', 'cid-dst'], '--node: the target on its node');
  t.same(attachmentRows(snapshot(), { network: 'bad-settings' }).map((r) => r.containerId), ['cid-c'], '--network by switch name');
  t.equal(attachmentRows(snapshot(), { network: 'blue' }).length, 6, '--network by network name');
  t.same(attachmentRows(snapshot(), { pod: 'ns/a' }).map((r) => r.port), ['omn-a'], '--pod');

  const table = attachmentsTable(rows);
  t.match(table, /^ns\/a\s+net1\s+blue\s+10\.0\.0\.2,fd00::2\s+0a:58:0a:00:00:02\s+omn-a\s+n1\s+true\s+yes\s+yes\s+-$/m);
  t.match(table, /^ns\/b\s+.*\s+n2\s+false\s+-\s+-\s+-$/m);
  t.notOk(table.includes('\u001b'), 'no escape sequence reaches the terminal');
  t.match(table, /invalid: .*\\u001b\[31mevil/, 'shown escaped');
  const json = JSON.parse(await renderData('json', { attachments: rows })) as { attachments: Array<Record<string, unknown>> };
  t.match(json.attachments.find((r) => r['containerId'] === 'cid-b'), { ovnInstalled: null, veth: null, podUid: null });
  t.same(loadYaml(await renderData('yaml', { attachments: rows })), json);

  t.same(podFlag('ns/name.x'), { namespace: 'ns', name: 'name.x' });
  for (const bad of ['ns', 'ns/', '/name', 'a/b/c', 'NS/x', 'ns/UPPER']) t.throws(() => podFlag(bad), { name: 'FlagError' }, bad);
});

t.test('inspect: annotations, Events of the pod only, the newest Warning as the last error', async (t) => {
  const pod = { namespace: 'ns', name: 'a', uid: 'uid-a' };
  const ev = (o: Record<string, unknown>): Record<string, unknown> => ({ regarding: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' }, type: 'Warning', reason: 'AttachFailed', note: 'm', ...o });
  t.same(toEventInfo(ev({ deprecatedCount: 4, deprecatedLastTimestamp: new Date('2026-01-01T00:00:00Z'), deprecatedSource: { component: 'kubelet' } }), pod), { type: 'Warning', reason: 'AttachFailed', message: 'm', count: 4, last: '2026-01-01T00:00:00.000Z', source: 'kubelet' }, 'an Event written through core v1 (the kubelet\'s)');
  t.match(toEventInfo(ev({ series: { count: 9, lastObservedTime: '2026-01-02T00:00:00Z' }, eventTime: '2025-01-01T00:00:00Z', reportingController: 'ovn-multinet.io/daemon' }), pod), { count: 9, last: '2026-01-02T00:00:00.000Z', source: 'ovn-multinet.io/daemon' }, 'a series');
  t.match(toEventInfo(ev({ deprecatedCount: -1, deprecatedLastTimestamp: 'not a time', reason: 7 }), pod), { count: 1, last: undefined, reason: '' }, 'malformed fields');
  t.equal(toEventInfo(ev({ regarding: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'another' } }), pod), undefined, 'an older pod of the same name');
  t.equal(toEventInfo(ev({ regarding: { kind: 'Node', name: 'a' } }), pod), undefined, 'not the pod');
  t.equal(toEventInfo('junk', pod), undefined);

  const attachments = attachmentRows(snapshot(), { pod: 'ns/a' });
  const events = [
    { type: 'Warning', reason: 'AttachFailed', message: 'code 7', count: 2, last: '2026-01-01T00:00:00.000Z', source: 'ovn-multinet' },
    { type: 'Normal', reason: 'Scheduled', message: 'ok', count: 1, last: '2025-12-31T00:00:00.000Z', source: 'scheduler' },
  ];
  const status = JSON.stringify([{ name: 'ns/blue', ips: ['10.0.0.2'] }]);
  const report = inspectReport('ns/a', attachments, { facts: { uid: 'uid-a', node: 'n1', annotations: new Map([['k8s.v1.cni.cncf.io/networks', 'blue'], ['k8s.v1.cni.cncf.io/network-status', status]]) }, events });
  t.match(report, { pod: 'ns/a', api: true, exists: true, uid: 'uid-a', node: 'n1', networks: 'blue', networkStatus: JSON.parse(status) as unknown, lastError: { reason: 'AttachFailed' } });
  t.same(report.events.map((e) => e.reason), ['Scheduled', 'AttachFailed'], 'oldest first');
  const text = inspectText(report);
  t.match(text, /^Network status:\s+\[\{"name":"ns\/blue","ips":\["10\.0\.0\.2"\]\}\]$/m);
  t.match(text, /^Last error:\s+AttachFailed: code 7$/m);
  t.match(text, /^Events:\nLAST SEEN\s+TYPE\s+REASON\s+COUNT\s+FROM\s+MESSAGE\n/m);
  t.match(inspectReport('ns/a', [], { facts: { uid: 'u', node: undefined, annotations: new Map([['k8s.v1.cni.cncf.io/network-status', '{not json']]) }, events: [] }), { networkStatus: '{not json', lastError: null, node: null }, 'a malformed annotation: as it is');
  const forbidden = inspectReport('ns/a', attachments, { facts: undefined, events: [], eventsError: 'forbidden to list Events in namespace ns' });
  t.match(forbidden, { exists: false, events: [], lastError: null, eventsError: 'forbidden to list Events in namespace ns' });
  t.match(inspectText(forbidden), /^Last error:\s+unknown \(the Events cannot be listed\)$/m);
  t.match(inspectText(forbidden), /^Events: cannot be listed: forbidden to list Events in namespace ns$/m);
  t.equal(report.eventsError, null);
  const noApi = inspectReport('ns/a', attachments, undefined);
  t.match(noApi, { api: false, exists: null, networks: null, events: [] });
  t.match(inspectText(noApi), /^Requested networks:\s+unknown \(no Kubernetes API: --kubeconfig\)$/m);
  t.notMatch(inspectText(noApi), /^Events:/m, 'no Events section without the API');
  const json = JSON.parse(await renderData('json', report)) as Record<string, unknown>;
  t.same(loadYaml(await renderData('yaml', report)), json);
});

t.test('status: what the daemon fills, what the command checks and prints', async (t) => {
  const source: StatusSource = {
    node: 'n1', socket: '/run/ovn-multinet/cni.sock', socketListening: () => true,
    nb: { connected: true, remote: 'tcp:10.0.0.1:6641' }, ovs: { connected: false, remote: 'unix:/x' },
    servedSwitches: () => ['red', 'blue'], load: () => ({ held: 2, waiting: 5 }), limit: 32,
    reconciler: { passes: 4, lastPass: { at: Date.parse('2026-12-07T12:00:00Z'), removed: 1 }, removedTotal: 3, suspects: 0 },
  };
  const status = daemonStatus(source);
  t.same(status, {
    node: 'n1', socket: { path: '/run/ovn-multinet/cni.sock', listening: true },
    databases: { nb: { connected: true, remote: 'tcp:10.0.0.1:6641' }, ovs: { connected: false, remote: null } },
    servedSwitches: ['blue', 'red'], requests: { running: 2, queued: 5, limit: 32 },
    reconciler: { passes: 4, lastPassAt: '2026-12-07T12:00:00.000Z', lastPassRemoved: 1, removedTotal: 3, suspects: 0 },
  });
  t.same(parseDaemonStatus(JSON.parse(JSON.stringify(status))), status, 'read back over HTTP');
  t.equal(parseDaemonStatus({ ...status, requests: { running: -1, queued: 0, limit: 1 } }), undefined, 'a count that is not one');
  t.equal(parseDaemonStatus({ ...status, servedSwitches: [1] }), undefined);
  t.equal(parseDaemonStatus([]), undefined);
  const text = statusText(status);
  t.match(text, /^Northbound:\s+connected to tcp:10\.0\.0\.1:6641$/m);
  t.match(text, /^Open_vSwitch:\s+not connected$/m);
  t.match(text, /^Requests:\s+2 running, 5 queued \(at most 32 at once\)$/m);
  t.match(text, /^Reconciler:\s+4 passes; the last ended at 2026-12-07T12:00:00\.000Z, removing 1$/m);
  t.match(statusText({ ...status, reconciler: { ...status.reconciler, lastPassAt: null } }), /^Reconciler:\s+no pass yet$/m);
  t.same(loadYaml(await renderData('yaml', status)), JSON.parse(await renderData('json', status)));
  t.equal(statusUrl('127.0.0.1', 9479), 'http://127.0.0.1:9479/status');
  t.equal(statusUrl('::1', 1), 'http://[::1]:1/status');

  // The daemon's listener answers it, and the command's fetch reads it back.
  for (const withStatus of [true, false]) {
    const { server, port } = await listenProbes({ address: '127.0.0.1', port: 0, registry: new Registry(), notReady: () => [], log: pino({ level: 'silent' }), ...(withStatus ? { status: () => daemonStatus(source) } : {}) });
    try {
      const res = await fetch(statusUrl('127.0.0.1', port));
      t.equal(res.status, withStatus ? 200 : 404, withStatus ? 'GET /status' : 'no status source: 404');
      if (withStatus) {
        t.match(res.headers.get('content-type'), /^application\/json/);
        t.same(await fetchStatus({ address: '127.0.0.1', port, timeoutMs: 2000 }), status, 'read by the command');
      } else {
        await t.rejects(fetchStatus({ address: '127.0.0.1', port, timeoutMs: 2000 }), { name: 'OpsFailedError', message: /404, the listener there is not an ovn-multinet daemon/ });
      }
    } finally {
      server.close();
    }
  }
});
