/**
 * What the NamespacedNetwork sync should do, from the caches alone (pure), and the conditions
 * each NamespacedNetwork should show:
 * - Living: the finalizer first (SWITCH_FINALIZER); accepted when its spec is valid
 *   (namespacedDefinitionOf) and no subnet overlaps the admin's exclusions; then a NAD of the
 *   same name in its namespace only, labelled and owned by it. A NAD of that name that is not its
 *   own is left alone (Ready False, ForeignNetworkAttachmentDefinition). Not accepted: its NAD is
 *   kept as it is until the spec is fixed (as for Networks).
 * - Deleting: its NAD goes (the API server's garbage collector may not be there: it is deleted
 *   explicitly); its switch is deleted once no port is on it (Ready False, WaitingForPorts, with
 *   the count); once the switch is gone the finalizer is removed.
 * - NADs of ours whose NamespacedNetwork is gone are deleted, and so are empty switches of the
 *   tenant prefix that no NamespacedNetwork has.
 * Conditions: Accepted (Accepted, InvalidSpec, ExcludedSubnet); Ready
 * (NetworkAttachmentDefinitionReady, NotAccepted, ForeignNetworkAttachmentDefinition, ApplyFailed
 * (the sync's), WaitingForPorts, Deleting).
 */
import { excludedSubnet, namespacedDefinitionOf, SWITCH_FINALIZER, NAMESPACED_NETWORK_KIND } from '../k8s/namespaced.ts';
import { TENANT_SWITCH_PREFIX, tenantSwitchName } from '../k8s/tenant-switch.ts';
import type { Definition } from '../k8s/definition.ts';
import type { Subnet } from '../lib/ip.ts';
import type { SwitchUse } from '../ovn/tenant-switches.ts';
import { isObject } from '../cni-spec/json.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, NAD_GROUP, NAD_KIND, NAD_VERSION, type Condition, type NadObject } from './objects.ts';
import { NAMESPACED_NETWORK_API_VERSION, NAMESPACED_NETWORK_LABEL, namespacedNad, type NamespacedNetworkObject } from './tenant-objects.ts';
import { ACCEPTED, READY } from './conditions.ts';
import { NetworkSpecError } from '../errors.ts';

export type TenantAction =
  | { kind: 'add-finalizer'; network: NamespacedNetworkObject }
  | { kind: 'remove-finalizer'; network: NamespacedNetworkObject }
  | { kind: 'create-nad'; namespace: string; name: string; body: Record<string, unknown> }
  | { kind: 'update-nad'; namespace: string; name: string; body: Record<string, unknown> }
  | { kind: 'delete-nad'; namespace: string; name: string; resourceVersion: string }
  | { kind: 'delete-switch'; namespace: string; name: string; switchName: string; use: Extract<SwitchUse, { kind: 'present' }> };

export type DesiredCondition = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export interface TenantVerdict {
  network: NamespacedNetworkObject;
  switchName: string;
  /** The conditions it should show (others it has are kept). */
  conditions: DesiredCondition[];
}

export interface TenantPlanInput {
  networks: readonly NamespacedNetworkObject[];
  nads: readonly NadObject[];
  /** --tenant-excluded-subnets. */
  excluded: readonly Subnet[];
  switches: (name: string) => SwitchUse;
  /** The NB's switches of the tenant prefix that ovn-multinet made. */
  tenantSwitches: readonly string[];
}

export interface TenantPlan {
  actions: TenantAction[];
  verdicts: TenantVerdict[];
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The NAD a NamespacedNetwork wants: over `existing` (keeping others' labels, annotations, owners). */
export function desiredTenantNad(network: NamespacedNetworkObject, definition: Definition, existing?: NadObject): Record<string, unknown> {
  const meta = existing !== undefined && isObject(existing.raw['metadata']) ? existing.raw['metadata'] : {};
  const labels = { ...Object.fromEntries(existing?.labels ?? []), [MANAGED_BY_LABEL]: MANAGED_BY, [NAMESPACED_NETWORK_LABEL]: network.name };
  const mine = (o: unknown): boolean => isObject(o) && o['kind'] === NAMESPACED_NETWORK_KIND && o['apiVersion'] === NAMESPACED_NETWORK_API_VERSION;
  const others: unknown[] = Array.isArray(meta['ownerReferences']) ? meta['ownerReferences'].filter((o: unknown) => !mine(o)) : [];
  const owner = { apiVersion: NAMESPACED_NETWORK_API_VERSION, kind: NAMESPACED_NETWORK_KIND, name: network.name, uid: network.uid, controller: true, blockOwnerDeletion: true };
  return {
    apiVersion: `${NAD_GROUP}/${NAD_VERSION}`,
    kind: NAD_KIND,
    metadata: { ...meta, name: network.name, namespace: network.namespace, labels, ownerReferences: [...others, owner] },
    spec: { config: definition.config },
  };
}

type Acceptance = { definition: Definition } | { reason: 'InvalidSpec' | 'ExcludedSubnet'; message: string };

function accept(network: NamespacedNetworkObject, excluded: readonly Subnet[]): Acceptance {
  let definition: Definition;
  try {
    definition = namespacedDefinitionOf(network.namespace, network.name, network.spec);
  } catch (err) {
    if (err instanceof NetworkSpecError) return { reason: 'InvalidSpec', message: err.message };
    throw err;
  }
  const refused = excludedSubnet(definition, excluded);
  return refused === undefined ? { definition } : { reason: 'ExcludedSubnet', message: refused.message };
}

function deleting(network: NamespacedNetworkObject, switchName: string, nad: NadObject | undefined, use: SwitchUse, actions: TenantAction[]): DesiredCondition {
  const { namespace, name } = network;
  if (nad !== undefined) actions.push({ kind: 'delete-nad', namespace, name, resourceVersion: nad.resourceVersion });
  switch (use.kind) {
    case 'unknown':
      return { type: READY, status: 'False', reason: 'Deleting', message: `deleting: logical switch ${switchName} cannot be read yet (${use.why})` };
    case 'present':
      if (use.ports > 0) return { type: READY, status: 'False', reason: 'WaitingForPorts', message: `deleting: waiting for ${plural(use.ports, 'port')} on logical switch ${switchName} to go` };
      actions.push({ kind: 'delete-switch', namespace, name, switchName, use });
      return { type: READY, status: 'False', reason: 'Deleting', message: `deleting logical switch ${switchName}` };
    case 'missing':
      if (nad === undefined && network.finalizers.includes(SWITCH_FINALIZER)) actions.push({ kind: 'remove-finalizer', network });
      return { type: READY, status: 'False', reason: 'Deleting', message: `logical switch ${switchName} deleted` };
    default: {
      const never: never = use;
      return never;
    }
  }
}

export function planTenantNetworks(input: TenantPlanInput): TenantPlan {
  const nads = new Map(input.nads.map((n) => [`${n.namespace}/${n.name}`, n]));
  const actions: TenantAction[] = [];
  const verdicts: TenantVerdict[] = [];
  for (const network of input.networks) {
    const switchName = tenantSwitchName(network.namespace, network.name);
    const existing = nads.get(`${network.namespace}/${network.name}`);
    const own = existing !== undefined && namespacedNad(existing, network.name) ? existing : undefined;
    if (network.deleting) {
      verdicts.push({ network, switchName, conditions: [deleting(network, switchName, own, input.switches(switchName), actions)] });
      continue;
    }
    if (!network.finalizers.includes(SWITCH_FINALIZER)) actions.push({ kind: 'add-finalizer', network });
    const acceptance = accept(network, input.excluded);
    if (!('definition' in acceptance)) {
      verdicts.push({
        network,
        switchName,
        conditions: [
          { type: ACCEPTED, status: 'False', reason: acceptance.reason, message: acceptance.message },
          { type: READY, status: 'False', reason: 'NotAccepted', message: acceptance.message },
        ],
      });
      continue;
    }
    const { definition } = acceptance;
    const accepted: DesiredCondition = { type: ACCEPTED, status: 'True', reason: 'Accepted', message: `managed network on logical switch ${switchName}` };
    let ready: DesiredCondition;
    if (existing !== undefined && own === undefined) {
      ready = { type: READY, status: 'False', reason: 'ForeignNetworkAttachmentDefinition', message: `a NetworkAttachmentDefinition ${network.name} the controller did not make for this NamespacedNetwork is in the way` };
    } else {
      if (own === undefined) actions.push({ kind: 'create-nad', namespace: network.namespace, name: network.name, body: desiredTenantNad(network, definition) });
      else if (own.config !== definition.config || !own.ownerUids.includes(network.uid)) actions.push({ kind: 'update-nad', namespace: network.namespace, name: network.name, body: desiredTenantNad(network, definition, own) });
      ready = { type: READY, status: 'True', reason: 'NetworkAttachmentDefinitionReady', message: `NetworkAttachmentDefinition ${network.name} in namespace ${network.namespace}` };
    }
    verdicts.push({ network, switchName, conditions: [accepted, ready] });
  }
  const known = new Set(input.networks.map((n) => `${n.namespace}/${n.name}`));
  for (const nad of input.nads) {
    if (namespacedNad(nad) && !known.has(`${nad.namespace}/${nad.labels.get(NAMESPACED_NETWORK_LABEL) ?? ''}`)) actions.push({ kind: 'delete-nad', namespace: nad.namespace, name: nad.name, resourceVersion: nad.resourceVersion });
  }
  // A switch whose NamespacedNetwork is gone (an ADD that was already past the access check when
  // it was deleted made it again): deleted once empty, as the finalizer would have.
  const wanted = new Set(verdicts.map((v) => v.switchName));
  for (const switchName of input.tenantSwitches) {
    if (wanted.has(switchName)) continue;
    const use = input.switches(switchName);
    const [namespace = '', name = ''] = switchName.slice(TENANT_SWITCH_PREFIX.length).split('/');
    if (use.kind === 'present' && use.ports === 0) actions.push({ kind: 'delete-switch', namespace, name, switchName, use });
  }
  return { actions, verdicts };
}
