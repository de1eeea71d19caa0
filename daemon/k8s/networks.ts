/**
 * Network objects (CRD networks.ovn-multinet.io/v1, cluster-scoped, manifests/crd-network.yaml):
 * a Network named like a CNI config's `name` restricts which namespaces may attach to that
 * network, through `spec.namespaceSelector` (daemon/k8s/labels.ts semantics: `{}` selects every
 * namespace, an absent selector none). No Network of that name: the network is open, as without
 * Kubernetes. Networks and Namespaces are list+watched cluster-wide, so an ADD needs no API call;
 * a namespace the watch has not delivered yet is waited for, then read once.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Namespace } from '@kubernetes/client-node';
import { withSignal } from './signal.ts';
import type { Logger } from '../lib/log.ts';
import { parseLabelSelector, selectorMatches, type LabelSelector } from './labels.ts';
import { WatchedCache } from './watch.ts';
import { isObject } from '../cni-spec/json.ts';
import { ApiServerUnreachableError, InvalidConfigError, LabelSelectorError, NamespaceNotFoundError, NetworkLookupError, UnknownContainerError } from '../errors.ts';

export const NETWORK_GROUP = 'ovn-multinet.io';
export const NETWORK_VERSION = 'v1';
export const NETWORK_PLURAL = 'networks';

/** What the daemon reads from a Network, narrowed once. */
export interface NetworkInfo {
  name: string;
  /** undefined: absent (selects no namespace); an Error: invalid (refused with 7). */
  namespaceSelector: LabelSelector | undefined | LabelSelectorError;
}

/** Where Networks and namespace labels come from; the fake in unit tests satisfies it too. */
export interface NetworkSource {
  /** The Network called `name`, undefined when none exists. */
  network(name: string, signal: AbortSignal): Promise<NetworkInfo | undefined>;
  namespaceLabels(namespace: string, signal: AbortSignal): Promise<ReadonlyMap<string, string>>;
  stop(): Promise<void>;
}


export function toNetworkInfo(raw: unknown): NetworkInfo | undefined {
  if (!isObject(raw) || !isObject(raw['metadata'])) return undefined;
  const { name } = raw['metadata'];
  if (typeof name !== 'string') return undefined;
  const spec = isObject(raw['spec']) ? raw['spec'] : {};
  let namespaceSelector: NetworkInfo['namespaceSelector'];
  try {
    namespaceSelector = parseLabelSelector(spec['namespaceSelector'], 'spec.namespaceSelector');
  } catch (err) {
    if (!(err instanceof LabelSelectorError)) throw err;
    namespaceSelector = err;
  }
  return { name, namespaceSelector };
}

/** A namespace's labels; undefined when the object is malformed. */
export function namespaceLabelsOf(raw: unknown): ReadonlyMap<string, string> | undefined {
  if (!isObject(raw) || !isObject(raw['metadata']) || typeof raw['metadata']['name'] !== 'string') return undefined;
  const { labels } = raw['metadata'];
  const map = new Map<string, string>();
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') map.set(k, v);
  return map;
}

export interface NetworkCacheOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  /** How long an ADD waits for the first list of Networks, or for its namespace (default 2 s). */
  waitMs?: number;
  retryMs?: number;
}


export class NetworkCache implements NetworkSource {
  readonly #core: CoreV1Api;
  readonly #networks: WatchedCache<KubernetesObject>;
  readonly #namespaces: WatchedCache<V1Namespace>;
  readonly #log: Logger;
  readonly #waitMs: number;

  constructor(options: NetworkCacheOptions) {
    this.#log = options.log.child({ component: 'network-cache' });
    this.#waitMs = options.waitMs ?? 2000;
    const retryMs = options.retryMs ?? 1000;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const listNetworks = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      let raw: unknown;
      try {
        raw = await custom.listClusterCustomObject({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NETWORK_PLURAL });
      } catch (err) {
        // The CRD is not installed: there are no Networks, every network is open.
        if (!isObject(err) || err['code'] !== 404) throw err;
        this.#log.debug('the Network CRD is not installed');
        return { metadata: { resourceVersion: '' }, items: [] };
      }
      if (!isObject(raw) || !Array.isArray(raw['items'])) throw new NetworkLookupError('the API server sent a malformed NetworkList');
      return raw as unknown as KubernetesListObject<KubernetesObject>;
    };
    this.#networks = new WatchedCache({ kubeConfig: options.kubeConfig, path: `/apis/${NETWORK_GROUP}/${NETWORK_VERSION}/${NETWORK_PLURAL}`, list: listNetworks, log: this.#log, retryMs });
    this.#namespaces = new WatchedCache({ kubeConfig: options.kubeConfig, path: '/api/v1/namespaces', list: () => this.#core.listNamespace(), log: this.#log, retryMs });
  }

  start(): void {
    this.#networks.start();
    this.#namespaces.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#networks.stop(), this.#namespaces.stop()]);
  }

  /** Waits (bounded) for the first list: before it, "no Network" cannot be told from "not yet". */
  async network(name: string, signal: AbortSignal): Promise<NetworkInfo | undefined> {
    await this.#networks.waitFor(() => (this.#networks.synced ? true : undefined), this.#waitMs, signal);
    if (!this.#networks.synced) throw new NetworkLookupError(`Networks not listed within ${this.#waitMs} ms`);
    const raw = this.#networks.get(name);
    return raw === undefined ? undefined : toNetworkInfo(raw);
  }

  async namespaceLabels(namespace: string, signal: AbortSignal): Promise<ReadonlyMap<string, string>> {
    const labels = await this.#namespaces.waitFor(() => namespaceLabelsOf(this.#namespaces.get(namespace)), this.#waitMs, signal);
    if (labels !== undefined) return labels;
    this.#log.debug({ namespace }, 'namespace not in the cache; asking the API server');
    let raw: V1Namespace;
    try {
      raw = await this.#core.readNamespace({ name: namespace }, withSignal(signal));
    } catch (err) {
      signal.throwIfAborted();
      const code = isObject(err) ? err['code'] : undefined;
      if (code === 404) throw new NamespaceNotFoundError(`namespace ${namespace} does not exist`, { cause: err });
      throw new NetworkLookupError(`cannot read namespace ${namespace}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const read = namespaceLabelsOf(raw);
    if (read === undefined) throw new NetworkLookupError(`namespace ${namespace}: the API server sent a malformed object`);
    return read;
  }
}

/**
 * Refuses (code 7) an ADD for a pod (K8S_POD_NAMESPACE in CNI_ARGS) whose namespace the Network
 * of the same name does not select. Calls that name no pod, and networks without a Network
 * object, pass.
 */
export async function checkNetworkAccess(source: NetworkSource, args: Readonly<Record<string, string>>, network: string, signal: AbortSignal): Promise<void> {
  const namespace = args['K8S_POD_NAMESPACE'];
  if (namespace === undefined || namespace === '') return;
  let found: NetworkInfo | undefined;
  let labels: ReadonlyMap<string, string>;
  try {
    found = await source.network(network, signal);
    if (found === undefined) return;
    if (found.namespaceSelector instanceof LabelSelectorError) {
      throw new InvalidConfigError(`network ${network}: the Network's namespaceSelector is invalid`, { details: found.namespaceSelector.message });
    }
    labels = await source.namespaceLabels(namespace, signal);
  } catch (err) {
    if (err instanceof NamespaceNotFoundError) throw new UnknownContainerError(`CNI_ARGS: namespace ${namespace} does not exist`, { field: 'CNI_ARGS', cause: err });
    if (err instanceof NetworkLookupError) throw new ApiServerUnreachableError(`network ${network}: the Kubernetes API server is not reachable`, { details: err.message, cause: err });
    throw err;
  }
  if (!selectorMatches(found.namespaceSelector, labels)) {
    const why = found.namespaceSelector === undefined ? 'the Network has no namespaceSelector (selects no namespace)' : `namespace labels: ${JSON.stringify(Object.fromEntries(labels))}`;
    throw new InvalidConfigError(`network ${network}: namespace ${namespace} is not selected by its namespaceSelector`, { details: why });
  }
}
