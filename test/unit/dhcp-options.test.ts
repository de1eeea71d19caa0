// The DHCP_Options a network's `dhcp` section asks for (pure), and the config's validation.
import t from 'tap';
import { dhcpOptions } from '../../daemon/ovn/dhcp.ts';
import { parseConfig } from '../../daemon/netconf/parse.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { toCniError } from '../../daemon/server/cni-errors.ts';
import { parseSubnet } from '../../daemon/lib/ip.ts';

const dhcp = { leaseTime: 600, dnsServers: ['10.0.0.10', 'fd00::53'], domainSearch: ['example.com', 'corp.example'], guestAddresses: true, routerAdvertisements: false };
const v4 = parseSubnet('10.71.0.0/24');
const v6 = parseSubnet('fd00:71::/64');

t.test('IPv4 options', async (t) => {
  if (v4 === undefined) throw new Error('no subnet');
  const routes = [{ dst: '192.168.50.0/24', gw: '10.71.0.1' }, { dst: '10.9.0.0/16' }, { dst: 'fd00:9::/64', gw: 'fd00:71::1' }];
  t.same(Object.fromEntries(dhcpOptions(v4, '10.71.0.1', { dhcp, mtu: 1400, routes })), {
    server_id: '10.71.0.1',
    server_mac: '0a:58:0a:47:00:01',
    lease_time: '600',
    mtu: '1400',
    router: '10.71.0.1',
    dns_server: '{10.0.0.10}',
    domain_search_list: '"example.com,corp.example"',
    classless_static_route: '{192.168.50.0/24, 10.71.0.1}',
  }, 'the gateway serves and routes; IPv4 DNS only; routes with a gateway only, of this family');
  const bare = dhcpOptions(v4, undefined, { dhcp: { ...dhcp, dnsServers: [], domainSearch: [] }, mtu: 9000, routes: [] });
  t.same(Object.fromEntries(bare), { server_id: '10.71.0.1', server_mac: '0a:58:0a:47:00:01', lease_time: '600', mtu: '9000' }, 'no gateway: the first host address serves, no router');
});

t.test('IPv6 options', async (t) => {
  if (v6 === undefined) throw new Error('no subnet');
  const options = dhcpOptions(v6, undefined, { dhcp, mtu: 1400, routes: [] });
  t.match(options.get('server_id'), /^0a:58(:[0-9a-f]{2}){4}$/, 'a MAC as server id');
  t.equal(options.get('dns_server'), '{fd00::53}');
  t.equal(options.get('domain_search'), '"example.com,corp.example"');
});

t.test('config validation names the field', async (t) => {
  const base = { cniVersion: '1.1.0', name: 'net', type: 'ovn-multinet' };
  t.same(parseConfig({ ...base, dhcp: {} }).dhcp, { leaseTime: 3600, dnsServers: [], domainSearch: [], guestAddresses: false, routerAdvertisements: false }, 'defaults');
  t.equal(parseConfig(base).dhcp, undefined, 'no section: no DHCP');
  const cases: Array<[unknown, RegExp]> = [
    ['yes', /^dhcp:/],
    [{ leaseTime: 5 }, /^dhcp\.leaseTime:/],
    [{ leaseTime: 60.5 }, /^dhcp\.leaseTime:/],
    [{ dnsServers: 'x' }, /^dhcp\.dnsServers:/],
    [{ dnsServers: ['10.0.0.1', 'nope'] }, /^dhcp\.dnsServers\[1\]:/],
    [{ domainSearch: ['bad domain'] }, /^dhcp\.domainSearch\[0\]:/],
    [{ guestAddresses: 'true' }, /^dhcp\.guestAddresses:/],
    [{ lease: 600 }, /^dhcp\.lease:/],
  ];
  for (const [value, message] of cases) {
    const err = (() => {
      try {
        parseConfig({ ...base, dhcp: value });
      } catch (e) {
        return toCniError(e, 'ADD');
      }
      return undefined;
    })();
    t.ok(err !== undefined && err.code === ErrorCode.InvalidConfig && message.test(err.message), `${JSON.stringify(value)}: ${err?.message ?? 'accepted'}`);
  }
});
