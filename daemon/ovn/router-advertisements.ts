/**
 * IPv6 router advertisements for a network with DHCP (`dhcp.routerAdvertisements`). OVN sends
 * RAs only from a logical router port, as its `ipv6_ra_configs` says; a guest that takes its
 * address by DHCPv6 needs one with the M flag (address_mode dhcpv6_stateful) to start DHCPv6
 * and to learn its default route. So for each IPv6 subnet whose gateway is a router port the
 * switch connects to, that port gets address_mode=dhcpv6_stateful and send_periodic=true, by a
 * map `insert`, which never replaces a key: a mode the router's owner chose is kept. The router
 * is not ovn-multinet's: nothing is removed when the network's ports go.
 */
import { eq, mutation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { parseIpPrefix, subnetContains, type Subnet } from '../lib/ip.ts';
import { connectedRouterPorts, type LogicalSwitch } from './switches.ts';
import { type NbClient, nbOps } from './nb.ts';

export const RA_CONFIGS: ReadonlyMap<string, string> = new Map([
  ['address_mode', 'dhcpv6_stateful'],
  ['send_periodic', 'true'],
]);

/** The router ports that are a gateway of one of the IPv6 `subnets` and have no address_mode yet. */
export function routerPortsToAdvertise(nb: NbClient, sw: LogicalSwitch, subnets: readonly Subnet[]): Uuid[] {
  const v6 = subnets.filter((subnet) => subnet.family === 6);
  if (v6.length === 0) return [];
  return connectedRouterPorts(nb, sw)
    .filter((lrp) => !lrp.ipv6_ra_configs.has('address_mode'))
    .filter((lrp) => lrp.networks.some((network) => v6.some((subnet) => subnetContains(subnet, parseIpPrefix(network)?.address ?? ''))))
    .map((lrp) => lrp._uuid);
}

/** Makes the gateways of the switch's IPv6 subnets announce DHCPv6; resolves with the ports changed. */
export async function advertiseDhcpv6(nb: NbClient, sw: LogicalSwitch, subnets: readonly Subnet[], signal: AbortSignal): Promise<Uuid[]> {
  const ports = routerPortsToAdvertise(nb, sw, subnets);
  if (ports.length === 0) return [];
  await nb.transact(ports.map((uuid) => nbOps.mutate(NbTable.Logical_Router_Port, [eq('_uuid', uuid)], [mutation('ipv6_ra_configs', 'insert', RA_CONFIGS)])), signal);
  return ports;
}
