/**
 * A layer3 network's node subnets, pure (like pool.ts): the cluster subnet of each family is cut
 * into node subnets of the definition's length, and each node takes one per family. Who holds
 * which is recorded on the network's logical router, `ovn-multinet/node-subnet:<cidr>` = the
 * node, and taken with the guarded insert-then-wait of guards.ts (daemon/ovn/layer3.ts): two
 * nodes never end with overlapping subnets.
 */
import { Layer3Keys } from './ids.ts';
import { bigIntToIp, bitsOf, parseSubnet, type Subnet } from '../lib/ip.ts';

/** How many node subnets are looked at before a cluster subnet counts as full (IPv6 ones are vast). */
const MAX_PROBES = 1n << 16n;

export function nodeSubnetKey(cidr: string): string {
  return `${Layer3Keys.nodeSubnet}${cidr}`;
}

/** The node subnets the router's keys give to `node`, by CIDR. */
export function nodeSubnetsOf(routerIds: ReadonlyMap<string, string>, node: string): Subnet[] {
  const out: Subnet[] = [];
  for (const [key, value] of routerIds) {
    if (value !== node || !key.startsWith(Layer3Keys.nodeSubnet)) continue;
    const subnet = parseSubnet(key.slice(Layer3Keys.nodeSubnet.length));
    if (subnet !== undefined) out.push(subnet);
  }
  return out;
}

/**
 * The first node subnet of `cluster`, `length` long, that no key of `routerIds` holds; undefined
 * when every one is taken. `length` is longer than the cluster's prefix (the definition checks).
 */
export function freeNodeSubnet(cluster: Subnet, length: number, routerIds: ReadonlyMap<string, string>): Subnet | undefined {
  const size = 1n << BigInt(bitsOf(cluster.family) - length);
  const count = 1n << BigInt(length - cluster.prefixLength);
  const probes = count < MAX_PROBES ? count : MAX_PROBES;
  for (let i = 0n; i < probes; i++) {
    const network = cluster.network + i * size;
    const cidr = `${bigIntToIp(network, cluster.family)}/${length}`;
    if (!routerIds.has(nodeSubnetKey(cidr))) return { family: cluster.family, cidr, network, prefixLength: length, last: network + size - 1n };
  }
  return undefined;
}
