/**
 * What the NAD sync should do, computed from the caches alone (pure): for every Network, whether
 * it is accepted (a valid spec whose managed definition conflicts with no other Network and with
 * the switch in the NB), the namespaces it selects, and the NAD creates, updates and deletes that
 * make every selected namespace hold its NAD and no other namespace hold one of ours.
 *
 * Rules: a NAD is the controller's when it carries MANAGED_BY_LABEL; any other NAD of the same
 * name is foreign and left alone (reported). A Network that is not accepted keeps its NADs as
 * they are (neither created, updated nor deleted) until its spec is fixed. NADs of a Network that
 * no longer exists are deleted. NADs of NamespacedNetworks are tenant-plan.ts's, foreign here. Among managed Networks naming the same switch with different
 * definitions, the switch in the NB decides; before it exists, the oldest Network does.
 */
import { parseLabelSelector, selectorMatches, type LabelSelector } from '../k8s/labels.ts';
import { OwnerKeys } from '../ovn/ids.ts';
import { definitionOf, type Definition } from '../k8s/definition.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, NAD_GROUP, NAD_KIND, NAD_VERSION, NETWORK_API_VERSION, NETWORK_KIND, NETWORK_LABEL, ownedNad, type NadObject, type NamespaceObject, type NetworkObject } from './objects.ts';
import { isObject } from '../cni-spec/json.ts';
import { isLabelValue } from '../k8s/names.ts';
import { namespacedNad } from './tenant-objects.ts';
import { LabelSelectorError, NetworkSpecError } from '../errors.ts';

/** A logical switch as the NB cache knows it: its external_ids, or why not. */
export type SwitchState = ReadonlyMap<string, string> | 'missing' | 'ambiguous' | 'unknown';

export type NadAction =
  | { kind: 'create'; network: string; namespace: string; body: Record<string, unknown> }
  | { kind: 'update'; network: string; namespace: string; body: Record<string, unknown> }
  | { kind: 'delete'; network: string; namespace: string; resourceVersion: string };

export type Acceptance = { accepted: true; definition: Definition } | { accepted: false; reason: 'InvalidSpec' | 'DefinitionConflict'; message: string };

export interface NetworkVerdict {
  network: NetworkObject;
  acceptance: Acceptance;
  /** Selected namespaces (sorted) that hold, or will once the actions are done, the NAD. */
  selected: string[];
  /** Selected namespaces where a NAD of this name that is not the controller's is in the way. */
  foreign: string[];
  /** spec.logicalSwitch names a switch the NB does not have. */
  switchMissing: boolean;
}

export interface PlanInput {
  networks: readonly NetworkObject[];
  namespaces: readonly NamespaceObject[];
  nads: readonly NadObject[];
  switches: (name: string) => SwitchState;
}

export interface Plan {
  actions: NadAction[];
  verdicts: NetworkVerdict[];
}

const byAge = (a: NetworkObject, b: NetworkObject): number => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name);

type Parsed = { network: NetworkObject; selector: LabelSelector | undefined; acceptance: Acceptance };

function parse(network: NetworkObject): Parsed {
  try {
    const selector = parseLabelSelector(network.spec['namespaceSelector'], 'spec.namespaceSelector');
    return { network, selector, acceptance: { accepted: true, definition: definitionOf(network.name, network.spec) } };
  } catch (err) {
    if (!(err instanceof NetworkSpecError || err instanceof LabelSelectorError)) throw err;
    return { network, selector: undefined, acceptance: { accepted: false, reason: 'InvalidSpec', message: err.message } };
  }
}

/** Marks managed Networks whose definition differs from the switch's (or the oldest Network's). */
function checkDefinitions(parsed: Parsed[], switches: PlanInput['switches']): void {
  type Entry = { p: Parsed; managed: string };
  const groups = new Map<string, Entry[]>();
  for (const p of parsed) {
    if (!p.acceptance.accepted || p.acceptance.definition.managed === undefined) continue;
    const { switchName, managed } = p.acceptance.definition;
    groups.set(switchName, [...(groups.get(switchName) ?? []), { p, managed }]);
  }
  for (const [switchName, group] of groups) {
    const state = switches(switchName);
    let conflict: (e: Entry) => string | undefined;
    if (state === 'ambiguous') {
      conflict = () => `more than one logical switch is named ${switchName}`;
    } else if (typeof state === 'object') {
      const theirs = state.get(OwnerKeys.networkDefinition);
      const creator = state.get(OwnerKeys.managedNetwork);
      conflict = (e) => {
        if (theirs === undefined || creator === undefined) return `logical switch ${switchName} exists and was not created by ovn-multinet; spec.logicalSwitch exposes it as it is`;
        if (theirs === e.managed) return undefined;
        return `logical switch ${switchName} was created (network ${creator}) with another definition: ${theirs}; this Network's: ${e.managed}`;
      };
    } else {
      const oldest = [...group].sort((a, b) => byAge(a.p.network, b.p.network))[0];
      conflict = (e) => {
        if (oldest === undefined || oldest.managed === e.managed) return undefined;
        return `Network ${oldest.p.network.name} (older) defines logical switch ${switchName} differently: ${oldest.managed}; this Network's: ${e.managed}`;
      };
    }
    for (const e of group) {
      const message = conflict(e);
      if (message !== undefined) e.p.acceptance = { accepted: false, reason: 'DefinitionConflict', message };
    }
  }
}

const nadKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The controller's NADs of Networks (not those of NamespacedNetworks: tenant-plan.ts). */
const networkNad = (nad: NadObject): boolean => ownedNad(nad) && !namespacedNad(nad);

function ownerReference(network: NetworkObject): Record<string, unknown> {
  return { apiVersion: NETWORK_API_VERSION, kind: NETWORK_KIND, name: network.name, uid: network.uid, controller: true };
}

/** The NAD the Network wants in `namespace`: over `existing` (keeping others' labels, annotations, owners). */
export function desiredNad(network: NetworkObject, definition: Definition, namespace: string, existing?: NadObject): Record<string, unknown> {
  const meta = existing !== undefined && isObject(existing.raw['metadata']) ? existing.raw['metadata'] : {};
  const labels: Record<string, string> = { ...Object.fromEntries(existing?.labels ?? []), [MANAGED_BY_LABEL]: MANAGED_BY };
  if (isLabelValue(network.name)) labels[NETWORK_LABEL] = network.name;
  const others: unknown[] = Array.isArray(meta['ownerReferences']) ? meta['ownerReferences'].filter((o: unknown) => !(isObject(o) && o['kind'] === NETWORK_KIND && o['apiVersion'] === NETWORK_API_VERSION)) : [];
  return {
    apiVersion: `${NAD_GROUP}/${NAD_VERSION}`,
    kind: NAD_KIND,
    metadata: { ...meta, name: network.name, namespace, labels, ownerReferences: [...others, ownerReference(network)] },
    spec: { config: definition.config },
  };
}

function upToDate(nad: NadObject, network: NetworkObject, definition: Definition): boolean {
  return (
    nad.config === definition.config &&
    nad.ownerUids.includes(network.uid) &&
    (!isLabelValue(network.name) || nad.labels.get(NETWORK_LABEL) === network.name)
  );
}

export function planNads(input: PlanInput): Plan {
  const parsed = input.networks.map(parse);
  checkDefinitions(parsed, input.switches);
  const nads = new Map(input.nads.map((n) => [nadKey(n.namespace, n.name), n]));
  const namespaces = [...input.namespaces].sort((a, b) => a.name.localeCompare(b.name));
  const actions: NadAction[] = [];
  const verdicts: NetworkVerdict[] = [];
  for (const { network, selector, acceptance } of parsed) {
    const verdict: NetworkVerdict = { network, acceptance, selected: [], foreign: [], switchMissing: false };
    verdicts.push(verdict);
    if (!acceptance.accepted) continue;
    const { definition } = acceptance;
    verdict.switchMissing = definition.managed === undefined && input.switches(definition.switchName) === 'missing';
    for (const ns of namespaces) {
      const existing = nads.get(nadKey(ns.name, network.name));
      const owned = existing !== undefined && networkNad(existing);
      if (!ns.terminating && selectorMatches(selector, ns.labels)) {
        if (existing !== undefined && !owned) {
          verdict.foreign.push(ns.name);
          continue;
        }
        verdict.selected.push(ns.name);
        if (existing === undefined) actions.push({ kind: 'create', network: network.name, namespace: ns.name, body: desiredNad(network, definition, ns.name) });
        else if (!upToDate(existing, network, definition)) actions.push({ kind: 'update', network: network.name, namespace: ns.name, body: desiredNad(network, definition, ns.name, existing) });
      } else if (owned) {
        actions.push({ kind: 'delete', network: network.name, namespace: ns.name, resourceVersion: existing.resourceVersion });
      }
    }
  }
  const known = new Set(input.networks.map((n) => n.name));
  for (const nad of input.nads) {
    if (networkNad(nad) && !known.has(nad.name)) actions.push({ kind: 'delete', network: nad.name, namespace: nad.namespace, resourceVersion: nad.resourceVersion });
  }
  return { actions, verdicts };
}
