/**
 * The NB's side of plan.ts's input: every ovn-multinet logical switch port that records a pod,
 * as a PolicyAttachment, read from the controller's NB cache (daemon/ovn/exposed.ts monitors
 * only ovn-multinet's ports). A port's switch is the one its ScopeKeys.switch key names (every
 * port a daemon makes carries it); a port without it, or whose switch is not in the cache, is
 * left out until it has one. A layer3 network's ports count as on its logicalSwitch, the name its
 * NADs give, whichever node switch holds them (port groups and address sets span switches).
 */
import { NbTable } from '../ovsdb/models/nb.ts';
import { isUuid } from '../ovsdb/notation.ts';
import type { ControllerNbClient } from '../ovn/exposed.ts';
import { parsePortAddresses } from '../ovn/entries.ts';
import { OWNER_VALUE, OwnerKeys, ScopeKeys, targetIdsOf } from '../ovn/ids.ts';
import { ipamOnlyIps } from '../ovn/ports.ts';
import { networkOfSwitch } from '../ovn/layer3.ts';
import type { PodIdentity, PolicyAttachment } from './model.ts';

/** The pod an attachment's owner ids (ids.ts ownerExternalIds) name; undefined without namespace and name. */
function podOf(ids: ReadonlyMap<string, string>): PodIdentity | undefined {
  const namespace = ids.get(OwnerKeys.podNamespace);
  const name = ids.get(OwnerKeys.podName);
  if (namespace === undefined || name === undefined || namespace === '' || name === '') return undefined;
  // A runtime that passed no K8S_POD_UID: the plan matches the pod by namespace and name.
  return { namespace, name, uid: ids.get(OwnerKeys.podUid) ?? '' };
}

/** The attachment of one port's external_ids, addresses and switch name (pure). */
export function toAttachment(port: string, switchName: string, addresses: readonly string[], ids: ReadonlyMap<string, string>): PolicyAttachment | undefined {
  if (ids.get(OwnerKeys.owner) !== OWNER_VALUE) return undefined;
  const owner = podOf(ids);
  if (owner === undefined) return undefined;
  const pods = [owner];
  // During a live migration the target's pod shares the port (ipam/migration.ts).
  const target = podOf(targetIdsOf(ids));
  if (target !== undefined && !(target.namespace === owner.namespace && target.name === owner.name && target.uid === owner.uid)) pods.push(target);
  const held = ipamOnlyIps(ids);
  const ips = held ?? addresses.flatMap((entry) => parsePortAddresses(entry).ips);
  return { port, switchName, pods, ips: [...new Set(ips)], ipamOnly: held !== undefined };
}

/** Every ovn-multinet port in the controller's cache that records a pod, sorted by port name. */
export function attachmentsFromNb(nb: ControllerNbClient): PolicyAttachment[] {
  const found: PolicyAttachment[] = [];
  for (const row of nb.cache.table(NbTable.Logical_Switch_Port).values()) {
    const switchUuid = row.external_ids.get(ScopeKeys.switch);
    const sw = isUuid(switchUuid) ? nb.cache.row(NbTable.Logical_Switch, switchUuid) : undefined;
    if (sw === undefined) continue;
    const attachment = toAttachment(row.name, networkOfSwitch(sw.name, sw.external_ids), row.addresses, row.external_ids);
    if (attachment !== undefined) found.push(attachment);
  }
  return found.sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : 0));
}
