// How full a switch's pools are (daemon/ipam/usage.ts): capacity less what is never handed out,
// in use and reserved counted once each, inside the capacity only; what a switch row's guard keys tell.
import t from 'tap';
import { addressUsage, capacityOf, guardedAddresses } from '../../daemon/ipam/usage.ts';
import { parseIpamSettings } from '../../daemon/ipam/pool.ts';
import { parseSubnet, type Subnet } from '../../daemon/lib/ip.ts';
import { IpamKeys } from '../../daemon/ovn/ids.ts';

const subnet = (cidr: string): Subnet => {
  const s = parseSubnet(cidr);
  if (s === undefined) throw new Error(cidr);
  return s;
};

t.test('capacity: the subnet less its own addresses and the excluded ranges, each counted once', async (t) => {
  t.equal(capacityOf(subnet('10.0.0.0/24'), []), 254n, 'IPv4: network and broadcast out');
  t.equal(capacityOf(subnet('10.0.0.0/31'), []), 2n, '/31: both usable');
  t.equal(capacityOf(subnet('10.0.0.7/32'), []), 1n, '/32: one');
  t.equal(capacityOf(subnet('fd00::/120'), []), 255n, 'IPv6: the subnet-router anycast address out');
  t.equal(capacityOf(subnet('fd00::/64'), []), (1n << 64n) - 1n, 'a /64');
  const settings = parseIpamSettings(new Map([['subnet', '10.0.0.0/24'], ['exclude_ips', '10.0.0.1 10.0.0.5..10.0.0.9 10.0.0.8..10.0.0.12 10.0.0.255']]));
  // 254 less .1, .5-.12 (8 addresses, two ranges overlapping); .255 is the broadcast, already out.
  t.equal(capacityOf(subnet('10.0.0.0/24'), settings.excluded), 245n, 'overlapping ranges merged, the broadcast not taken twice');
  const outside = parseIpamSettings(new Map([['subnet', '10.0.0.0/29'], ['exclude_ips', '10.0.0.4..10.0.1.200']]));
  t.equal(capacityOf(subnet('10.0.0.0/29'), outside.excluded), 3n, 'a range reaching past the subnet is clipped (.1-.3 left)');
});

t.test('usage: in use and reserved counted once, inside the capacity and per family', async (t) => {
  const settings = parseIpamSettings(
    new Map([['subnet', '10.0.0.0/29'], ['exclude_ips', '10.0.0.6']]),
    new Map([[IpamKeys.subnets, 'fd00::/125']]),
  );
  const used = ['10.0.0.2', '10.0.0.2', '10.0.0.3', '10.0.0.6', '10.0.0.0', '192.168.0.1', 'fd00::1', 'fd00:0::1', 'not-an-ip'];
  t.same(addressUsage(settings, used, ['10.0.0.3']), [
    { family: 4, subnet: '10.0.0.0/29', capacity: 5, inUse: 2, reserved: 1 },
    { family: 6, subnet: 'fd00::/125', capacity: 7, inUse: 1, reserved: 0 },
  ], 'repeats and other spellings once; excluded, the network address and other subnets not at all');
  t.same(addressUsage(parseIpamSettings(new Map()), used, []), [], 'a switch without subnets has no pools');
});

t.test('a switch row alone: its guard keys and reservations', async (t) => {
  const ids = new Map([
    [`${IpamKeys.address}10.0.0.2`, 'port:lsp-a'],
    [`${IpamKeys.address}0a:58:0a:00:00:02`, 'port:lsp-a'],
    [`${IpamKeys.address}10.0.0.3`, 'ipam-claim:vms/vm1'],
    [`${IpamKeys.reservation}vms/vm1`, '0a:58:0a:00:00:03 10.0.0.3'],
    ['other', 'x'],
  ]);
  t.same(guardedAddresses(ids), { used: ['10.0.0.2', '10.0.0.3'], reserved: ['10.0.0.3'] }, 'IPs only, MAC keys left out');
});
