/**
 * IPv6 router advertisements for a network with DHCP (`dhcp.routerAdvertisements`). OVN sends
 * RAs only from a logical router port, as its `ipv6_ra_configs` says; a guest that takes its
 * address by DHCPv6 needs one with the M flag (address_mode dhcpv6_stateful) to start DHCPv6
 * and to learn its default route. So for each IPv6 subnet whose gateway is a router port the
 * switch connects to, that port gets address_mode=dhcpv6_stateful and send_periodic=true, by a
 * map `insert`, which never replaces a key: a mode the router's owner chose is kept. The router
 * is not ovn-multinet's: nothing is removed when the network's ports go.
 *
 * The ports are read from the NB itself, not from the daemon's view: an admin connects the
 * router just before the first ADD that should advertise, and the view follows the switch's new
 * port list, then the router-type port, then its router port, each a moment later (scope.ts).
 * The switch's port list is read by uuid; of its ports, the router-type ones the cache holds and
 * those it does not hold yet, by uuid; their router ports by name. Three reads, only for ADDs on
 * networks with routerAdvertisements.
 */
import { eq, mutation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { selectedRows } from '../ovsdb/model.ts';
import { NbTable, type LogicalRouterPort, type LogicalSwitch, type LogicalSwitchPort } from '../ovsdb/models/nb.ts';
import { parseIpPrefix, subnetContains, type Subnet } from '../lib/ip.ts';
import { type NbClient, nbOps } from './nb.ts';

type RouterPortFacts = Pick<LogicalRouterPort, '_uuid' | 'networks' | 'ipv6_ra_configs'>;

export const RA_CONFIGS: ReadonlyMap<string, string> = new Map([
  ['address_mode', 'dhcpv6_stateful'],
  ['send_periodic', 'true'],
]);

/** The router ports that are a gateway of one of the IPv6 `subnets` and have no address_mode yet. */
function routerPortsToAdvertise(routerPorts: readonly RouterPortFacts[], subnets: readonly Subnet[]): Uuid[] {
  const v6 = subnets.filter((subnet) => subnet.family === 6);
  return routerPorts
    .filter((lrp) => !lrp.ipv6_ra_configs.has('address_mode'))
    .filter((lrp) => lrp.networks.some((network) => v6.some((subnet) => subnetContains(subnet, parseIpPrefix(network)?.address ?? ''))))
    .map((lrp) => lrp._uuid);
}

/** The router ports the switch `switchUuid` connects to, as the NB has them now (see above). */
async function connectedRouterPortsNow(nb: NbClient, switchUuid: Uuid, signal: AbortSignal): Promise<RouterPortFacts[]> {
  const [sw] = await nb.transact([nbOps.select(NbTable.Logical_Switch, [eq('_uuid', switchUuid)], ['ports'])], signal);
  const ports = selectedRows<LogicalSwitch, 'ports'>(sw)[0]?.ports ?? [];
  const toRead = ports.filter((uuid) => {
    const row = nb.cache.row(NbTable.Logical_Switch_Port, uuid);
    return row === undefined || row.type === 'router';
  });
  if (toRead.length === 0) return [];
  const read = await nb.transact(toRead.map((uuid) => nbOps.select(NbTable.Logical_Switch_Port, [eq('_uuid', uuid)], ['type', 'options'])), signal);
  const names = new Set<string>();
  for (const result of read) {
    for (const lsp of selectedRows<LogicalSwitchPort, 'type' | 'options'>(result)) {
      const peer = lsp.type === 'router' ? lsp.options.get('router-port') : undefined;
      if (peer !== undefined) names.add(peer);
    }
  }
  if (names.size === 0) return [];
  const lrps = await nb.transact([...names].map((name) => nbOps.select(NbTable.Logical_Router_Port, [eq('name', name)], ['_uuid', 'networks', 'ipv6_ra_configs'])), signal);
  return lrps.flatMap((result) => [...selectedRows<LogicalRouterPort, '_uuid' | 'networks' | 'ipv6_ra_configs'>(result)]);
}

/** Makes the gateways of the IPv6 subnets of switch `switchUuid` announce DHCPv6; resolves with the ports changed. */
export async function advertiseDhcpv6(nb: NbClient, switchUuid: Uuid, subnets: readonly Subnet[], signal: AbortSignal): Promise<Uuid[]> {
  if (!subnets.some((subnet) => subnet.family === 6)) return [];
  const ports = routerPortsToAdvertise(await connectedRouterPortsNow(nb, switchUuid, signal), subnets);
  if (ports.length === 0) return [];
  await nb.transact(ports.map((uuid) => nbOps.mutate(NbTable.Logical_Router_Port, [eq('_uuid', uuid)], [mutation('ipv6_ra_configs', 'insert', RA_CONFIGS)])), signal);
  return ports;
}
