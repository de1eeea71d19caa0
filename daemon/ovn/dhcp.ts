/**
 * OVN's DHCP for the ports of a network whose config has a `dhcp` section (a VM behind the pod's
 * interface configures itself): one DHCP_Options row per switch and subnet, shared by its ports,
 * made on the first ADD that needs it and brought up to date by any later ADD whose definition
 * differs. ovn-controller answers the port's DHCP (v4) and DHCPv6 requests with its own address
 * (the port's `addresses`), and these options.
 *
 * Two daemons making a switch's first row at once: each takes the switch key
 * `ovn-multinet/dhcp:<cidr>` with a token of its own in the transaction that inserts the row
 * (switch-keys.ts), so one commits and the other finds its row.
 */
import { randomUUID } from 'node:crypto';
import { isGuardConflict, OvsdbProtocolError } from '../errors.ts';
import { eq, type Operation } from '../ovsdb/ops.ts';
import { valuesEqual, type Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { bigIntToIp, familyOf, macForIpv4, parseCidr, type Subnet } from '../lib/ip.ts';
import type { DhcpConfig } from '../netconf/dhcp.ts';
import type { ConfigRoute } from '../netconf/routes.ts';
import { DhcpKeys, OWNER_VALUE, OwnerKeys, ScopeKeys } from './ids.ts';
import { deleteKeysOps, takeKeysOps } from './switch-keys.ts';
import type { LogicalSwitch } from './switches.ts';
import { type DhcpRow, type NbClient, nbOps } from './nb.ts';

/** What one network asks of DHCP. */
export interface DhcpRequest {
  dhcp: DhcpConfig;
  mtu: number;
  routes: readonly ConfigRoute[];
}

/** The rows a port points at, per family. */
export interface PortDhcp {
  v4?: Uuid;
  v6?: Uuid;
}

const CATCH_UP_MS = 2000;

/** An OVN set value: "{a, b}". */
const setOf = (items: readonly string[]): string => `{${items.join(', ')}}`;

/**
 * The options of the subnet's row (ovn-nb(5) DHCP_Options). IPv4: the server is the gateway
 * when the network has one (and then also the router), else the subnet's first host address,
 * which is never handed out; classless static routes from the config's routes with a gateway.
 * IPv6: the server's MAC and the DNS servers.
 */
export function dhcpOptions(subnet: Subnet, gateway: string | undefined, request: DhcpRequest): Map<string, string> {
  const { dhcp } = request;
  const options = new Map<string, string>();
  const dns = dhcp.dnsServers.filter((server) => familyOf(server) === subnet.family);
  if (subnet.family === 4) {
    const server = gateway ?? bigIntToIp(subnet.network + 1n, 4);
    options.set('server_id', server);
    options.set('server_mac', macForIpv4(server));
    options.set('lease_time', String(dhcp.leaseTime));
    options.set('mtu', String(request.mtu));
    if (gateway !== undefined) options.set('router', gateway);
    if (dns.length > 0) options.set('dns_server', setOf(dns));
    // A string in ovn-controller's action syntax: quoted (unquoted, the flow does not parse).
    if (dhcp.domainSearch.length > 0) options.set('domain_search_list', `"${dhcp.domainSearch.join(',')}"`);
    const routes = request.routes.filter((r) => r.gw !== undefined && parseCidr(r.dst)?.family === 4).flatMap((r) => [r.dst, r.gw ?? '']);
    if (routes.length > 0) options.set('classless_static_route', setOf(routes));
  } else {
    options.set('server_id', macForIpv4(bigIntToIp(subnet.network & 0xffffffffn, 4)));
    if (dns.length > 0) options.set('dns_server', setOf(dns));
    if (dhcp.domainSearch.length > 0) options.set('domain_search', `"${dhcp.domainSearch.join(',')}"`);
  }
  return options;
}

/** The switch's row for `cidr`, from the cache (the NB scope monitors the rows of served switches). */
function findRow(nb: NbClient, sw: LogicalSwitch, cidr: string): DhcpRow | undefined {
  for (const row of nb.cache.table(NbTable.DHCP_Options).values()) if (isRowOf(row, sw, cidr)) return row;
  return undefined;
}

/** Whether the row is the switch's row for `cidr`. */
function isRowOf(row: DhcpRow, sw: LogicalSwitch, cidr: string): boolean {
  return row.cidr === cidr && row.external_ids.get(ScopeKeys.switch) === sw.uuid;
}

/** The key a switch's first row for `cidr` is made under. */
export const dhcpKey = (cidr: string): string => `${DhcpKeys.firstRow}${cidr}`;

/**
 * The rows for the switch's subnets with these options, made or updated as needed; `gatewayOf`
 * gives a subnet's gateway, if any.
 */
export async function ensureDhcpOptions(nb: NbClient, sw: LogicalSwitch, subnets: readonly Subnet[], gatewayOf: (subnet: Subnet) => string | undefined, request: DhcpRequest, signal: AbortSignal): Promise<PortDhcp> {
  const out: PortDhcp = {};
  for (const subnet of subnets) {
    const options = dhcpOptions(subnet, gatewayOf(subnet), request);
    const uuid = await ensureRow(nb, sw, subnet.cidr, options, signal);
    if (subnet.family === 4) out.v4 = uuid;
    else out.v6 = uuid;
  }
  return out;
}

async function ensureRow(nb: NbClient, sw: LogicalSwitch, cidr: string, options: ReadonlyMap<string, string>, signal: AbortSignal): Promise<Uuid> {
  const existing = findRow(nb, sw, cidr);
  if (existing !== undefined) {
    if (!valuesEqual(existing.options, options)) await nb.transact([nbOps.update(NbTable.DHCP_Options, [eq('_uuid', existing._uuid)], { options })], signal);
    return existing._uuid;
  }
  // A key without its row: someone deleted the row. Its pair goes in the same transaction (a
  // pair deleted meanwhile, or replaced by another daemon's, makes that a no-op).
  const staleToken = sw.externalIds.get(dhcpKey(cidr));
  const ops: Operation[] = [
    ...(staleToken === undefined ? [] : deleteKeysOps(sw.uuid, new Map([[dhcpKey(cidr), staleToken]]))),
    ...takeKeysOps(sw, new Map([[dhcpKey(cidr), randomUUID()]])),
    nbOps.insert(NbTable.DHCP_Options, { cidr, options, external_ids: new Map([[OwnerKeys.owner, OWNER_VALUE], [ScopeKeys.switch, sw.uuid]]) }),
  ];
  const guards = ops.length - 1;
  try {
    const results = await nb.transact(ops, signal);
    const uuid = results[guards]?.uuid;
    if (uuid === undefined) throw new OvsdbProtocolError('no uuid in the DHCP_Options insert result');
    return uuid;
  } catch (err) {
    // Another daemon made the row first: it is on its way to the cache.
    if (!isGuardConflict(err, guards)) throw err;
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(CATCH_UP_MS)]);
    const row = await nb.cache.waitForRow(NbTable.DHCP_Options, (r) => isRowOf(r, sw, cidr), timeout);
    return ensureRow(nb, sw, row.cidr, options, signal);
  }
}
