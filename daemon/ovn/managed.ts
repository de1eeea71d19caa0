/**
 * Networks ovn-multinet creates from their definition in the network config (topology layer2 or
 * localnet): the logical switch is made on first use, marked with the network's name and a hash
 * of its definition, and reused by every later ADD on any node. The switch is created by one
 * transaction that first `wait`s for no switch of that name to exist, so two nodes racing to
 * create it end with one switch. A second, different definition under the same name is refused.
 */
import { createHash } from 'node:crypto';
import type { ManagedNetwork } from '../netconf/managed.ts';
import { isGuardConflict, NetworkDefinitionError } from '../errors.ts';
import { eq, insert, type Operation } from '../ovsdb/ops.ts';
import { namedUuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { bigIntToIp, parseSubnet, subnetContains, type Subnet } from '../lib/ip.ts';
import { IpamKeys, OWNER_VALUE, OwnerKeys } from './ids.ts';
import { findSwitch, type LogicalSwitch } from './switches.ts';
import { type NbClient, nbOps } from './nb.ts';

interface Definition {
  topology: ManagedNetwork['topology'];
  subnets: string[];
  excludeSubnets: string[];
  gateway?: string[];
  physicalNetworkName?: string;
  vlanID?: number;
  /** layer3: the prefix length of each node's subnet, per family of the subnets. */
  hostSubnetLength?: number;
  hostSubnetLengthV6?: number;
}

/** layer3 node subnet lengths when the config names none (OVN-Kubernetes' defaults). */
const HOST_SUBNET_DEFAULTS = { 4: 24, 6: 64 } as const;
/** The longest node subnet of each family that leaves a host address beside the gateway. */
const HOST_SUBNET_LONGEST = { 4: 30, 6: 126 } as const;

/** layer3: each family's node subnet length, checked against its cluster subnet. */
function hostSubnetLengths(net: ManagedNetwork, subnets: readonly Subnet[]): Pick<Definition, 'hostSubnetLength' | 'hostSubnetLengthV6'> {
  const out: Pick<Definition, 'hostSubnetLength' | 'hostSubnetLengthV6'> = {};
  for (const [family, field, given] of [[4, 'hostSubnetLength', net.hostSubnetLength], [6, 'hostSubnetLengthV6', net.hostSubnetLengthV6]] as const) {
    const cluster = subnets.find((s) => s.family === family);
    if (cluster === undefined) {
      if (given !== undefined) throw new NetworkDefinitionError(field, `the subnets have no IPv${family} subnet`);
      continue;
    }
    const length = given ?? HOST_SUBNET_DEFAULTS[family];
    if (length <= cluster.prefixLength) throw new NetworkDefinitionError(field, `${length} must be longer than the prefix of ${cluster.cidr} (a node subnet is a part of it)`);
    if (length > HOST_SUBNET_LONGEST[family]) throw new NetworkDefinitionError(field, `${length} leaves no address for a pod beside the gateway (at most ${HOST_SUBNET_LONGEST[family]})`);
    out[field] = length;
  }
  return out;
}

function canonical(list: readonly string[], field: string): Subnet[] {
  return list.map((cidr, i) => {
    const subnet = parseSubnet(cidr);
    if (subnet === undefined) throw new NetworkDefinitionError(`${field}[${i}]`, `${field}[${i}]: host bits are set`, cidr);
    return subnet;
  });
}

/** The definition in a stable form (canonical CIDRs, IPv4 first), checked for consistency. */
export function networkDefinition(net: ManagedNetwork): { definition: Definition; subnets: Subnet[]; excluded: Subnet[] } {
  const byFamily = (a: Subnet, b: Subnet): number => a.family - b.family || (a.network < b.network ? -1 : a.network > b.network ? 1 : 0);
  const subnets = canonical(net.subnets, 'subnets').sort(byFamily);
  const excluded = canonical(net.excludeSubnets, 'excludeSubnets').sort(byFamily);
  excluded.forEach((ex, i) => {
    if (!subnets.some((s) => s.family === ex.family && ex.network >= s.network && ex.last <= s.last)) {
      throw new NetworkDefinitionError(`excludeSubnets[${i}]`, `excludeSubnets[${i}]: ${ex.cidr} is not inside any of the subnets`);
    }
  });
  net.gateways.forEach((gw, i) => {
    if (!subnets.some((s) => subnetContains(s, gw))) throw new NetworkDefinitionError(`gateway[${i}]`, `gateway[${i}]: ${gw} is not inside any of the subnets`);
  });
  const definition: Definition = { topology: net.topology, subnets: subnets.map((s) => s.cidr), excludeSubnets: excluded.map((s) => s.cidr) };
  if (net.gateways.length > 0) definition.gateway = [...net.gateways].sort((a, b) => a.length - b.length || a.localeCompare(b));
  if (net.physicalNetworkName !== undefined) definition.physicalNetworkName = net.physicalNetworkName;
  if (net.vlanId !== undefined) definition.vlanID = net.vlanId;
  if (net.topology === 'layer3') Object.assign(definition, hostSubnetLengths(net, subnets));
  return { definition, subnets, excluded };
}

/** The first 16 hex digits of the SHA-256 of `text`: short, stable names and hashes in the NB. */
export function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * The other_config and external_ids of the network's switch: OVN's IPAM keys and ovn-multinet's
 * (the addressing settings daemon/ipam/pool.ts reads back, before the switch exists too).
 */
export function managedSwitchColumns(network: string, net: ManagedNetwork): { otherConfig: Map<string, string>; externalIds: Map<string, string> } {
  const { definition, subnets, excluded } = networkDefinition(net);
  const text = JSON.stringify(definition);
  const otherConfig = new Map<string, string>();
  const v4 = subnets.find((s) => s.family === 4);
  if (v4 !== undefined) {
    otherConfig.set('subnet', v4.cidr);
    const ranges = excluded.filter((s) => s.family === 4).map((s) => `${bigIntToIp(s.network, 4)}..${bigIntToIp(s.last, 4)}`);
    if (ranges.length > 0) otherConfig.set('exclude_ips', ranges.join(' '));
  }
  const externalIds = new Map<string, string>([
    [OwnerKeys.owner, OWNER_VALUE],
    [OwnerKeys.managedNetwork, network],
    [OwnerKeys.networkDefinition, text],
    [OwnerKeys.networkHash, hashOf(text)],
  ]);
  if (subnets.length > 0) externalIds.set(IpamKeys.subnets, subnets.map((s) => s.cidr).join(','));
  if (excluded.length > 0) externalIds.set(IpamKeys.excludeSubnets, excluded.map((s) => s.cidr).join(','));
  if (net.gateways.length > 0) externalIds.set(IpamKeys.gateways, net.gateways.join(','));
  return { otherConfig, externalIds };
}

function createOps(switchName: string, network: string, net: ManagedNetwork): Operation[] {
  const { otherConfig, externalIds } = managedSwitchColumns(network, net);
  const ops: Operation[] = [nbOps.wait(NbTable.Logical_Switch, [eq('name', switchName)], ['name'], '==', [], 0)];
  const ports = [];
  if (net.topology === 'localnet' && net.physicalNetworkName !== undefined) {
    ops.push(
      insert(
        NbTable.Logical_Switch_Port,
        {
          name: `omn-localnet-${switchName}`,
          type: 'localnet',
          addresses: ['unknown'],
          options: new Map([['network_name', net.physicalNetworkName]]),
          tag: net.vlanId,
          external_ids: new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.managedNetwork, network]]),
        },
        'localnet',
      ),
    );
    ports.push(namedUuid('localnet'));
  }
  ops.push(nbOps.insert(NbTable.Logical_Switch, { name: switchName, ports, other_config: otherConfig, external_ids: externalIds }, 'network'));
  return ops;
}

/** The switch of a managed network: found (same definition) or created; refused otherwise. */
export async function ensureManagedSwitch(nb: NbClient, switchName: string, network: string, net: ManagedNetwork, signal: AbortSignal): Promise<LogicalSwitch> {
  const text = JSON.stringify(networkDefinition(net).definition);
  for (let attempt = 0; ; attempt++) {
    const existing = findSwitch(nb, switchName);
    if (existing !== undefined) {
      const theirs = existing.externalIds.get(OwnerKeys.networkDefinition);
      if (existing.externalIds.get(OwnerKeys.managedNetwork) === undefined || theirs === undefined) {
        throw new NetworkDefinitionError('topology', `logical switch ${switchName} exists and was not created by ovn-multinet`, 'remove "topology" to attach to it as it is');
      }
      if (existing.externalIds.get(OwnerKeys.networkHash) !== hashOf(text)) {
        throw new NetworkDefinitionError(
          'topology',
          `network ${network}: this definition differs from the one logical switch ${switchName} was created with`,
          `this config: ${text}; existing (network ${existing.externalIds.get(OwnerKeys.managedNetwork) ?? '?'}): ${theirs}`,
        );
      }
      return existing;
    }
    try {
      await nb.transact(createOps(switchName, network, net), signal);
    } catch (err) {
      const raced = isGuardConflict(err, 1);
      if (!raced || attempt >= 3) throw err;
    }
    await nb.cache.waitForRow(NbTable.Logical_Switch, (row) => row.name === switchName, signal);
  }
}
