/**
 * NamespacedNetworks as the controller reads them (narrowed once), and the marks on the NADs it
 * makes for them: its managed-by label (objects.ts) plus NAMESPACED_NETWORK_LABEL, which keeps
 * them apart from the NADs of Networks (plan.ts leaves them alone).
 */
import { isObject } from '../cni-spec/json.ts';
import { NETWORK_GROUP, NETWORK_VERSION } from '../k8s/networks.ts';
import { ownedNad, toCondition, type Condition, type NadObject } from './objects.ts';

/** On the NADs of NamespacedNetworks: the NamespacedNetwork's name (a DNS label, so a valid label value). */
export const NAMESPACED_NETWORK_LABEL = 'ovn-multinet.io/namespaced-network';
export const NAMESPACED_NETWORK_API_VERSION = `${NETWORK_GROUP}/${NETWORK_VERSION}`;

export interface NamespacedNetworkObject {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  /** metadata.deletionTimestamp is set: it waits for its finalizers. */
  deleting: boolean;
  finalizers: readonly string[];
  spec: Readonly<Record<string, unknown>>;
  conditions: Condition[];
  raw: Readonly<Record<string, unknown>>;
}

export function toNamespacedNetworkObject(raw: unknown): NamespacedNetworkObject | undefined {
  if (!isObject(raw) || !isObject(raw['metadata'])) return undefined;
  const meta = raw['metadata'];
  if (typeof meta['name'] !== 'string' || typeof meta['namespace'] !== 'string') return undefined;
  const status = isObject(raw['status']) ? raw['status'] : {};
  const finalizers = Array.isArray(meta['finalizers']) ? meta['finalizers'].filter((f: unknown): f is string => typeof f === 'string') : [];
  return {
    namespace: meta['namespace'],
    name: meta['name'],
    uid: typeof meta['uid'] === 'string' ? meta['uid'] : '',
    resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '',
    generation: typeof meta['generation'] === 'number' ? meta['generation'] : 0,
    deleting: meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null,
    finalizers,
    spec: isObject(raw['spec']) ? raw['spec'] : {},
    conditions: Array.isArray(status['conditions']) ? status['conditions'].map(toCondition).filter((c) => c !== undefined) : [],
    raw,
  };
}

/** A NAD the controller made for a NamespacedNetwork (of this name, when given). */
export const namespacedNad = (nad: NadObject, name?: string): boolean =>
  ownedNad(nad) && nad.labels.has(NAMESPACED_NETWORK_LABEL) && (name === undefined || nad.labels.get(NAMESPACED_NETWORK_LABEL) === name);
