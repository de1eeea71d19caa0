import t from 'tap';
import { allocateAddress, neverHandedOut, parseIpamSettings, randomMac, subnetOf, type IpamSettings } from '../../daemon/ipam/pool.ts';
import { macForIpv4, macRefusal } from '../../daemon/lib/ip.ts';
import { parsePortAddresses } from '../../daemon/ovn/entries.ts';
import { IpamKeys } from '../../daemon/ovn/ids.ts';
import { bigIntToIp, ipToBigInt, parseSubnet } from '../../daemon/lib/ip.ts';
import { IpamConfigError } from '../../daemon/errors.ts';

const settings = (cfg: Record<string, string>, ids: Record<string, string> = {}) => parseIpamSettings(new Map(Object.entries(cfg)), new Map(Object.entries(ids)));
/** One address from the settings' first subnet. */
const allocate = (s: IpamSettings, options: Parameters<typeof allocateAddress>[2]) => (s.subnets[0] === undefined ? undefined : allocateAddress(s.subnets[0], s.excluded, options));

t.test('lowest free address, skipping network, gateway and exclusions', (tt) => {
  const s = settings({ subnet: '10.1.0.0/24', exclude_ips: '10.1.0.2 10.1.0.4..10.1.0.6' });
  tt.equal(allocate(s, { inUse: new Set() }), '10.1.0.3');
  tt.equal(allocate(s, { inUse: new Set(['10.1.0.3']) }), '10.1.0.7');
  tt.end();
});

t.test('full pool and no subnet', (tt) => {
  const s = settings({ subnet: '10.1.0.0/30' });
  tt.equal(allocate(s, { inUse: new Set() }), '10.1.0.2');
  tt.equal(allocate(s, { inUse: new Set(['10.1.0.2']) }), undefined, 'broadcast is never handed out');
  tt.equal(allocate(settings({}), { inUse: new Set() }), undefined);
  tt.end();
});

t.test('random start still finds the only free address', (tt) => {
  const s = settings({ subnet: '10.1.0.0/29' });
  const inUse = new Set(['10.1.0.2', '10.1.0.3', '10.1.0.5', '10.1.0.6']);
  for (let i = 0; i < 20; i++) tt.equal(allocate(s, { inUse, randomStart: true }), '10.1.0.4');
  tt.end();
});

t.test('never handed out: one rule for the allocator and for static requests (issue 19 item 3)', (tt) => {
  const managed = settings(
    { subnet: '10.2.0.0/24', exclude_ips: '10.2.0.200..10.2.0.255 10.2.0.9' },
    { [IpamKeys.subnets]: '10.2.0.0/24,fd02::/64', [IpamKeys.excludeSubnets]: '10.2.0.200/29,fd02::100/120', [IpamKeys.gateways]: '10.2.0.254,fd02::1' },
  );
  const cases: Array<[string, RegExp | undefined]> = [
    ['10.2.0.0', /^the network address of 10\.2\.0\.0\/24$/],
    ['10.2.0.255', /^the broadcast address of 10\.2\.0\.0\/24$/],
    ['fd02::', /^the subnet-router anycast address of fd02::\/64$/],
    ['10.2.0.254', /^the network's gateway 10\.2\.0\.254$/],
    ['fd02::1', /gateway fd02::1/],
    ['10.2.0.203', /^in the network's excludeSubnets 10\.2\.0\.200\/29$/],
    ['fd02::1ff', /excludeSubnets fd02::100\/120/],
    ['10.2.0.9', /^in the logical switch's other_config:exclude_ips 10\.2\.0\.9$/],
    ['10.2.0.210', /exclude_ips 10\.2\.0\.200\.\.10\.2\.0\.255/],
    ['10.2.0.1', undefined],
    ['10.2.0.8', undefined],
    ['fd02::2', undefined],
    ['10.9.0.0', undefined],
  ];
  for (const [address, reason] of cases) {
    if (reason === undefined) tt.equal(neverHandedOut(managed, address), undefined, `${address} may be requested`);
    else tt.match(neverHandedOut(managed, address), reason, address);
  }
  // /31 and /32 (RFC 3021) and /127 have no network or broadcast address of their own.
  tt.equal(neverHandedOut(settings({ subnet: '10.3.0.0/31' }), '10.3.0.0'), undefined);
  tt.equal(neverHandedOut(settings({ subnet: '10.3.0.0/31' }), '10.3.0.1'), undefined);
  tt.equal(neverHandedOut(settings({}, { [IpamKeys.subnets]: 'fd03::/127' }), 'fd03::'), undefined);
  // Whatever the rule refuses, the allocator never hands out: walk a whole small pool.
  const small = settings({ subnet: '10.4.0.0/28', exclude_ips: '10.4.0.5..10.4.0.7' }, { [IpamKeys.gateways]: '10.4.0.14' });
  const given = new Set<string>();
  for (let ip = allocate(small, { inUse: given }); ip !== undefined; ip = allocate(small, { inUse: given })) given.add(ip);
  tt.same([...given].sort(), ['10.4.0.10', '10.4.0.11', '10.4.0.12', '10.4.0.13', '10.4.0.2', '10.4.0.3', '10.4.0.4', '10.4.0.8', '10.4.0.9'], 'the pool minus the refused and the first host address');
  for (const ip of given) tt.equal(neverHandedOut(small, ip), undefined, `${ip} given, so requestable`);
  tt.end();
});

t.test('MACs that can never be requested', (tt) => {
  tt.equal(macRefusal('00:00:00:00:00:00'), 'all zeros');
  tt.equal(macRefusal('ff:ff:ff:ff:ff:ff'), 'the broadcast MAC');
  tt.equal(macRefusal('01:00:5e:00:00:01'), 'a multicast MAC');
  tt.equal(macRefusal('33:33:00:00:00:01'), 'a multicast MAC');
  tt.equal(macRefusal('0a:58:0a:00:00:05'), undefined);
  tt.equal(macRefusal(randomMac()), undefined, 'never one the allocator makes');
  tt.end();
});

t.test('bad settings', (tt) => {
  tt.throws(() => settings({ subnet: '10.1.0.5/24' }), IpamConfigError);
  tt.throws(() => settings({ subnet: 'fd00::/64' }), IpamConfigError);
  tt.throws(() => settings({ subnet: '10.1.0.0/24', exclude_ips: '10.1.0.300' }), IpamConfigError);
  tt.end();
});

t.test('MACs', (tt) => {
  tt.equal(macForIpv4('10.1.0.2'), '0a:58:0a:01:00:02');
  for (let i = 0; i < 50; i++) {
    const mac = randomMac();
    tt.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    tt.equal(parseInt(mac.slice(0, 2), 16) & 0x03, 0x02, 'unicast, locally administered');
  }
  tt.end();
});

t.test('port address entries', (tt) => {
  tt.same(parsePortAddresses('0A:58:0a:01:00:02 10.1.0.2 fd00::2'), { mac: '0a:58:0a:01:00:02', ips: ['10.1.0.2', 'fd00::2'] });
  tt.same(parsePortAddresses('00:00:00:00:00:01 10.1.0.1/24'), { mac: '00:00:00:00:00:01', ips: ['10.1.0.1'] });
  tt.same(parsePortAddresses('dynamic'), { mac: undefined, ips: [] });
  tt.same(parsePortAddresses('router'), { mac: undefined, ips: [] });
  tt.end();
});

t.test('ip arithmetic', (tt) => {
  tt.equal(bigIntToIp(ipToBigInt('10.1.2.3'), 4), '10.1.2.3');
  tt.equal(bigIntToIp(ipToBigInt('fd00::1:2'), 6), 'fd00::1:2');
  tt.match(parseSubnet('fd00:0::/64'), { cidr: 'fd00::/64', prefixLength: 64, family: 6 });
  tt.equal(parseSubnet('10.0.0.1/24'), undefined);
  tt.equal(parseSubnet('10.0.0.0/33'), undefined);
  tt.equal(parseSubnet('nonsense'), undefined);
  tt.end();
});

t.test('dual-stack settings from external_ids, one address per subnet', (tt) => {
  const s = settings({}, { [IpamKeys.subnets]: '10.9.0.0/24, fd00:9::/64', [IpamKeys.excludeSubnets]: '10.9.0.0/28,fd00:9::/120' });
  tt.same(s.subnets.map((x) => x.cidr), ['10.9.0.0/24', 'fd00:9::/64']);
  const [v4, v6] = s.subnets;
  if (v4 === undefined || v6 === undefined) throw new Error('two subnets expected');
  tt.equal(allocateAddress(v4, s.excluded, { inUse: new Set() }), '10.9.0.16', 'skips the excluded /28');
  tt.equal(allocateAddress(v6, s.excluded, { inUse: new Set() }), 'fd00:9::100', 'skips the excluded /120');
  tt.equal(allocateAddress(v6, s.excluded, { inUse: new Set(['fd00:9::100']) }), 'fd00:9::101');
  const random = allocateAddress(v6, s.excluded, { inUse: new Set(), randomStart: true }) ?? '';
  tt.ok(subnetOf(s, random)?.cidr === 'fd00:9::/64', `random start stays in the subnet (${random})`);
  tt.equal(subnetOf(s, '10.8.0.1'), undefined);
  tt.throws(() => settings({}, { [IpamKeys.subnets]: 'nonsense' }), IpamConfigError);
  tt.end();
});
