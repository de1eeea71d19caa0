// How full a switch's pools are as the daemon counts them (daemon/ipam/usage.ts usageOf): the
// allocator's pool per subnet, in use and reserved counted once each and inside the pool only;
// what a switch row's guard keys tell. The switch-row reading (addressUsage) and the capacity's
// edge cases are in address-levels.test.ts.
import t from 'tap';
import { guardedAddresses, usageOf } from '../../daemon/ipam/usage.ts';
import { parseIpamSettings } from '../../daemon/ipam/pool.ts';
import { IpamKeys } from '../../daemon/ovn/ids.ts';

t.test('usageOf: in use and reserved counted once, inside the pool and per family', async (t) => {
  const settings = parseIpamSettings(
    new Map([['subnet', '10.0.0.0/29'], ['exclude_ips', '10.0.0.6']]),
    new Map([[IpamKeys.subnets, 'fd00::/125']]),
  );
  // .1 (the conventional gateway, a router's) is outside the pool; .6 is excluded; .0 the network address.
  const used = ['10.0.0.1', '10.0.0.2', '10.0.0.2', '10.0.0.3', '10.0.0.6', '10.0.0.0', '192.168.0.1', 'fd00::2', 'fd00:0::2', 'not-an-ip'];
  t.same(usageOf(settings, used, ['10.0.0.3']), [
    { family: 4, subnet: '10.0.0.0/29', capacity: 4n, used: 2n, reserved: 1n },
    { family: 6, subnet: 'fd00::/125', capacity: 6n, used: 1n, reserved: 0n },
  ], 'repeats and other spellings once; the gateway, excluded, network and other subnets\' addresses not at all');
  t.same(usageOf(parseIpamSettings(new Map()), used, []), [], 'a switch without subnets has no pools');
});

t.test('a switch row alone: its guard keys and reservations', async (t) => {
  const ids = new Map([
    [`${IpamKeys.address}10.0.0.2`, 'port:lsp-a'],
    [`${IpamKeys.address}0a:58:0a:00:00:02`, 'port:lsp-a'],
    [`${IpamKeys.address}10.0.0.3`, 'ipam-claim:vms/vm1'],
    [`${IpamKeys.reservation}vms/vm1`, '0a:58:0a:00:00:03 10.0.0.3'],
    ['other', 'x'],
  ]);
  t.same(guardedAddresses(ids), { used: ['10.0.0.3', '10.0.0.2', '10.0.0.3'], reserved: ['10.0.0.3', '10.0.0.3'] }, 'IPs only, MAC keys left out; a reservation and its guard key both tell (usageOf counts each address once)');
  t.same(guardedAddresses(new Map([[`${IpamKeys.reservation}vms/vm2`, '0a:58:0a:00:00:09 10.0.0.9 fd00::9']])), { used: ['10.0.0.9', 'fd00::9'], reserved: ['10.0.0.9', 'fd00::9'] }, 'a reservation alone');
});
