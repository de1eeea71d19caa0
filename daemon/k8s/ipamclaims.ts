/**
 * IPAMClaims (k8s.cni.cncf.io/v1alpha1, namespaced, as KubeVirt creates them for VMs whose
 * network allows persistent IPs): list+watched cluster-wide so an ADD needs no API call; an ADD
 * whose claim the watch has not delivered yet waits (bounded), then reads it once. After an ADD
 * the claim's status gets the addresses and the owner pod (a merge patch on the status
 * subresource, only when they changed).
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import { withSignal } from './signal.ts';
import { WatchedCache } from './watch.ts';
import { isObject } from '../cni-spec/json.ts';
import { ClaimLookupError } from '../errors.ts';

export const IPAMCLAIM_GROUP = 'k8s.cni.cncf.io';
export const IPAMCLAIM_VERSION = 'v1alpha1';
export const IPAMCLAIM_PLURAL = 'ipamclaims';

/** What ovn-multinet reads from an IPAMClaim, narrowed once. */
export interface ClaimInfo {
  namespace: string;
  name: string;
  /** spec.network: the network (CNI config name) the claim is for. */
  network: string | undefined;
  /** spec.interface: the pod interface it was made for. */
  interface: string | undefined;
  /** status.ips, addresses with prefix length. */
  ips: string[];
  /** status.ownerPod.name. */
  ownerPod: string | undefined;
}

export interface ClaimStatus {
  ips: string[];
  ownerPod: string;
}

/** Where IPAMClaims come from, and where their status goes. */
export interface ClaimSource {
  /** The claim, undefined when it does not exist. */
  claim(namespace: string, name: string, signal: AbortSignal): Promise<ClaimInfo | undefined>;
  /** Writes status.ips and status.ownerPod unless the claim already says so. */
  reportStatus(claim: ClaimInfo, status: ClaimStatus, signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A claim as the API server sent it, narrowed to what is used; undefined when malformed. */
export function toClaimInfo(raw: unknown): ClaimInfo | undefined {
  if (!isObject(raw) || !isObject(raw['metadata'])) return undefined;
  const { namespace, name } = raw['metadata'];
  if (typeof namespace !== 'string' || typeof name !== 'string') return undefined;
  const spec = isObject(raw['spec']) ? raw['spec'] : {};
  const status = isObject(raw['status']) ? raw['status'] : {};
  const ips = Array.isArray(status['ips']) ? status['ips'].filter((ip): ip is string => typeof ip === 'string') : [];
  const owner = isObject(status['ownerPod']) ? str(status['ownerPod']['name']) : undefined;
  return { namespace, name, network: str(spec['network']), interface: str(spec['interface']), ips, ownerPod: owner };
}

export function statusChanged(claim: ClaimInfo, status: ClaimStatus): boolean {
  return claim.ownerPod !== status.ownerPod || claim.ips.length !== status.ips.length || claim.ips.some((ip, i) => ip !== status.ips[i]);
}

export interface ClaimCacheOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  /** How long an ADD waits for its claim to reach the cache before one GET (default 2 s). */
  waitMs?: number;
  retryMs?: number;
}

export class ClaimCache implements ClaimSource {
  readonly #api: CustomObjectsApi;
  readonly #claims: WatchedCache<KubernetesObject>;
  readonly #log: Logger;
  readonly #waitMs: number;

  constructor(options: ClaimCacheOptions) {
    this.#log = options.log.child({ component: 'ipamclaim-cache' });
    this.#waitMs = options.waitMs ?? 2000;
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      let raw: unknown;
      try {
        raw = await this.#api.listClusterCustomObject({ group: IPAMCLAIM_GROUP, version: IPAMCLAIM_VERSION, plural: IPAMCLAIM_PLURAL });
      } catch (err) {
        // The CRD is not installed: there are no claims.
        if (!isObject(err) || err['code'] !== 404) throw err;
        return { metadata: { resourceVersion: '' }, items: [] };
      }
      if (!isObject(raw) || !Array.isArray(raw['items'])) throw new ClaimLookupError('the API server sent a malformed IPAMClaimList');
      return raw as unknown as KubernetesListObject<KubernetesObject>;
    };
    this.#claims = new WatchedCache({
      kubeConfig: options.kubeConfig,
      path: `/apis/${IPAMCLAIM_GROUP}/${IPAMCLAIM_VERSION}/${IPAMCLAIM_PLURAL}`,
      list,
      log: this.#log,
      retryMs: options.retryMs ?? 1000,
    });
  }

  start(): void {
    this.#claims.start();
  }

  stop(): Promise<void> {
    return this.#claims.stop();
  }

  async claim(namespace: string, name: string, signal: AbortSignal): Promise<ClaimInfo | undefined> {
    const found = await this.#claims.waitFor(() => toClaimInfo(this.#claims.get(name, namespace)), this.#waitMs, signal);
    if (found !== undefined) return found;
    this.#log.debug({ claim: `${namespace}/${name}` }, 'IPAMClaim not in the cache; asking the API server');
    let raw: unknown;
    try {
      raw = await this.#api.getNamespacedCustomObject({ group: IPAMCLAIM_GROUP, version: IPAMCLAIM_VERSION, namespace, plural: IPAMCLAIM_PLURAL, name }, withSignal(signal));
    } catch (err) {
      signal.throwIfAborted();
      if (isObject(err) && err['code'] === 404) return undefined;
      throw new ClaimLookupError(`cannot read IPAMClaim ${namespace}/${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const claim = toClaimInfo(raw);
    if (claim === undefined) throw new ClaimLookupError(`IPAMClaim ${namespace}/${name}: the API server sent a malformed object`);
    return claim;
  }

  async reportStatus(claim: ClaimInfo, status: ClaimStatus, signal: AbortSignal): Promise<void> {
    if (!statusChanged(claim, status)) return;
    const body = { status: { ips: status.ips, ownerPod: { name: status.ownerPod } } };
    await this.#api.patchNamespacedCustomObjectStatus(
      { group: IPAMCLAIM_GROUP, version: IPAMCLAIM_VERSION, namespace: claim.namespace, plural: IPAMCLAIM_PLURAL, name: claim.name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withSignal(signal)),
    );
  }
}
