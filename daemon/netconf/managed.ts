/**
 * A managed network: one ovn-multinet creates (`topology` layer2, layer3 or localnet, with its
 * subnets, excluded subnets, gateways, for localnet the physical network and VLAN, for layer3
 * the length of each node's subnet) rather than a logical switch that must exist.
 */
import { shown } from '../cni-spec/errors.ts';
import { familyOf, parseCidr } from '../lib/ip.ts';
import { bad } from './bad.ts';

const TOPOLOGIES = ['layer2', 'layer3', 'localnet'] as const;
const MAX_CIDRS = 16;

export interface ManagedNetwork {
  topology: (typeof TOPOLOGIES)[number];
  /** CIDRs as written (the daemon canonicalizes them); at most one IPv4 and one IPv6. */
  subnets: string[];
  excludeSubnets: string[];
  /** localnet: the name in the node's ovn-bridge-mappings, and the VLAN to use on it. */
  physicalNetworkName: string | undefined;
  vlanId: number | undefined;
  /** Gateway addresses (one per family at most), inside the subnets, never handed out. */
  gateways: string[];
  /** layer3: the prefix length of each node's IPv4 and IPv6 subnet, as written (defaults: daemon/ovn/managed.ts). */
  hostSubnetLength?: number;
  hostSubnetLengthV6?: number;
}

/** A list of CIDRs, as a JSON list or a comma-separated string (as OVN-Kubernetes NADs write it). */
function cidrList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  const items: unknown[] = typeof value === 'string' ? value.split(',').map((c) => c.trim()).filter((c) => c !== '') : Array.isArray(value) ? value : [];
  if (typeof value !== 'string' && !Array.isArray(value)) throw bad(field, 'must be a list of CIDRs or a comma-separated string');
  if (items.length > MAX_CIDRS) throw bad(field, `at most ${MAX_CIDRS} entries`);
  return items.map((item, i) => {
    if (typeof item !== 'string' || parseCidr(item) === undefined) throw bad(`${field}[${i}]`, 'must be a CIDR like 10.1.0.0/24 or fd00::/64', shown(item));
    return item;
  });
}

/** `gateway`: an address or a list of up to one per family. */
function gatewayList(value: unknown): string[] {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (items === undefined || items.length > 2) throw bad('gateway', 'must be an address or a list of up to two (one IPv4, one IPv6)');
  const out = items.map((item: unknown, i) => {
    if (typeof item !== 'string' || familyOf(item) === undefined) throw bad(`gateway[${i}]`, 'must be an IP address', shown(item));
    return item;
  });
  if (out.length === 2 && familyOf(out[0] ?? '') === familyOf(out[1] ?? '')) throw bad('gateway', 'at most one address per family');
  return out;
}

/** A layer3 node subnet's prefix length: an integer from 1 to `bits` (checked against the subnets by the definition). */
function prefixLength(value: unknown, field: string, bits: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > bits) throw bad(field, `must be an integer from 1 to ${bits}`, shown(value));
  return value;
}

const isTopology = (value: unknown): value is ManagedNetwork['topology'] => typeof value === 'string' && (TOPOLOGIES as readonly string[]).includes(value);

/** The managed network a config (or an ipam section) defines; undefined without `topology`. */
export function validateManaged(raw: Record<string, unknown>): ManagedNetwork | undefined {
  const topology = raw['topology'];
  const localnetKeys = ['physicalNetworkName', 'vlanID'].filter((k) => raw[k] !== undefined);
  const layer3Keys = ['hostSubnetLength', 'hostSubnetLengthV6'].filter((k) => raw[k] !== undefined);
  if (topology === undefined) {
    for (const key of ['subnets', 'excludeSubnets', 'gateway', ...localnetKeys, ...layer3Keys]) if (raw[key] !== undefined) throw bad(key, `needs "topology" (${TOPOLOGIES.join(', ')})`);
    return undefined;
  }
  if (!isTopology(topology)) throw bad('topology', `must be one of ${TOPOLOGIES.join(', ')}`, shown(topology));
  const subnets = cidrList(raw['subnets'], 'subnets');
  for (const family of [4, 6]) {
    if (subnets.filter((c) => parseCidr(c)?.family === family).length > 1) throw bad('subnets', `at most one IPv${family} subnet`);
  }
  const excludeSubnets = cidrList(raw['excludeSubnets'], 'excludeSubnets');
  if (excludeSubnets.length > 0 && subnets.length === 0) throw bad('excludeSubnets', 'needs subnets');
  let physicalNetworkName: string | undefined;
  let vlanId: number | undefined;
  if (topology === 'localnet') {
    const name = raw['physicalNetworkName'];
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw bad('physicalNetworkName', 'is required for localnet: 1-64 letters, digits, "_", "." or "-"', shown(name));
    physicalNetworkName = name;
    const vlan = raw['vlanID'];
    if (vlan !== undefined && (typeof vlan !== 'number' || !Number.isInteger(vlan) || vlan < 1 || vlan > 4094)) throw bad('vlanID', 'must be an integer from 1 to 4094', shown(vlan));
    vlanId = vlan;
  } else if (localnetKeys.length > 0) {
    throw bad(localnetKeys[0] ?? 'topology', 'only for topology localnet');
  }
  if (topology !== 'layer3' && layer3Keys.length > 0) throw bad(layer3Keys[0] ?? 'topology', 'only for topology layer3');
  if (topology === 'layer3') {
    if (subnets.length === 0) throw bad('subnets', 'is required for layer3: the cluster subnets that node subnets are cut from');
    if (raw['gateway'] !== undefined) throw bad('gateway', 'not for layer3: each node\'s gateway is its router port, the first host address of its node subnet');
  }
  const gateways = gatewayList(raw['gateway']);
  const net: ManagedNetwork = { topology, subnets, excludeSubnets, physicalNetworkName, vlanId, gateways };
  const v4Length = prefixLength(raw['hostSubnetLength'], 'hostSubnetLength', 32);
  const v6Length = prefixLength(raw['hostSubnetLengthV6'], 'hostSubnetLengthV6', 128);
  if (v4Length !== undefined) net.hostSubnetLength = v4Length;
  if (v6Length !== undefined) net.hostSubnetLengthV6 = v6Length;
  return net;
}
