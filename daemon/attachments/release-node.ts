/**
 * Releases a dead node's attachments: every logical switch port ovn-multinet made for the node
 * goes as a DEL's does (deleteLogicalPort: its guard keys freed in the same transaction; an
 * IPAMClaim's port shared in a live migration handed over to, or left to, the other pod), so its addresses are free again. OVS state and
 * veths on the node are not touched: the node is gone. Reads through a short-lived NB client
 * that monitors only that node's ports, their switches and their IPAMClaims' other ports.
 * Then the node's layer3 switches (ovn/layer3-release.ts) that no port holds any more.
 * Used by the controller's dead-node loop and by `ovn-multinetd gc --node`.
 */
import type { Logger } from '../lib/log.ts';
import type { NbFlags } from '../lib/flags.ts';
import { OWNER_VALUE, OwnerKeys, targetIdsOf } from '../ovn/ids.ts';
import { portsByNode } from '../ovn/indexes.ts';
import { NODE_PORTS_MONITOR, nodePortConditions } from '../ovn/node-ports.ts';
import { findPort, portEntry } from '../ovn/ports.ts';
import { switchOfPort } from '../ovn/switches.ts';
import { nbClient, type NbClient } from '../ovn/nb.ts';
import { deleteLogicalPort } from '../ipam/allocate.ts';
import { releaseLayer3Switches } from '../ovn/layer3-release.ts';

export interface ReleasedPort {
  name: string;
  switchName: string;
  /** "MAC IP..." */
  entry: string;
  containerId: string | undefined;
  /** namespace/name, when the runtime passed the pod. */
  pod: string | undefined;
}

/** Told before each port and once at the end: how many of how many are done (`ovn-multinetd gc`'s progress line). */
export type ReleaseProgress = (done: number, total: number) => void;

/** Releases every ovn-multinet port of `node` in the NB `nb` (monitoring with nodePortConditions). */
export async function releasePortsOf(nb: NbClient, node: string, signal: AbortSignal, progress?: ReleaseProgress): Promise<ReleasedPort[]> {
  const released: ReleasedPort[] = [];
  const rows = [...portsByNode(nb).rows(node)];
  for (const [i, row] of rows.entries()) {
    progress?.(i, rows.length);
    const all = row.external_ids;
    if (all.get(OwnerKeys.owner) !== OWNER_VALUE) continue;
    const port = findPort(nb, row.name);
    const sw = port === undefined ? undefined : switchOfPort(nb, port.uuid);
    // A port on no switch is no port: the NB drops it with its last reference.
    if (port === undefined || sw === undefined) continue;
    // The node's attachment of the port: its owner, or a live migration's target.
    const ids = all.get(OwnerKeys.node) === node ? all : targetIdsOf(all);
    await deleteLogicalPort(nb, { containerId: ids.get(OwnerKeys.containerId) ?? '', ifName: ids.get(OwnerKeys.ifName) ?? '' }, signal);
    const namespace = ids.get(OwnerKeys.podNamespace);
    const podName = ids.get(OwnerKeys.podName);
    released.push({
      name: port.name,
      switchName: sw.name,
      entry: portEntry(port),
      containerId: ids.get(OwnerKeys.containerId),
      pod: namespace === undefined || podName === undefined ? undefined : `${namespace}/${podName}`,
    });
  }
  progress?.(rows.length, rows.length);
  return released;
}

/**
 * Connects to the NB of `flags` with a monitor of `node`'s ports only, releases them, closes.
 * `signal` bounds the whole (an NB that cannot be reached: its reason is thrown).
 */
export async function releaseNode(flags: NbFlags, node: string, log: Logger, signal: AbortSignal, progress?: ReleaseProgress): Promise<ReleasedPort[]> {
  // The conditions are read at connect time, after the client exists.
  const client: NbClient = nbClient(flags, NODE_PORTS_MONITOR, log, { conditions: () => nodePortConditions(node, client) });
  client.start();
  try {
    await client.waitConnected(signal);
    // The node's ports are in; this brings their switches and their claims' other ports.
    await client.updateConditions(signal);
    const released = await releasePortsOf(client, node, signal, progress);
    // Its layer3 switches, subnets and router ports, once no port is left on them.
    const { deleted, kept } = await releaseLayer3Switches(client, node, signal);
    for (const name of deleted) log.info({ node, switch: name }, 'dead node: layer3 switch, router port and node subnet released');
    for (const sw of kept) log.warn({ node, switch: sw.name, ports: sw.ports }, 'dead node: layer3 switch kept, it still has ports');
    return released;
  } finally {
    await client.close();
  }
}
