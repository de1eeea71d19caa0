// Network objects decide what a pod may reach: label-selector matching (a table, with Kubernetes
// semantics), the Network/Namespace cache and its index by switch through the real client library
// against the fake API server, the pure decision by switch (which Networks cover a switch, which
// admit a namespace, the admin-only settings field by field), and the ADD check in both
// --network-access modes as CNI errors.
import t from 'tap';
import { pino } from 'pino';
import { KubeConfig } from '@kubernetes/client-node';
import { parseLabelSelector, selectorMatches } from '../../daemon/k8s/labels.ts';
import { NetworkCache, checkNetworkAccess, toNetworkInfo, type NetworkInfo, type NetworkSource } from '../../daemon/k8s/networks.ts';
import { checkAccess, firstDifference, notAdmitted, type CoveringNetwork } from '../../daemon/k8s/access.ts';
import { parseConfig } from '../../daemon/netconf/parse.ts';
import { definitionOf } from '../../daemon/k8s/definition.ts';
import { buildCli } from '../../daemon/cli.ts';
import { parseDaemonFlags } from '../../daemon/main.ts';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { LabelSelectorError, NetworkAccessDeniedError, NetworkLookupError, NamespaceNotFoundError, NetworkSpecError } from '../../daemon/errors.ts';
import { rejectsAsCniError } from '../helpers/cni-error.ts';
import { toCniError } from '../../daemon/server/cni-errors.ts';
import { until } from '../helpers/until.ts';

const log = pino({ level: 'silent' });
const signal = () => AbortSignal.timeout(10_000);
const labels = (o: Record<string, string>) => new Map(Object.entries(o));
/** A NAD's config, parsed as the daemon parses it. */
const conf = (extra: Record<string, unknown>) => parseConfig({ cniVersion: '1.0.0', type: 'ovn-multinet', name: 'nad', ...extra });
/** An IPAM-mode config (another plugin execs ovn-multinet as its IPAM). */
const ipamConf = (ipam: Record<string, unknown>) => parseConfig({ cniVersion: '1.0.0', type: 'macvlan', name: 'nad', ipam: { type: 'ovn-multinet', ...ipam } });
/** A Network as the cache keeps it; throws for a spec that covers nothing. */
function network(name: string, spec: Record<string, unknown>): CoveringNetwork {
  const info = toNetworkInfo({ metadata: { name }, spec });
  if (info === undefined || info.grant instanceof NetworkSpecError) throw new Error(`bad Network ${name}`);
  return { name, namespaceSelector: info.namespaceSelector, grant: info.grant };
}

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
  for (const mode of ['strict', 'by-name'] as const) {
    await rejectsAsCniError(t, checkNetworkAccess(cache, mode, { K8S_POD_NAMESPACE: 'ns' }, conf({ name: 'red' }), signal()), { code: 11, message: 'network red: the Kubernetes API server is not reachable' }, mode);
  }
});

t.test('--network-access=by-name: the check before issue 19, keyed on the name, as CNI errors', async (t) => {
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
    covering: async () => {
      throw new Error('by-name never looks a switch up');
    },
    stop: async () => undefined,
  };
  const ns = (namespace: string) => ({ K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: 'p' });
  const check = (args: Record<string, string>, name: string) => checkNetworkAccess(fake, 'by-name', args, conf({ name, logicalSwitch: 'anything' }), signal());
  await check(ns('tenant-a'), 'red');
  t.pass('a selected namespace attaches');
  await check(ns('tenant-b'), 'blue');
  t.pass('no Network object: open');
  await check({}, 'red');
  t.pass('not a pod: no check');
  await rejectsAsCniError(t, check(ns('tenant-b'), 'red'), { code: 7, message: 'network red: namespace tenant-b is not selected by its namespaceSelector', details: /"team":"b"/ });
  await rejectsAsCniError(t, check(ns('tenant-a'), 'closed'), { code: 7, message: /namespace tenant-a is not selected/, details: /no namespaceSelector/ }, 'absent selector: no namespace');
  await rejectsAsCniError(t, check(ns('tenant-a'), 'broken'), { code: 7, message: "network broken: the Network's namespaceSelector is invalid", details: /must be non-empty for In/ });
  await rejectsAsCniError(t, check(ns('gone'), 'red'), { code: 3, message: 'CNI_ARGS: namespace gone does not exist' });
});

t.test('a Network as the daemon reads it: the switch it covers and what it gives', async (t) => {
  t.match(toNetworkInfo({ metadata: { name: 'red' }, spec: { logicalSwitch: 'ls-red', namespaceSelector: {} } })?.grant, { switchName: 'ls-red', definition: undefined, portSecurity: true, dhcp: undefined });
  t.match(toNetworkInfo({ metadata: { name: 'vm' }, spec: { logicalSwitch: 'vm', portSecurity: false, dhcp: { leaseTime: 600 } } })?.grant, { switchName: 'vm', portSecurity: false, dhcp: { leaseTime: 600, guestAddresses: false } }, 'spec.portSecurity and spec.dhcp of the logicalSwitch form');
  t.match(toNetworkInfo({ metadata: { name: 'blue' }, spec: { config: { topology: 'layer2', subnets: ['10.9.0.0/24'] } } })?.grant, { switchName: 'blue', definition: { topology: 'layer2', subnets: ['10.9.0.0/24'], excludeSubnets: [] } }, 'a managed network covers its own name');
  t.match(toNetworkInfo({ metadata: { name: 'm' }, spec: { config: { topology: 'layer2', logicalSwitch: 'sw-m' } } })?.grant, { switchName: 'sw-m' }, 'or its config\'s logicalSwitch');
  const broken = toNetworkInfo({ metadata: { name: 'x' }, spec: { logicalSwitch: 'a', config: { topology: 'layer2' } } });
  t.type(broken?.grant, NetworkSpecError, 'an invalid spec covers nothing');
  t.match(toNetworkInfo({ metadata: { name: 'x' }, spec: { config: { topology: 'layer2' }, portSecurity: false } })?.grant, { field: 'spec.portSecurity' }, 'spec.portSecurity of a managed network goes in spec.config');
});

t.test('the Network cache indexes Networks by the switch they cover, from watch events', async (t) => {
  const api = await startFakeApiServer(t);
  const kubeConfig = loadKubeConfig(api.kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  await api.upsertNetwork({ name: 'red', logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  await api.upsertNetwork({ name: 'red-b', logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'b' } } });
  await api.upsertNetwork({ name: 'blue', config: { topology: 'layer2', subnets: ['10.9.0.0/24'] }, namespaceSelector: {} });
  await api.upsertNetwork({ name: 'both', logicalSwitch: 'red', config: { topology: 'layer2' }, namespaceSelector: {} });
  const cache = new NetworkCache({ kubeConfig, log, waitMs: 500 });
  cache.start();
  t.teardown(() => cache.stop());
  const names = async (sw: string) => (await cache.covering(sw, signal())).map((n) => n.name).sort();

  t.same(await names('red'), ['red', 'red-b'], 'two Networks cover red; the invalid one covers nothing');
  t.same(await names('blue'), ['blue'], 'a managed network covers its switch');
  t.same(await names('green'), [], 'nothing covers green');
  t.equal((await cache.network('both', signal()))?.name, 'both', 'by name, an invalid spec is still a Network');

  await api.upsertNetwork({ name: 'red-b', logicalSwitch: 'green', namespaceSelector: {} });
  await api.upsertNetwork({ name: 'shared', config: { topology: 'layer2', logicalSwitch: 'red' }, namespaceSelector: {} });
  await api.deleteCluster('networks', 'blue');
  await until('the watch events', async () => ((await names('green')).length === 1 && (await names('blue')).length === 0 && (await names('red')).length === 2 ? true : undefined), 5000);
  t.same(await names('red'), ['red', 'shared'], 'a changed spec moves a Network to its new switch');
  t.same(await names('green'), ['red-b']);
  t.same(await names('blue'), [], 'a deleted Network covers nothing');
  const before = (await api.requests()).length;
  for (let i = 0; i < 50; i++) await cache.covering('red', signal());
  t.equal((await api.requests()).length, before, 'look-ups ask the API server nothing');
});

t.test('which Networks admit a namespace', async (t) => {
  const a = labels({ team: 'a' });
  t.equal(notAdmitted(network('n', { logicalSwitch: 's', namespaceSelector: {} }), a), undefined, '{} admits every namespace');
  t.equal(notAdmitted(network('n', { logicalSwitch: 's', namespaceSelector: { matchLabels: { team: 'a' } } }), a), undefined);
  t.match(notAdmitted(network('n', { logicalSwitch: 's', namespaceSelector: { matchLabels: { team: 'b' } } }), a), /does not select/);
  t.match(notAdmitted(network('n', { logicalSwitch: 's' }), a), /no namespaceSelector/, 'absent: none');
  t.match(notAdmitted(network('n', { logicalSwitch: 's', namespaceSelector: { matchExpressions: [{ key: 'k', operator: 'In' }] } }), a), /invalid.*non-empty for In/, 'invalid: none');
});

t.test('the admin-only settings, field by field', async (t) => {
  const layer2 = network('m', { config: { topology: 'layer2', subnets: ['10.9.0.0/24', 'fd00:9::/64'], excludeSubnets: ['10.9.0.0/28'], gateway: '10.9.0.1' } }).grant;
  const localnet = network('phys', { config: { topology: 'localnet', physicalNetworkName: 'physnet', vlanID: 10, subnets: ['10.8.0.0/24'] } }).grant;
  const plain = network('red', { logicalSwitch: 'red' }).grant;
  const open = network('vm', { logicalSwitch: 'vm', portSecurity: false, dhcp: { leaseTime: 600, dnsServers: ['10.0.0.53'] } }).grant;
  const rows: Array<{ name: string; conf: ReturnType<typeof conf>; grant: typeof plain; key?: string; why?: RegExp }> = [
    { name: 'the same definition, written differently (order, CIDR list as a string)', conf: conf({ topology: 'layer2', subnets: 'fd00:9::/64, 10.9.0.0/24', excludeSubnets: ['10.9.0.0/28'], gateway: ['10.9.0.1'] }), grant: layer2 },
    { name: 'no definition: attaches to the switch as it is', conf: conf({ logicalSwitch: 'm' }), grant: layer2 },
    { name: 'another topology', conf: conf({ topology: 'localnet', physicalNetworkName: 'physnet', subnets: ['10.9.0.0/24', 'fd00:9::/64'] }), grant: layer2, key: 'topology', why: /Network has "layer2", this config "localnet"/ },
    { name: 'other subnets', conf: conf({ topology: 'layer2', subnets: ['10.9.0.0/23'] }), grant: layer2, key: 'subnets' },
    { name: 'no excluded subnets', conf: conf({ topology: 'layer2', subnets: ['10.9.0.0/24', 'fd00:9::/64'], gateway: '10.9.0.1' }), grant: layer2, key: 'excludeSubnets', why: /this config \[\]/ },
    { name: 'another gateway', conf: conf({ topology: 'layer2', subnets: ['10.9.0.0/24', 'fd00:9::/64'], excludeSubnets: ['10.9.0.0/28'], gateway: '10.9.0.2' }), grant: layer2, key: 'gateway' },
    { name: 'an invalid definition', conf: conf({ topology: 'layer2', subnets: ['10.9.0.1/24'] }), grant: layer2, key: 'subnets[0]', why: /invalid.*host bits/ },
    { name: 'a definition for a switch exposed as it is', conf: conf({ topology: 'layer2' }), grant: plain, key: 'topology', why: /exposes an existing switch/ },
    { name: 'localnet on another physical network', conf: conf({ topology: 'localnet', physicalNetworkName: 'other', vlanID: 10, subnets: ['10.8.0.0/24'] }), grant: localnet, key: 'physicalNetworkName' },
    { name: 'localnet on another VLAN', conf: conf({ topology: 'localnet', physicalNetworkName: 'physnet', vlanID: 11, subnets: ['10.8.0.0/24'] }), grant: localnet, key: 'vlanID', why: /Network has 10, this config 11/ },
    { name: 'localnet without the VLAN', conf: conf({ topology: 'localnet', physicalNetworkName: 'physnet', subnets: ['10.8.0.0/24'] }), grant: localnet, key: 'vlanID', why: /this config none/ },
    { name: 'portSecurity false where the Network keeps it', conf: conf({ logicalSwitch: 'red', portSecurity: false }), grant: plain, key: 'portSecurity' },
    { name: 'portSecurity true is always allowed', conf: conf({ logicalSwitch: 'vm', portSecurity: true }), grant: open },
    { name: 'portSecurity false where the Network gives it', conf: conf({ logicalSwitch: 'vm', portSecurity: false }), grant: open },
    { name: 'dhcp where the Network gives none', conf: conf({ logicalSwitch: 'red', dhcp: {} }), grant: plain, key: 'dhcp' },
    { name: 'the Network\'s dhcp', conf: conf({ logicalSwitch: 'vm', dhcp: { dnsServers: ['10.0.0.53'], leaseTime: 600 } }), grant: open },
    { name: 'no dhcp on a network that has it', conf: conf({ logicalSwitch: 'vm' }), grant: open },
    { name: 'another dhcp setting', conf: conf({ logicalSwitch: 'vm', dhcp: { leaseTime: 600, dnsServers: ['10.0.0.53'], routerAdvertisements: true } }), grant: open, key: 'dhcp.routerAdvertisements' },
    { name: 'IPAM mode: the definition compared too', conf: ipamConf({ topology: 'layer2', subnets: ['10.9.0.0/24'] }), grant: layer2, key: 'subnets' },
    { name: 'IPAM mode: no port security is not a setting there', conf: ipamConf({ logicalSwitch: 'red' }), grant: plain },
  ];
  for (const row of rows) {
    const got = firstDifference(row.conf, row.grant);
    if (row.key === undefined) t.equal(got, undefined, `${row.name}: given`);
    else t.match(got, { key: row.key, why: row.why ?? /./ }, `${row.name}: ${row.key}`);
  }
});

t.test('strict: the decision, as CNI errors', async (t) => {
  const a = labels({ team: 'a' });
  const tenantA = network('red', { logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  const tenantB = network('red-b', { logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'b' } }, portSecurity: false });
  const check = (c: ReturnType<typeof conf>, covering: CoveringNetwork[], ls = a) => () => checkAccess({ conf: c, namespace: 'tenant-a', labels: ls }, covering);
  t.doesNotThrow(check(conf({ logicalSwitch: 'red' }), [tenantA]), 'admitted, whatever the name');
  t.doesNotThrow(check(conf({ name: 'red-b', logicalSwitch: 'red' }), [tenantA, tenantB]), 'the name does not matter');
  const refused = (fn: () => void, want: Record<string, unknown>, what: string) => {
    try {
      fn();
      t.fail(`${what}: not refused`);
    } catch (err) {
      t.type(err, NetworkAccessDeniedError, what);
      t.match(toCniError(err, 'ADD'), { code: 104 }, `${what}: code 104`);
      t.match(err, want, what);
    }
  };
  refused(check(conf({ logicalSwitch: 'ovn-k-infra' }), []), { field: 'logicalSwitch', message: 'logicalSwitch: no Network admits namespace tenant-a on logical switch "ovn-k-infra"', details: /no Network covers the switch/ }, 'no Network covers the switch');
  refused(check(conf({ logicalSwitch: 'red' }), [tenantB]), { field: 'logicalSwitch', message: /no Network admits namespace tenant-a on logical switch "red"/, details: /Network red-b: its namespaceSelector does not select the namespace; namespace labels: \{"team":"a"\}/ }, "another tenant's switch");
  refused(check(conf({ logicalSwitch: 'red', portSecurity: false }), [tenantA, tenantB]), { field: 'portSecurity', message: 'portSecurity: not given to namespace tenant-a on logical switch "red" by any Network admitting it (only a Network sets it)', details: 'Network red: portSecurity: the Network keeps port security on' }, 'portSecurity false: only red-b gives it, and it does not admit tenant-a');
  t.doesNotThrow(check(conf({ logicalSwitch: 'red', portSecurity: false }), [tenantA, tenantB], labels({ team: 'b' })), 'tenant b gets what red-b gives');
  refused(check(ipamConf({ logicalSwitch: 'red', topology: 'localnet', physicalNetworkName: 'physnet' }), [tenantA]), { field: 'ipam.topology', message: /^ipam\.topology: not given/, details: /Network red: ipam\.topology: it exposes an existing switch/ }, 'IPAM mode names the field in the section');
  refused(check(conf({ topology: 'layer2', logicalSwitch: 'red', subnets: ['10.0.0.0/24'] }), [tenantA, network('m', { config: { topology: 'layer2', logicalSwitch: 'red', subnets: ['10.1.0.0/24'] }, namespaceSelector: {} })]), { field: 'subnets', details: /^Network m: subnets: .*; Network red: topology: / }, 'several admitting Networks: each one\'s first difference; the field of the first by name');
});

t.test('strict: the ADD check reads namespaces only for covered switches', async (t) => {
  const covered = new Map([['red', [network('red', { logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } })]]]);
  const asked: string[] = [];
  const fake: NetworkSource = {
    network: async () => {
      throw new Error('strict never looks a name up');
    },
    covering: async (sw) => covered.get(sw) ?? [],
    namespaceLabels: async (name) => {
      asked.push(name);
      if (name !== 'tenant-a') throw new NamespaceNotFoundError(name);
      return labels({ team: 'a' });
    },
    stop: async () => undefined,
  };
  const ns = (namespace: string) => ({ K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: 'p' });
  const check = (args: Record<string, string>, c: ReturnType<typeof conf>) => checkNetworkAccess(fake, 'strict', args, c, signal());
  await check(ns('tenant-a'), conf({ name: 'anything', logicalSwitch: 'red' }));
  t.pass('admitted');
  await check({}, conf({ logicalSwitch: 'ovn-k-infra', portSecurity: false }));
  t.pass('not a pod (only root on the node): trusted');
  await rejectsAsCniError(t, check(ns('gone'), conf({ logicalSwitch: 'nowhere' })), { code: 104, message: /no Network admits namespace gone/ }, 'nothing covers the switch: refused before any namespace look-up');
  t.same(asked, ['tenant-a']);
  await rejectsAsCniError(t, check(ns('gone'), conf({ logicalSwitch: 'red' })), { code: 3, message: 'CNI_ARGS: namespace gone does not exist' });
});

t.test('--network-access: strict by default, by-name on request, nothing else', async (t) => {
  const parse = async (args: string[]) => {
    const cli = buildCli();
    const daemon = cli.commands.find((c) => c.name() === 'daemon');
    if (daemon === undefined) throw new Error('no daemon command');
    daemon.action(async () => undefined);
    await cli.parseAsync(['node', 'ovn-multinetd', 'daemon', '--nb-db', 'unix:/x', ...args]);
    return parseDaemonFlags(daemon.opts());
  };
  t.equal((await parse([])).networkAccess, 'strict');
  t.equal((await parse(['--network-access', 'by-name'])).networkAccess, 'by-name');
  await t.rejects(parse(['--network-access', 'open']), { name: 'FlagError', message: '--network-access must be one of strict, by-name' });
});

t.test("the controller's NADs pass the strict check by construction", async (t) => {
  const specs: Record<string, Record<string, unknown>> = {
    red: { logicalSwitch: 'ls-red' },
    vm: { logicalSwitch: 'vm', portSecurity: false, allowPersistentIPs: true, dhcp: { leaseTime: 600, dnsServers: ['10.0.0.53'], routerAdvertisements: true } },
    blue: { config: { topology: 'layer2', subnets: ['fd00:9::/64', '10.9.0.0/24'], excludeSubnets: '10.9.0.0/28', gateway: ['fd00:9::1', '10.9.0.1'], mtu: 1300, portSecurity: false, dhcp: {} } },
    phys: { config: { topology: 'localnet', logicalSwitch: 'uplink', physicalNetworkName: 'physnet', vlanID: 7, subnets: ['192.0.2.0/24'] } },
  };
  for (const [name, spec] of Object.entries(specs)) {
    const nad = parseConfig(JSON.parse(definitionOf(name, spec).config) as Record<string, unknown>);
    const own = network(name, { ...spec, namespaceSelector: { matchLabels: { team: 'a' } } });
    t.equal(own.grant.switchName, nad.logicalSwitch, `${name}: the Network covers its NAD's switch`);
    t.doesNotThrow(() => checkAccess({ conf: nad, namespace: 'tenant-a', labels: labels({ team: 'a' }) }, [own]), `${name}: its NAD passes`);
    t.throws(() => checkAccess({ conf: nad, namespace: 'tenant-b', labels: labels({ team: 'b' }) }, [own]), NetworkAccessDeniedError, `${name}: but not in a namespace it does not select`);
  }
});
