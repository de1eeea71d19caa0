/**
 * The Kubernetes objects the controller reads and writes, narrowed once from what the API server
 * sends: Networks (with their status conditions), Namespaces and NetworkAttachmentDefinitions.
 * Also the names, labels and marks the controller puts on what it owns.
 */
import { NETWORK_GROUP, NETWORK_VERSION } from '../k8s/networks.ts';
import { isObject } from '../cni-spec/json.ts';

export const NAD_GROUP = 'k8s.cni.cncf.io';
export const NAD_VERSION = 'v1';
export const NAD_PLURAL = 'network-attachment-definitions';
export const NAD_KIND = 'NetworkAttachmentDefinition';
export const NETWORK_KIND = 'Network';
export const NETWORK_API_VERSION = `${NETWORK_GROUP}/${NETWORK_VERSION}`;

/** On every NAD the controller owns (ownership is this label, with this value). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'ovn-multinet-controller';
/** On NADs: the Network they come from (when its name fits a label value). */
export const NETWORK_LABEL = 'ovn-multinet.io/network';
/** On Networks the controller made from a marked logical switch (auto-expose). */
export const DISCOVERED_LABEL = 'ovn-multinet.io/discovered';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export interface NetworkObject {
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  labels: ReadonlyMap<string, string>;
  /** As sent; k8s/definition.ts narrows it. */
  spec: Readonly<Record<string, unknown>>;
  conditions: Condition[];
  /** The object as the API server sent it, for writes that must keep the rest. */
  raw: Readonly<Record<string, unknown>>;
}

export interface NamespaceObject {
  name: string;
  labels: ReadonlyMap<string, string>;
  /** Being deleted: NADs cannot be created there. */
  terminating: boolean;
}

export interface NadObject {
  namespace: string;
  name: string;
  resourceVersion: string;
  labels: ReadonlyMap<string, string>;
  /** spec.config, the CNI config as a JSON string. */
  config: string | undefined;
  ownerUids: readonly string[];
  raw: Readonly<Record<string, unknown>>;
}


function stringMap(v: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (isObject(v)) for (const [k, val] of Object.entries(v)) if (typeof val === 'string') map.set(k, val);
  return map;
}

function metadataOf(raw: unknown): Record<string, unknown> | undefined {
  if (!isObject(raw) || !isObject(raw['metadata']) || typeof raw['metadata']['name'] !== 'string') return undefined;
  return raw['metadata'];
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

const STATUSES: readonly string[] = ['True', 'False', 'Unknown'] satisfies ConditionStatus[];

export function toCondition(raw: unknown): Condition | undefined {
  if (!isObject(raw) || typeof raw['type'] !== 'string' || typeof raw['status'] !== 'string' || !STATUSES.includes(raw['status'])) return undefined;
  return {
    type: raw['type'],
    status: raw['status'] as ConditionStatus,
    reason: text(raw['reason']),
    message: text(raw['message']),
    lastTransitionTime: text(raw['lastTransitionTime']),
    observedGeneration: typeof raw['observedGeneration'] === 'number' ? raw['observedGeneration'] : 0,
  };
}

export function toNetworkObject(raw: unknown): NetworkObject | undefined {
  const meta = metadataOf(raw);
  if (meta === undefined || !isObject(raw)) return undefined;
  const status = isObject(raw['status']) ? raw['status'] : {};
  const conditions = Array.isArray(status['conditions']) ? status['conditions'].map(toCondition).filter((c) => c !== undefined) : [];
  return {
    name: text(meta['name']),
    uid: text(meta['uid']),
    resourceVersion: text(meta['resourceVersion']),
    generation: typeof meta['generation'] === 'number' ? meta['generation'] : 0,
    creationTimestamp: text(meta['creationTimestamp']),
    labels: stringMap(meta['labels']),
    spec: isObject(raw['spec']) ? raw['spec'] : {},
    conditions,
    raw,
  };
}

export function toNamespaceObject(raw: unknown): NamespaceObject | undefined {
  const meta = metadataOf(raw);
  if (meta === undefined || !isObject(raw)) return undefined;
  const phase = isObject(raw['status']) ? raw['status']['phase'] : undefined;
  return { name: text(meta['name']), labels: stringMap(meta['labels']), terminating: meta['deletionTimestamp'] !== undefined || phase === 'Terminating' };
}

export function toNadObject(raw: unknown): NadObject | undefined {
  const meta = metadataOf(raw);
  if (meta === undefined || !isObject(raw) || typeof meta['namespace'] !== 'string') return undefined;
  const spec = isObject(raw['spec']) ? raw['spec'] : {};
  const owners = Array.isArray(meta['ownerReferences']) ? meta['ownerReferences'] : [];
  return {
    namespace: meta['namespace'],
    name: text(meta['name']),
    resourceVersion: text(meta['resourceVersion']),
    labels: stringMap(meta['labels']),
    config: typeof spec['config'] === 'string' ? spec['config'] : undefined,
    ownerUids: owners.map((o: unknown) => (isObject(o) ? text(o['uid']) : '')).filter((uid) => uid !== ''),
    raw,
  };
}

export const ownedNad = (nad: NadObject): boolean => nad.labels.get(MANAGED_BY_LABEL) === MANAGED_BY;

