/**
 * Interface discovery (docs/interface-discovery.md): the JSONPatch the pod webhook gives a pod that
 * asks for networks, so that its containers learn which interface is which network without API
 * access. Every container and init container gets environment variables naming the interfaces,
 * and a read-only downward-API volume with the pod's `networks` and `network-status` annotations.
 * Pure. What a container already has is never changed: a variable it sets, a mount at the path,
 * a volume of the name; so a second pass over a pod already patched adds nothing.
 */
import { isObject } from '../cni-spec/json.ts';
import { NETWORKS_ANNOTATION, NETWORK_STATUS_ANNOTATION, parseNetworkSelections, type NetworkSelection } from '../k8s/selection.ts';
import { NetworkSelectionError } from '../errors.ts';

/** Every interface at once: `red=net1,tenant/blue=net2`. */
export const INTERFACES_ENV = 'OVN_MULTINET_INTERFACES';
/** One variable per network: `OVN_MULTINET_IF_RED=net1`. */
export const INTERFACE_ENV_PREFIX = 'OVN_MULTINET_IF_';
export const DISCOVERY_VOLUME = 'ovn-multinet-networks';
export const DISCOVERY_MOUNT_PATH = '/etc/ovn-multinet/networks';
/** The files in the volume and the annotations they hold. */
export const DISCOVERY_FILES = { 'network-status': NETWORK_STATUS_ANNOTATION, networks: NETWORKS_ANNOTATION } as const;

/** One interface of the pod: the network as the pod named it, and the interface Multus gives it. */
export interface PodInterface {
  /** `name` in the pod's namespace, `namespace/name` in another. */
  network: string;
  interface: string;
}

export interface JsonPatchAdd {
  op: 'add';
  path: string;
  value: unknown;
}

export type DiscoveryPlan =
  /** The pod asks for no network: nothing to add. */
  | { kind: 'none' }
  /** What to add (empty when the pod already has it all); `skipped` says what was left out and why. */
  | { kind: 'patch'; interfaces: PodInterface[]; patch: JsonPatchAdd[]; skipped: string[] }
  /** The annotation or the pod is malformed: no patch (the daemon refuses the ADD later). */
  | { kind: 'invalid'; reason: string };

/**
 * Multus's names (pkg/multus getIfname): the element's `interface`, else `net<N>`, N the element's
 * position in Multus's delegate list, where the cluster network is 0: the pod's first element is
 * net1. Multus `defaultNetworks` come before the pod's elements and shift N (the volume's
 * network-status file is then the truth).
 */
export function podInterfaces(elements: readonly NetworkSelection[], podNamespace: string): PodInterface[] {
  return elements.map((element, i) => ({
    network: element.namespace === podNamespace ? element.name : `${element.namespace}/${element.name}`,
    interface: element.interface ?? `net${i + 1}`,
  }));
}

/** `tenant/blue-net` → `TENANT__BLUE_NET`: letters upper-cased, `/` as `__`, anything else not alphanumeric as `_`. */
export function networkEnvSuffix(network: string): string {
  return network.toUpperCase().replaceAll('/', '__').replace(/[^A-Z0-9_]/g, '_');
}

/**
 * The variables: the list, then one per network (its interfaces comma-separated when the pod
 * attaches it more than once). Two networks whose names give the same variable get none of
 * their own (named in `skipped`): a value must never name the wrong network.
 */
export function discoveryEnv(interfaces: readonly PodInterface[]): { env: { name: string; value: string }[]; skipped: string[] } {
  const byName = new Map<string, { networks: Set<string>; interfaces: string[] }>();
  for (const { network, interface: ifName } of interfaces) {
    const name = `${INTERFACE_ENV_PREFIX}${networkEnvSuffix(network)}`;
    const entry = byName.get(name) ?? { networks: new Set<string>(), interfaces: [] };
    entry.networks.add(network);
    entry.interfaces.push(ifName);
    byName.set(name, entry);
  }
  const env = [{ name: INTERFACES_ENV, value: interfaces.map((i) => `${i.network}=${i.interface}`).join(',') }];
  const skipped: string[] = [];
  for (const [name, entry] of byName) {
    if (entry.networks.size === 1) env.push({ name, value: entry.interfaces.join(',') });
    else skipped.push(`${name}: the networks ${[...entry.networks].join(', ')} would share it`);
  }
  return { env, skipped };
}

function discoveryVolume(): Record<string, unknown> {
  return {
    name: DISCOVERY_VOLUME,
    downwardAPI: {
      items: Object.entries(DISCOVERY_FILES).map(([path, annotation]) => ({ path, fieldRef: { fieldPath: `metadata.annotations['${annotation}']` } })),
    },
  };
}

type Obj = Record<string, unknown>;

/** A list of objects, or undefined when absent; throws (a reason) when it is something else. */
function objects(value: unknown, where: string): Obj[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every(isObject)) throw new NetworkSelectionError(where, 'must be a list of objects');
  return value;
}

const names = (list: Obj[] | undefined, key: string): Set<unknown> => new Set((list ?? []).map((o) => o[key]));

/** Adds `items` to the list at `path`: the whole list when there is none, else each at its end. */
function appendAll(patch: JsonPatchAdd[], path: string, list: Obj[] | undefined, items: readonly unknown[]): void {
  if (items.length === 0) return;
  if (list === undefined) patch.push({ op: 'add', path, value: items });
  else for (const value of items) patch.push({ op: 'add', path: `${path}/-`, value });
}

/** The plan for a pod being created in `podNamespace` (the AdmissionReview's request.namespace). */
export function discoveryPlan(pod: unknown, podNamespace: string): DiscoveryPlan {
  try {
    if (!isObject(pod)) throw new NetworkSelectionError('object', 'must be a pod');
    const metadata = pod['metadata'];
    const annotations = isObject(metadata) ? metadata['annotations'] : undefined;
    const value = isObject(annotations) ? annotations[NETWORKS_ANNOTATION] : undefined;
    if (value === undefined) return { kind: 'none' };
    if (typeof value !== 'string') throw new NetworkSelectionError(NETWORKS_ANNOTATION, 'must be a string');
    const elements = parseNetworkSelections(value, podNamespace);
    if (elements.length === 0) return { kind: 'none' };
    const interfaces = podInterfaces(elements, podNamespace);
    const { env, skipped } = discoveryEnv(interfaces);
    const spec = pod['spec'];
    if (!isObject(spec)) throw new NetworkSelectionError('spec', 'must be an object');
    const patch: JsonPatchAdd[] = [];
    const volumes = objects(spec['volumes'], 'spec.volumes');
    const existing = (volumes ?? []).find((v) => v['name'] === DISCOVERY_VOLUME);
    // A volume of that name that is not a downward-API one is the pod's own: not mounted at our path.
    const mount = existing === undefined || isObject(existing['downwardAPI']);
    if (!mount) skipped.push(`volume ${DISCOVERY_VOLUME}: the pod has its own volume of that name`);
    if (existing === undefined) appendAll(patch, '/spec/volumes', volumes, [discoveryVolume()]);
    for (const key of ['initContainers', 'containers'] as const) {
      const containers = objects(spec[key], `spec.${key}`) ?? [];
      containers.forEach((container, i) => {
        const path = `/spec/${key}/${i}`;
        const own = objects(container['env'], `spec.${key}[${i}].env`);
        const set = names(own, 'name');
        appendAll(patch, `${path}/env`, own, env.filter((e) => !set.has(e.name)));
        if (!mount) return;
        const mounts = objects(container['volumeMounts'], `spec.${key}[${i}].volumeMounts`);
        const taken = names(mounts, 'name').has(DISCOVERY_VOLUME) || names(mounts, 'mountPath').has(DISCOVERY_MOUNT_PATH);
        if (!taken) appendAll(patch, `${path}/volumeMounts`, mounts, [{ name: DISCOVERY_VOLUME, mountPath: DISCOVERY_MOUNT_PATH, readOnly: true }]);
      });
    }
    return { kind: 'patch', interfaces, patch, skipped };
  } catch (err) {
    if (err instanceof NetworkSelectionError) return { kind: 'invalid', reason: err.message };
    throw err;
  }
}
