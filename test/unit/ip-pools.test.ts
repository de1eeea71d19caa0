// IP pools (issue 23 item 2), the pure parts: an IPPool object narrowed (every bad field named),
// which pools of a switch are accepted, which pool serves a pod, the carving of the switch's
// settings for the allocator and for static requests (pool.ts allocating and refusing inside it),
// the status the controller writes, and the daemon's cache of pools (fake API server).
import t from 'tap';
import { carve, judgePools, parseAddressRange, poolOnlySettings } from '../../daemon/ipam/ip-pools.ts';
import { allocateAddress, neverHandedOut, parseIpamSettings, poolCapacity } from '../../daemon/ipam/pool.ts';
import { pino } from 'pino';
import { IpPoolCache, poolFor, toIpPool, type IpPool, type IpPoolSource } from '../../daemon/k8s/ippools.ts';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';
import { poolStatuses } from '../../daemon/controller/ippool-plan.ts';

const settings = parseIpamSettings(new Map([['subnet', '10.1.0.0/24']]), new Map([['ovn-multinet/subnets', 'fd00:1::/120']]));

function pool(name: string, spec: Record<string, unknown>): IpPool {
  const parsed = toIpPool({ metadata: { name }, spec: { network: 'red', ...spec } });
  if (parsed === undefined || !parsed.valid) throw new Error(`invalid pool ${name}: ${JSON.stringify(parsed)}`);
  return parsed.pool;
}

t.test('ranges: CIDR, a-b, one address; anything else undefined', async (t) => {
  t.match(parseAddressRange('10.1.0.64/26'), { family: 4, from: 0x0a010040n, to: 0x0a01007fn });
  t.match(parseAddressRange('10.1.0.5-10.1.0.9'), { family: 4, from: 0x0a010005n, to: 0x0a010009n });
  t.match(parseAddressRange('fd00:1::10'), { family: 6, from: 0xfd000001000000000000000000000010n, to: 0xfd000001000000000000000000000010n });
  for (const bad of ['10.1.0.65/26', '10.1.0.9-10.1.0.5', '10.1.0.1-fd00::1', '10.1.0.1-10.1.0.2-10.1.0.3', 'ten', '']) t.equal(parseAddressRange(bad), undefined, bad);
});

t.test('an IPPool object: each bad field named', async (t) => {
  const rows: Array<[Record<string, unknown>, string]> = [
    [{ ranges: ['10.1.0.0/28'], namespaceSelector: {} }, 'spec.network'],
    [{ network: 'red', namespaceSelector: {} }, 'spec.ranges'],
    [{ network: 'red', ranges: ['10.1.0.0/28', 'x'], namespaceSelector: {} }, 'spec.ranges[1]'],
    [{ network: 'red', ranges: ['10.1.0.0/28'] }, 'spec'],
    [{ network: 'red', ranges: ['10.1.0.0/28'], reserved: 'yes' }, 'spec.reserved'],
    [{ network: 'red', ranges: ['10.1.0.0/28'], reserved: true, podSelector: {} }, 'spec.podSelector'],
    [{ network: 'red', ranges: ['10.1.0.0/28'], namespaceSelector: { matchLabels: { a: 1 } } }, 'spec.namespaceSelector'],
    [{ network: 'red', ranges: ['10.1.0.0/28'], podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }, 'spec.podSelector'],
  ];
  for (const [spec, field] of rows) {
    const parsed = toIpPool({ metadata: { name: 'p' }, spec });
    t.match(parsed, { valid: false, name: 'p', field }, JSON.stringify(spec));
    if (parsed !== undefined && !parsed.valid) t.ok(parsed.message.startsWith(field === 'spec' ? 'spec: ' : field), parsed.message);
  }
  t.equal(toIpPool({ metadata: {} }), undefined, 'no name: not an object to report on');
  t.match(toIpPool({ metadata: { name: 'r' }, spec: { network: 'red', ranges: ['10.1.0.2-10.1.0.9'], reserved: true } }), { valid: true, pool: { reserved: true } });
});

t.test('which pools are accepted: inside the subnets, reserved first, then by name without overlap', async (t) => {
  const verdicts = judgePools(
    [
      pool('b-late', { ranges: ['10.1.0.32/28'], namespaceSelector: {} }),
      pool('a-early', { ranges: ['10.1.0.40-10.1.0.50'], namespaceSelector: {} }),
      pool('z-reserved', { ranges: ['10.1.0.2-10.1.0.9'], reserved: true }),
      pool('c-on-reserved', { ranges: ['fd00:1::10/124', '10.1.0.8/29'], namespaceSelector: {} }),
      pool('d-outside', { ranges: ['10.2.0.0/28'], namespaceSelector: {} }),
      pool('e-reserved-too', { ranges: ['10.1.0.5'], reserved: true }),
    ],
    settings.subnets,
  );
  t.same(verdicts.get('a-early'), { accepted: true });
  t.match(verdicts.get('b-late'), { accepted: false, reason: 'Overlaps', field: 'spec.ranges[0]', message: /IPPool a-early \(10\.1\.0\.40-10\.1\.0\.50\)/ });
  t.match(verdicts.get('c-on-reserved'), { accepted: false, reason: 'Overlaps', field: 'spec.ranges[1]', message: /reserved IPPool z-reserved/ });
  t.match(verdicts.get('d-outside'), { accepted: false, reason: 'RangeOutsideSubnets', field: 'spec.ranges[0]', message: /10\.1\.0\.0\/24, fd00:1::\/120/ });
  t.same(verdicts.get('z-reserved'), { accepted: true }, 'reserved pools may overlap each other');
  t.same(verdicts.get('e-reserved-too'), { accepted: true });
});

t.test('which pool serves a pod: every selector it has, the most specific first, then by name', async (t) => {
  const ns = new Map([['team', 'a']]);
  const pods = new Map([['app', 'db']]);
  const byNamespace = pool('n', { ranges: ['10.1.0.16/28'], namespaceSelector: { matchLabels: { team: 'a' } } });
  const byNamespaceToo = pool('m', { ranges: ['10.1.0.32/28'], namespaceSelector: { matchLabels: { team: 'a' } } });
  const byPod = pool('p', { ranges: ['10.1.0.48/28'], podSelector: { matchLabels: { app: 'db' } } });
  const byBoth = pool('z', { ranges: ['10.1.0.64/28'], namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchLabels: { app: 'db' } } });
  t.equal(poolFor([byNamespace, byNamespaceToo], ns, pods)?.name, 'm', 'equal specificity: by name');
  t.equal(poolFor([byNamespace, byPod], ns, pods)?.name, 'p', 'podSelector beats namespaceSelector');
  t.equal(poolFor([byNamespace, byPod, byBoth], ns, pods)?.name, 'z', 'both beat one');
  t.equal(poolFor([byBoth], ns, new Map())?.name, undefined, 'both must select');
  t.equal(poolFor([byNamespace, byPod], new Map([['team', 'b']]), new Map()), undefined, 'no pool serves another pod');
});

t.test('carving: the pool for its pods, the rest for the others, reserved for nobody', async (t) => {
  const mine = pool('mine', { ranges: ['10.1.0.16/30'], namespaceSelector: {} });
  const other = pool('other', { ranges: ['10.1.0.20-10.1.0.30', 'fd00:1::/121'], namespaceSelector: {} });
  const reserved = pool('kept', { ranges: ['10.1.0.2-10.1.0.9'], reserved: true });
  const accepted = [mine, other, reserved];
  const v4 = settings.subnets[0];
  const v6 = settings.subnets[1];
  if (v4 === undefined || v6 === undefined) throw new Error('subnets');

  const served = carve(settings, accepted, mine);
  t.equal(poolCapacity(v4, served.allocation.excluded), 4n, 'the pool: 10.1.0.16-19');
  const taken = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const ip = allocateAddress(v4, served.allocation.excluded, { inUse: taken });
    t.ok(ip !== undefined && /^10\.1\.0\.(16|17|18|19)$/.test(ip), `${ip ?? 'none'} in the pool`);
    if (ip !== undefined) taken.add(ip);
  }
  t.equal(allocateAddress(v4, served.allocation.excluded, { inUse: taken }), undefined, 'exhausted: no address outside it');
  t.equal(poolCapacity(v6, served.allocation.excluded), 128n, 'a family the pool has no range of: the general range (fd00:1::80-ff; other\'s ::0-7f out)');
  t.equal(neverHandedOut(served.statics, '10.1.0.100'), undefined, 'a static request outside the pool but in the general range passes');
  t.match(neverHandedOut(served.statics, '10.1.0.21'), /in IPPool other \(10\.1\.0\.20-10\.1\.0\.30\), which does not serve this pod/);
  t.match(neverHandedOut(served.statics, '10.1.0.5'), /reserved by IPPool kept/);

  const general = carve(settings, accepted, undefined);
  t.equal(allocateAddress(v4, general.allocation.excluded, { inUse: new Set() }), '10.1.0.10', 'the lowest free: after the reserved range');
  t.equal(poolCapacity(v4, general.allocation.excluded), 253n - 8n - 4n - 11n, 'the subnet less every pool');
  t.match(neverHandedOut(general.statics, '10.1.0.17'), /IPPool mine/);
  t.same(carve(settings, [], undefined).allocation, settings, 'no pools: the switch settings');
});

t.test('status: conditions naming the field, usage per family, exhaustion', async (t) => {
  const parsed = [
    toIpPool({ metadata: { name: 'mine' }, spec: { network: 'red', ranges: ['10.1.0.16/30'], namespaceSelector: {} } }),
    toIpPool({ metadata: { name: 'nope' }, spec: { network: 'red', ranges: ['10.1.0.18-10.1.0.40'], namespaceSelector: {} } }),
    toIpPool({ metadata: { name: 'lost' }, spec: { network: 'gone', ranges: ['10.1.0.64/30'], namespaceSelector: {} } }),
    toIpPool({ metadata: { name: 'bad' }, spec: { network: 'red', ranges: [] } }),
  ].filter((p) => p !== undefined);
  const used = ['10.1.0.16', '10.1.0.17', '10.1.0.18', '10.1.0.19', '10.1.0.100'];
  const statuses = poolStatuses(parsed, (network) =>
    network === 'red' ? { kind: 'found', switchName: 'red', settings, used, reserved: [] } : { kind: 'refused', reason: 'NetworkNotFound', message: `Network ${network} does not exist` },
  );
  t.match(statuses.get('mine'), {
    usage: [{ family: 'IPv4', capacity: 4, used: 4 }],
    conditions: [{ type: 'Accepted', status: 'True' }, { type: 'Ready', status: 'False', reason: 'Exhausted', message: /IPv4 \(4 of 4 used\)/ }],
  });
  t.match(statuses.get('nope')?.conditions, [{ type: 'Accepted', status: 'False', reason: 'Overlaps', message: /^spec\.ranges\[0\]: .*IPPool mine/ }, { type: 'Ready', reason: 'NotAccepted' }]);
  t.match(statuses.get('lost')?.conditions, [{ reason: 'NetworkNotFound', message: /^spec\.network: Network gone does not exist/ }]);
  t.match(statuses.get('bad')?.conditions, [{ reason: 'InvalidSpec', message: /^spec\.ranges: / }]);
  const six = poolOnlySettings(settings, pool('six', { ranges: ['fd00:1::/121'], namespaceSelector: {} }));
  t.same(six.subnets.map((s) => s.cidr), ['fd00:1::/120'], 'usage rows only for the families the pool has');
});

t.test("the daemon's pool cache: indexed by Network from watch events, invalid pools left out", async (t) => {
  const api = await startFakeApiServer(t);
  const kubeConfig = loadKubeConfig(api.kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  const signal = (): AbortSignal => AbortSignal.timeout(5000);
  const names = async (networks: string[]): Promise<string[]> => (await cache.poolsOf(networks, signal())).map((p) => p.name).sort();
  await api.apply('ippools', { metadata: { name: 'p1' }, spec: { network: 'red', ranges: ['10.1.0.16/28'], namespaceSelector: {} } });
  await api.apply('ippools', { metadata: { name: 'broken' }, spec: { network: 'red', ranges: ['nope'], namespaceSelector: {} } });
  const cache = new IpPoolCache({ kubeConfig, log: pino({ level: 'silent' }), waitMs: 500 }) satisfies IpPoolSource;
  cache.start();
  t.teardown(() => cache.stop());
  t.same(await names(['red']), ['p1'], 'waits for the first list; an invalid pool is not served');
  await api.apply('ippools', { metadata: { name: 'p2' }, spec: { network: 'blue', ranges: ['10.2.0.16/28'], reserved: true } });
  await api.apply('ippools', { metadata: { name: 'p1' }, spec: { network: 'blue', ranges: ['10.2.0.32/28'], namespaceSelector: {} } });
  await until('the watch events', async () => ((await names(['blue'])).length === 2 ? true : undefined));
  t.same(await names(['red']), [], 'a pool moved to another Network leaves the old one');
  t.same(await names(['red', 'blue']), ['p1', 'p2']);
  await api.remove('ippools', undefined, 'p2');
  await until('the delete', async () => ((await names(['blue'])).length === 1 ? true : undefined));
  t.same(await names(['blue']), ['p1']);
});
