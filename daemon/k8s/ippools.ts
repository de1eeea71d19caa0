/**
 * IPPool objects (CRD ippools.ovn-multinet.io/v1, cluster-scoped, manifests/crd-ippool.yaml;
 * docs/ip-pools.md): the admin's ranges of a Network's switch for the pods they select, and
 * reserved ranges nobody gets. Narrowed once here; which pools count and what they carve out is
 * ipam/ip-pools.ts.
 *
 * - `spec.network`: the name of the Network object whose switch the pool divides.
 * - `spec.ranges`: CIDRs, `a-b` ranges or addresses, IPv4 and/or IPv6, inside the switch's subnets.
 * - `spec.namespaceSelector`, `spec.podSelector`: which pods it serves (both, when both are
 *   given); at least one, unless `spec.reserved: true`, which serves no pod and takes neither.
 *
 * The daemon's IpPoolCache list+watches every IPPool (memory: every pool of the cluster, a few
 * hundred bytes each, which is few; an ADD reads only those of the Networks covering its switch).
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import { isObject } from '../cni-spec/json.ts';
import { parseAddressRange, type AddressRange, type PoolRanges } from '../ipam/ip-pools.ts';
import { parseLabelSelector, selectorMatches, type LabelSelector } from './labels.ts';
import { NETWORK_GROUP, NETWORK_VERSION } from './networks.ts';
import { customList, WatchedCache } from './watch.ts';
import { LabelSelectorError, NetworkLookupError } from '../errors.ts';

export const IPPOOL_PLURAL = 'ippools';

export interface IpPool extends PoolRanges {
  network: string;
  namespaceSelector: LabelSelector | undefined;
  podSelector: LabelSelector | undefined;
}

/** A pool as read: valid, or why not (the field and the message its status carries). */
export type ParsedPool = { valid: true; pool: IpPool } | { valid: false; name: string; network: string | undefined; field: string; message: string };

/** Narrows an IPPool object; undefined when it has no name. */
export function toIpPool(raw: unknown): ParsedPool | undefined {
  if (!isObject(raw) || !isObject(raw['metadata']) || typeof raw['metadata']['name'] !== 'string') return undefined;
  const { name } = raw['metadata'];
  const spec = isObject(raw['spec']) ? raw['spec'] : {};
  const network = typeof spec['network'] === 'string' && spec['network'] !== '' ? spec['network'] : undefined;
  const invalid = (field: string, message: string): ParsedPool => ({ valid: false, name, network, field, message: `${field}: ${message}` });
  if (network === undefined) return invalid('spec.network', 'must name a Network');
  const { ranges, reserved = false } = spec;
  if (!Array.isArray(ranges) || ranges.length === 0) return invalid('spec.ranges', 'must be a non-empty list');
  const parsed: AddressRange[] = [];
  for (const [i, text] of ranges.entries()) {
    const range = typeof text === 'string' ? parseAddressRange(text) : undefined;
    if (range === undefined) return invalid(`spec.ranges[${i}]`, `${JSON.stringify(text)} is not a CIDR, an a-b range or an address`);
    parsed.push(range);
  }
  if (typeof reserved !== 'boolean') return invalid('spec.reserved', 'must be true or false');
  const selectors: Partial<Record<'namespaceSelector' | 'podSelector', LabelSelector>> = {};
  for (const key of ['namespaceSelector', 'podSelector'] as const) {
    try {
      const parsedSelector = parseLabelSelector(spec[key], `spec.${key}`);
      if (parsedSelector !== undefined) selectors[key] = parsedSelector;
    } catch (err) {
      // Its message names the exact place (spec.podSelector.matchExpressions[0].operator: ...).
      if (err instanceof LabelSelectorError) return { valid: false, name, network, field: `spec.${key}`, message: err.message };
      throw err;
    }
  }
  const { namespaceSelector, podSelector } = selectors;
  if (reserved && (namespaceSelector !== undefined || podSelector !== undefined)) return invalid(namespaceSelector === undefined ? 'spec.podSelector' : 'spec.namespaceSelector', 'a reserved pool serves no pod');
  if (!reserved && namespaceSelector === undefined && podSelector === undefined) return invalid('spec', 'needs namespaceSelector or podSelector (or reserved: true)');
  return { valid: true, pool: { name, network, ranges: parsed, reserved, namespaceSelector, podSelector } };
}

/** Both selectors first, then podSelector alone, then namespaceSelector alone; then by name. */
function specificity(pool: IpPool): number {
  return (pool.podSelector === undefined ? 0 : 2) + (pool.namespaceSelector === undefined ? 0 : 1);
}

/** Whether `pool` serves a pod with these labels (every selector it has selects it). */
export function serves(pool: IpPool, namespaceLabels: ReadonlyMap<string, string>, podLabels: ReadonlyMap<string, string>): boolean {
  if (pool.reserved) return false;
  if (pool.namespaceSelector !== undefined && !selectorMatches(pool.namespaceSelector, namespaceLabels)) return false;
  return pool.podSelector === undefined || selectorMatches(pool.podSelector, podLabels);
}

/** The pool of `pools` (accepted ones) that serves the pod, the most specific first, then by name. */
export function poolFor(pools: readonly IpPool[], namespaceLabels: ReadonlyMap<string, string>, podLabels: ReadonlyMap<string, string>): IpPool | undefined {
  const serving = pools.filter((p) => serves(p, namespaceLabels, podLabels));
  serving.sort((a, b) => specificity(b) - specificity(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return serving[0];
}

/** Where the daemon finds IPPools; the controller reads its own cache. */
export interface IpPoolSource {
  /** The valid pools naming any of `networks`. */
  poolsOf(networks: readonly string[], signal: AbortSignal): Promise<IpPool[]>;
  stop(): Promise<void>;
}

export class IpPoolCache implements IpPoolSource {
  readonly #pools: WatchedCache<KubernetesObject>;
  /** Network name -> pool name -> the valid pool, kept in step with the watch. */
  readonly #byNetwork = new Map<string, Map<string, IpPool>>();
  readonly #networkOf = new Map<string, string>();
  readonly #waitMs: number;

  constructor(options: { kubeConfig: KubeConfig; log: Logger; waitMs?: number; retryMs?: number }) {
    const log = options.log.child({ component: 'ippool-cache' });
    this.#waitMs = options.waitMs ?? 2000;
    const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    // Without the CRD there are no pools.
    const list = customList(
      () => custom.listClusterCustomObject({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: IPPOOL_PLURAL }),
      () => new NetworkLookupError('the API server sent a malformed IPPoolList'),
    );
    this.#pools = new WatchedCache({
      kubeConfig: options.kubeConfig,
      path: `/apis/${NETWORK_GROUP}/${NETWORK_VERSION}/${IPPOOL_PLURAL}`,
      list,
      log,
      retryMs: options.retryMs ?? 1000,
      onObject: (event, raw) => this.#index(event, raw),
    });
  }

  #index(event: 'add' | 'update' | 'delete', raw: KubernetesObject): void {
    const name = raw.metadata?.name;
    if (name === undefined) return;
    const old = this.#networkOf.get(name);
    if (old !== undefined) {
      const pools = this.#byNetwork.get(old);
      pools?.delete(name);
      if (pools?.size === 0) this.#byNetwork.delete(old);
      this.#networkOf.delete(name);
    }
    const parsed = event === 'delete' ? undefined : toIpPool(raw);
    if (parsed === undefined || !parsed.valid) return;
    const { pool } = parsed;
    const pools = this.#byNetwork.get(pool.network) ?? new Map<string, IpPool>();
    pools.set(name, pool);
    this.#byNetwork.set(pool.network, pools);
    this.#networkOf.set(name, pool.network);
  }

  start(): void {
    this.#pools.start();
  }

  stop(): Promise<void> {
    return this.#pools.stop();
  }

  async poolsOf(networks: readonly string[], signal: AbortSignal): Promise<IpPool[]> {
    await this.#pools.waitFor(() => (this.#pools.synced ? true : undefined), this.#waitMs, signal);
    if (!this.#pools.synced) throw new NetworkLookupError(`IPPools not listed within ${this.#waitMs} ms`);
    return networks.flatMap((network) => [...(this.#byNetwork.get(network)?.values() ?? [])]);
  }
}
