// How full a switch is (daemon/ipam/usage.ts, from its row alone) and when a Network's level
// crosses the threshold or exhaustion (daemon/controller/address-levels.ts): both pure.
import t from 'tap';
import { addressUsage, type AddressUsage } from '../../daemon/ipam/usage.ts';
import { addressAlert, addressLevel, type AddressLevel } from '../../daemon/controller/address-levels.ts';
import { poolCapacity, parseIpamSettings } from '../../daemon/ipam/pool.ts';
import { IpamKeys } from '../../daemon/ovn/ids.ts';
import { IpamConfigError } from '../../daemon/errors.ts';

const row = (otherConfig: Record<string, string>, externalIds: Record<string, string> = {}) => ({ other_config: new Map(Object.entries(otherConfig)), external_ids: new Map(Object.entries(externalIds)) });
const guard = (address: string, holder = `port:p-${address}`): [string, string] => [`${IpamKeys.address}${address}`, holder];

t.test('addressUsage: the allocator pool and the guard keys in it', async (t) => {
  // /29: .0 network, .1 left for a gateway, .7 broadcast: .2 to .6 are handed out.
  t.same(addressUsage(row({ subnet: '10.0.0.0/29' })), [{ family: 4, subnet: '10.0.0.0/29', capacity: 5n, used: 0n, reserved: 0n }]);
  const ids = Object.fromEntries([
    guard('10.0.0.2'),
    guard('10.0.0.3', 'ipam-claim:ns/vm1'),
    guard('0a:00:00:00:00:02'), // a MAC: not an address of the pool
    guard('10.0.0.1'), // the first host address (a static request may take it): outside the pool
    guard('10.9.9.9'), // another subnet's
    ['other-key', 'x'],
  ]);
  t.same(addressUsage(row({ subnet: '10.0.0.0/29' }, ids)), [{ family: 4, subnet: '10.0.0.0/29', capacity: 5n, used: 2n, reserved: 1n }]);
  // exclude_ips shrink the pool (overlapping ranges and the broadcast address counted once).
  t.equal(addressUsage(row({ subnet: '10.0.0.0/24', exclude_ips: '10.0.0.10..10.0.0.19 10.0.0.15..10.0.0.29 10.0.0.255' }))[0]?.capacity, 253n - 20n);
  const dual = addressUsage(row({}, { [IpamKeys.subnets]: '10.1.0.0/24,fd00:1::/64', [IpamKeys.gateways]: '10.1.0.1', ...Object.fromEntries([guard('fd00:1::5')]) }));
  t.same(dual.map((u) => [u.family, u.capacity, u.used]), [[4, 253n, 0n], [6, 2n ** 64n - 2n, 1n]], 'dual stack: one row per family; IPv6 as bigint');
  t.same(addressUsage(row({})), [], 'no subnet: nothing');
  t.throws(() => addressUsage(row({ subnet: 'nonsense' })), IpamConfigError);
  const [slash31] = parseIpamSettings(new Map([['subnet', '10.0.0.0/31']])).subnets;
  t.equal(slash31 === undefined ? -1n : poolCapacity(slash31, []), 0n, '/31: nothing after the first host address');
});

const usage = (used: bigint, capacity = 5n): AddressUsage[] => [{ family: 4, subnet: '10.0.0.0/29', capacity, used, reserved: 0n }];

t.test('addressLevel: the fullest subnet decides', async (t) => {
  t.equal(addressLevel(usage(2n), 60), 'ok');
  t.equal(addressLevel(usage(3n), 60), 'low', '60 % of 5 is 3');
  t.equal(addressLevel(usage(4n), 90), 'ok', '80 % is under 90 %');
  t.equal(addressLevel(usage(5n), 90), 'exhausted');
  t.equal(addressLevel([...usage(0n), { family: 6, subnet: 'fd00::/120', capacity: 10n, used: 9n, reserved: 0n }], 90), 'low');
  t.equal(addressLevel(usage(0n, 0n), 90), 'ok', 'a subnet with no pool is never low');
});

t.test('addressAlert: one Event per crossing', async (t) => {
  const walk: AddressLevel[] = ['ok', 'ok', 'low', 'low', 'exhausted', 'exhausted', 'low', 'exhausted', 'ok', 'low'];
  const reasons: string[] = [];
  let previous: AddressLevel = 'ok';
  for (const now of walk) {
    const alert = addressAlert(previous, now, usage(3n), 60, 'blue');
    if (alert !== undefined) reasons.push(`${alert.type} ${alert.reason}`);
    previous = now;
  }
  t.same(reasons, ['Warning AddressesLow', 'Warning AddressesExhausted', 'Warning AddressesExhausted', 'Normal AddressesAvailable', 'Warning AddressesLow']);
  t.match(addressAlert('ok', 'low', usage(3n), 60, 'blue'), { note: 'addresses at or above 60% in use on logical switch blue: 10.0.0.0/29: 3 of 5 addresses in use (60%)' });
  t.match(addressAlert('low', 'exhausted', usage(5n), 60, 'blue'), { note: 'no address left to hand out on logical switch blue: 10.0.0.0/29: 5 of 5 addresses in use (100%)' });
});
