/**
 * Network objects (CRD networks.ovn-multinet.io/v1, cluster-scoped, manifests/crd-network.yaml):
 * the admin's grant of a logical switch to the namespaces its `spec.namespaceSelector` selects
 * (daemon/k8s/labels.ts semantics: `{}` selects every namespace, an absent selector none).
 * Networks and Namespaces are list+watched cluster-wide, so an ADD needs no API call; a namespace
 * the watch has not delivered yet is waited for, then read once. The Networks are indexed by the
 * switch they cover as watch events arrive, so an ADD looks up its switch's Networks alone.
 *
 * An ADD for a pod (K8S_POD_NAMESPACE in CNI_ARGS) is checked by one of two rules (--network-access):
 * - `strict` (the default): by switch, whatever the config's `name` (k8s/access.ts).
 * - `by-name`: the rule before issue 19: the Network named like the config's `name`, when there
 *   is one, must select the namespace; a name without a Network is open, whatever its switch.
 * Calls that name no pod (only root on the node can make them) are not checked.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Namespace } from '@kubernetes/client-node';
import { withSignal } from './signal.ts';
import type { Logger } from '../lib/log.ts';
import type { NetConf } from '../netconf/parse.ts';
import { parseLabelSelector, selectorMatches, type LabelSelector } from './labels.ts';
import { customList, WatchedCache } from './watch.ts';
import { definitionOf } from './definition.ts';
import { checkAccess, grantOf, type CoveringNetwork, type Grant } from './access.ts';
import { isObject } from '../cni-spec/json.ts';
import { isTenantSwitch } from './tenant-switch.ts';
import { namespacedCovering } from './namespaced-access.ts';
import { NAMESPACED_NETWORK_PLURAL } from './namespaced.ts';
import { ApiServerUnreachableError, InvalidConfigError, LabelSelectorError, NamespaceNotFoundError, NetworkLookupError, NetworkSpecError, UnknownContainerError } from '../errors.ts';

export const NETWORK_GROUP = 'ovn-multinet.io';
export const NETWORK_VERSION = 'v1';
export const NETWORK_PLURAL = 'networks';

/** How an ADD for a pod is checked (--network-access). */
export type NetworkAccessMode = 'strict' | 'by-name';

/** What the daemon reads from a Network, narrowed once. */
export interface NetworkInfo {
  name: string;
  /** undefined: absent (selects no namespace); an Error: invalid (refused with 7 by name, admits nothing by switch). */
  namespaceSelector: LabelSelector | undefined | LabelSelectorError;
  /** What it gives; an invalid spec (the controller's InvalidSpec) covers no switch. */
  grant: Grant | NetworkSpecError;
}

/** Where Networks and namespace labels come from; the fake in unit tests satisfies it too. */
export interface NetworkSource {
  /** The Network called `name`, undefined when none exists. */
  network(name: string, signal: AbortSignal): Promise<NetworkInfo | undefined>;
  /** The Networks that cover logical switch `switchName` (none: an empty list). */
  covering(switchName: string, signal: AbortSignal): Promise<readonly CoveringNetwork[]>;
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
  let grant: NetworkInfo['grant'];
  try {
    grant = grantOf(definitionOf(name, spec).conf);
  } catch (err) {
    if (!(err instanceof NetworkSpecError)) throw err;
    grant = err;
  }
  return { name, namespaceSelector, grant };
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
  /** Every Network, narrowed once per watch event, by name. */
  readonly #infos = new Map<string, NetworkInfo>();
  /** The index: switch name -> the Networks (by name) that cover it. */
  readonly #bySwitch = new Map<string, Map<string, CoveringNetwork>>();
  readonly #namespaces: WatchedCache<V1Namespace>;
  /** NamespacedNetworks (namespaced.ts), indexed into #bySwitch too, under `<namespace>/<name>`. */
  readonly #namespaced: WatchedCache<KubernetesObject>;
  readonly #namespacedSwitches = new Map<string, string>();
  readonly #log: Logger;
  readonly #waitMs: number;

  constructor(options: NetworkCacheOptions) {
    this.#log = options.log.child({ component: 'network-cache' });
    this.#waitMs = options.waitMs ?? 2000;
    const retryMs = options.retryMs ?? 1000;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    // Without a CRD there are no such objects (without Networks, every network is open).
    const listOrNone = (kind: string, list: () => Promise<unknown>): (() => Promise<KubernetesListObject<KubernetesObject>>) =>
      customList(list, () => new NetworkLookupError(`the API server sent a malformed ${kind}List`));
    const listNetworks = listOrNone('Network', () => custom.listClusterCustomObject({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NETWORK_PLURAL }));
    this.#networks = new WatchedCache({
      kubeConfig: options.kubeConfig,
      path: `/apis/${NETWORK_GROUP}/${NETWORK_VERSION}/${NETWORK_PLURAL}`,
      list: listNetworks,
      log: this.#log,
      retryMs,
      onObject: (event, raw) => this.#index(event, raw),
    });
    this.#namespaces = new WatchedCache({ kubeConfig: options.kubeConfig, path: '/api/v1/namespaces', list: () => this.#core.listNamespace(), log: this.#log, retryMs });
    this.#namespaced = new WatchedCache({
      kubeConfig: options.kubeConfig,
      path: `/apis/${NETWORK_GROUP}/${NETWORK_VERSION}/${NAMESPACED_NETWORK_PLURAL}`,
      list: listOrNone('NamespacedNetwork', () => custom.listCustomObjectForAllNamespaces({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NAMESPACED_NETWORK_PLURAL })),
      log: this.#log,
      retryMs,
      onObject: (event, raw) => this.#indexNamespaced(event, raw),
    });
  }

  /** As #index, for a NamespacedNetwork: it covers its switch once the controller accepted its spec (namespaced-access.ts). */
  #indexNamespaced(event: 'add' | 'update' | 'delete', raw: KubernetesObject): void {
    const { name, namespace } = raw.metadata ?? {};
    if (name === undefined || namespace === undefined) return;
    const key = `${namespace}/${name}`;
    const oldSwitch = this.#namespacedSwitches.get(key);
    if (oldSwitch !== undefined) {
      const covering = this.#bySwitch.get(oldSwitch);
      covering?.delete(key);
      if (covering?.size === 0) this.#bySwitch.delete(oldSwitch);
      this.#namespacedSwitches.delete(key);
    }
    const found = event === 'delete' ? undefined : namespacedCovering(raw);
    if (found === undefined) return;
    if (found instanceof NetworkSpecError) {
      this.#log.warn({ namespacedNetwork: key, field: found.field, err: found.message }, 'NamespacedNetwork with an invalid spec: it covers no switch');
      return;
    }
    this.#namespacedSwitches.set(key, found.grant.switchName);
    const covering = this.#bySwitch.get(found.grant.switchName) ?? new Map<string, CoveringNetwork>();
    covering.set(key, found);
    this.#bySwitch.set(found.grant.switchName, covering);
  }

  /** Keeps #infos and #bySwitch in step with the watch: the cost of a change is one Network's. */
  #index(event: 'add' | 'update' | 'delete', raw: KubernetesObject): void {
    const name = raw.metadata?.name;
    if (name === undefined) return;
    const old = this.#infos.get(name);
    if (old !== undefined && !(old.grant instanceof NetworkSpecError)) {
      const covering = this.#bySwitch.get(old.grant.switchName);
      covering?.delete(name);
      if (covering?.size === 0) this.#bySwitch.delete(old.grant.switchName);
    }
    this.#infos.delete(name);
    const info = event === 'delete' ? undefined : toNetworkInfo(raw);
    if (info === undefined) return;
    this.#infos.set(name, info);
    const { grant } = info;
    if (grant instanceof NetworkSpecError) {
      this.#log.warn({ network: name, field: grant.field, err: grant.message }, 'Network with an invalid spec: it covers no switch');
      return;
    }
    const covering = this.#bySwitch.get(grant.switchName) ?? new Map<string, CoveringNetwork>();
    covering.set(name, { name, namespaceSelector: info.namespaceSelector, grant });
    this.#bySwitch.set(grant.switchName, covering);
  }

  start(): void {
    this.#networks.start();
    this.#namespaces.start();
    this.#namespaced.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#networks.stop(), this.#namespaces.stop(), this.#namespaced.stop()]);
  }

  /** Waits (bounded) for the first list: before it, "no Network" cannot be told from "not yet". */
  async #synced(signal: AbortSignal): Promise<void> {
    for (const cache of [this.#networks, this.#namespaced]) {
      await cache.waitFor(() => (cache.synced ? true : undefined), this.#waitMs, signal);
      if (!cache.synced) throw new NetworkLookupError(`Networks not listed within ${this.#waitMs} ms`);
    }
  }

  async network(name: string, signal: AbortSignal): Promise<NetworkInfo | undefined> {
    await this.#synced(signal);
    return this.#infos.get(name);
  }

  async covering(switchName: string, signal: AbortSignal): Promise<readonly CoveringNetwork[]> {
    await this.#synced(signal);
    return [...(this.#bySwitch.get(switchName)?.values() ?? [])];
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
 * The rule before issue 19 (--network-access=by-name), unchanged: refuses (code 7) a pod whose
 * namespace the Network named like the config does not select; a name without a Network passes.
 */
async function checkByName(source: NetworkSource, namespace: string, network: string, signal: AbortSignal): Promise<void> {
  const found = await source.network(network, signal);
  if (found === undefined) return;
  if (found.namespaceSelector instanceof LabelSelectorError) {
    throw new InvalidConfigError(`network ${network}: the Network's namespaceSelector is invalid`, { details: found.namespaceSelector.message });
  }
  const labels = await source.namespaceLabels(namespace, signal);
  if (!selectorMatches(found.namespaceSelector, labels)) {
    const why = found.namespaceSelector === undefined ? 'the Network has no namespaceSelector (selects no namespace)' : `namespace labels: ${JSON.stringify(Object.fromEntries(labels))}`;
    throw new InvalidConfigError(`network ${network}: namespace ${namespace} is not selected by its namespaceSelector`, { details: why });
  }
}

/** By switch (k8s/access.ts); the namespace's labels are read only when some Network covers the switch. */
async function checkBySwitch(source: NetworkSource, namespace: string, conf: NetConf, signal: AbortSignal): Promise<void> {
  const covering = await source.covering(conf.logicalSwitch, signal);
  const labels = covering.length === 0 ? new Map<string, string>() : await source.namespaceLabels(namespace, signal);
  checkAccess({ conf, namespace, labels }, covering);
}

/**
 * Before anything is made for an ADD: may this pod reach the config's switch, with what the
 * config asks? Calls that name no pod pass. A namespace that does not exist is an unknown
 * container (3); an API server that cannot be read, try again (11).
 */
export async function checkNetworkAccess(source: NetworkSource, mode: NetworkAccessMode, args: Readonly<Record<string, string>>, conf: NetConf, signal: AbortSignal): Promise<void> {
  const namespace = args['K8S_POD_NAMESPACE'];
  if (namespace === undefined || namespace === '') return;
  try {
    // A NamespacedNetwork's switch is checked by switch whatever the mode: by name, it would be open.
    if (mode === 'by-name' && !isTenantSwitch(conf.logicalSwitch)) await checkByName(source, namespace, conf.name, signal);
    else await checkBySwitch(source, namespace, conf, signal);
  } catch (err) {
    if (err instanceof NamespaceNotFoundError) throw new UnknownContainerError(`CNI_ARGS: namespace ${namespace} does not exist`, { field: 'CNI_ARGS', cause: err });
    if (err instanceof NetworkLookupError) throw new ApiServerUnreachableError(`network ${conf.name}: the Kubernetes API server is not reachable`, { details: err.message, cause: err });
    throw err;
  }
}
