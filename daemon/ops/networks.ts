/**
 * `ovn-multinetd networks`: each network ovn-multinet attaches to (a logical switch it manages,
 * marked `ovn-multinet/managed-network`, or one holding ports of ours), its subnets as the
 * daemon's addressing reads them (ipam/pool.ts parseIpamSettings), the addresses in use, free and
 * reserved (IPAMClaims) in each, and its ports per node. `networkRows` is pure; `runNetworks`
 * reads the NB and prints.
 */
import type { NbFlags } from '../lib/flags.ts';
import { flagReader, nbFlags } from '../lib/flags.ts';
import { parseIpPrefix, type Family } from '../lib/ip.ts';
import { OWNER_VALUE, OwnerKeys, TargetKeys } from '../ovn/ids.ts';
import { portAddresses } from '../ovn/indexes.ts';
import { parseIpamSettings } from '../ipam/pool.ts';
import { guardedAddresses, usageOf } from '../ipam/usage.ts';
import { IpamConfigError } from '../errors.ts';
import { readNbSnapshot, type NbSnapshot, type OpsPortRow, type OpsSwitchRow } from './nb-snapshot.ts';
import { byText, outputFlag, print, render, renderTable, type Column, type OutputFormat } from './output.ts';

/** The addresses of one subnet. `capacity` and `free` are bigints: an IPv6 subnet is vast. */
export interface SubnetUsage {
  cidr: string;
  family: Family;
  /** Addresses the allocator may hand out (excluded ones, gateways, network and broadcast not counted). */
  capacity: bigint;
  /** Addresses of that pool held by anything: ports (ours or not), router ports, guard keys (ipam/usage.ts). */
  used: number;
  /** Of those, held by an IPAMClaim. */
  reserved: number;
  /** Addresses the allocator may still hand out. */
  free: bigint;
}

export interface NetworkRow {
  switch: string;
  /** The managed network's name, else the network names our ports record (sorted, comma-separated). */
  network: string;
  managed: boolean;
  subnets: SubnetUsage[];
  /** Why the switch's addressing settings cannot be read (the daemon refuses ADDs to it then). */
  invalid: string | undefined;
  /** Ports of ovn-multinet on the switch, by node (a migration's target counted on its node too). */
  ports: Array<{ node: string; ports: number }>;
}

/** Our ports of a switch: the node of each attachment of each (owner, and a migration's target). */
function nodesOf(port: OpsPortRow): string[] {
  const ids = port.external_ids;
  if (ids.get(OwnerKeys.owner) !== OWNER_VALUE) return [];
  const target = ids.get(TargetKeys.node);
  return [ids.get(OwnerKeys.node) ?? '', ...(target === undefined ? [] : [target])];
}

/** Every IP in use on the switch: its ports' entries, the routers it connects to, guard keys (those of IPAMClaims reserved). */
function ipsInUse(snapshot: NbSnapshot, sw: OpsSwitchRow, ports: readonly OpsPortRow[]): { all: Set<string>; reserved: string[] } {
  const all = new Set<string>();
  const routerPortNames = new Set<string>();
  for (const port of ports) {
    for (const ip of portAddresses(port).ips) all.add(ip);
    const peer = port.type === 'router' ? port.options.get('router-port') : undefined;
    if (peer !== undefined) routerPortNames.add(peer);
  }
  for (const lrp of snapshot.routerPorts) {
    if (!routerPortNames.has(lrp.name)) continue;
    for (const network of lrp.networks) {
      const address = parseIpPrefix(network)?.address;
      if (address !== undefined) all.add(address);
    }
  }
  const guarded = guardedAddresses(sw.external_ids);
  for (const ip of guarded.used) all.add(ip);
  return { all, reserved: guarded.reserved };
}

function networkRow(snapshot: NbSnapshot, sw: OpsSwitchRow): NetworkRow | undefined {
  const ports = sw.ports.flatMap((uuid) => snapshot.ports.get(uuid) ?? []);
  const byNode = new Map<string, number>();
  const names = new Set<string>();
  for (const port of ports) {
    for (const node of nodesOf(port)) byNode.set(node, (byNode.get(node) ?? 0) + 1);
    const name = nodesOf(port).length > 0 ? port.external_ids.get(OwnerKeys.network) : undefined;
    if (name !== undefined && name !== '') names.add(name);
  }
  const managed = sw.external_ids.get(OwnerKeys.managedNetwork);
  if (managed === undefined && byNode.size === 0) return undefined;
  const row: NetworkRow = {
    switch: sw.name,
    network: managed ?? [...names].sort().join(','),
    managed: managed !== undefined,
    subnets: [],
    invalid: undefined,
    ports: [...byNode].sort(([a], [b]) => byText(a, b)).map(([node, count]) => ({ node, ports: count })),
  };
  try {
    const settings = parseIpamSettings(sw.other_config, sw.external_ids);
    const { all, reserved } = ipsInUse(snapshot, sw, ports);
    row.subnets = usageOf(settings, all, reserved).map((u) => ({ cidr: u.subnet, family: u.family, capacity: u.capacity, used: Number(u.used), reserved: Number(u.reserved), free: u.capacity - u.used }));
  } catch (err) {
    if (!(err instanceof IpamConfigError)) throw err;
    row.invalid = err.message;
  }
  return row;
}

/** The networks of the snapshot, by switch name. */
export function networkRows(snapshot: NbSnapshot): NetworkRow[] {
  return snapshot.switches.flatMap((sw) => networkRow(snapshot, sw) ?? []).sort((a, b) => byText(a.switch, b.switch));
}

/** A table line per subnet (a switch without one: one line). */
interface NetworkLine {
  row: NetworkRow;
  subnet: SubnetUsage | undefined;
}

const NETWORK_COLUMNS: ReadonlyArray<Column<NetworkLine>> = [
  { header: 'switch', value: ({ row }) => row.switch },
  { header: 'network', value: ({ row }) => row.network },
  { header: 'subnet', value: ({ row, subnet }) => (row.invalid !== undefined ? 'invalid' : (subnet?.cidr ?? '')) },
  { header: 'used', value: ({ subnet }) => (subnet === undefined ? '' : String(subnet.used)) },
  { header: 'free', value: ({ subnet }) => (subnet === undefined ? '' : String(subnet.free)) },
  { header: 'reserved', value: ({ subnet }) => (subnet === undefined ? '' : String(subnet.reserved)) },
  { header: 'ports', value: ({ row }) => row.ports.map((p) => `${p.node === '' ? '?' : p.node}=${p.ports}`).join(',') },
];

export function networksTable(rows: readonly NetworkRow[]): string {
  const lines = rows.flatMap((row): NetworkLine[] => (row.subnets.length === 0 ? [{ row, subnet: undefined }] : row.subnets.map((subnet) => ({ row, subnet }))));
  const invalid = rows.filter((r) => r.invalid !== undefined).map((r) => `${r.switch}: ${r.invalid ?? ''}\n`);
  return renderTable(lines, NETWORK_COLUMNS) + (invalid.length === 0 ? '' : `\ninvalid addressing settings:\n${invalid.join('')}`);
}

export interface NetworksOptions extends NbFlags {
  timeoutMs: number;
  output: OutputFormat;
}

export function parseNetworksFlags(flags: Record<string, unknown>): NetworksOptions {
  return { ...nbFlags(flags), timeoutMs: flagReader(flags).num('timeout'), output: outputFlag(flags) };
}

export async function runNetworks(options: NetworksOptions): Promise<void> {
  const rows = networkRows(await readNbSnapshot(options, options.timeoutMs));
  await print(await render(options.output, { networks: rows }, () => networksTable(rows)));
}
