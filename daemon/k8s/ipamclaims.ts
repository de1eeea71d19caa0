/**
 * IPAMClaims (k8s.cni.cncf.io/v1alpha1, namespaced, as KubeVirt creates them for VMs whose
 * network allows persistent IPs): list+watched cluster-wide so an ADD needs no API call; an ADD
 * whose claim the watch has not delivered yet waits (bounded), then reads it once. After an ADD
 * the claim's status gets the addresses and the owner pod (a merge patch on the status
 * subresource, only when they changed), and the claim the annotation RESERVATION_ANNOTATION: what
 * the leader needs to rebuild the claim's reservation should an older NB lack it while no pod of
 * the claim runs (daemon/controller/claims.ts). A namespace user can edit it: it is parsed and
 * validated here, and only ever taken as a request.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import { withSignal } from './signal.ts';
import { customList, WatchedCache } from './watch.ts';
import { isObject } from '../cni-spec/json.ts';
import { macRefusal, parseIpPrefix } from '../lib/ip.ts';
import { ClaimLookupError } from '../errors.ts';

export const IPAMCLAIM_GROUP = 'k8s.cni.cncf.io';
export const IPAMCLAIM_VERSION = 'v1alpha1';
export const IPAMCLAIM_PLURAL = 'ipamclaims';
/** JSON {"logicalSwitch", "mac", "ips"}: the reservation a daemon made for the claim (RecordedReservation). */
export const RESERVATION_ANNOTATION = 'ovn-multinet.io/reservation';

/** The claim's reservation as a daemon recorded it: the switch, the MAC, status.ips (with prefix length). */
export interface RecordedReservation {
  logicalSwitch: string;
  mac: string;
  ips: string[];
}

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
  /** The RESERVATION_ANNOTATION, undefined when missing or invalid. */
  reservation: RecordedReservation | undefined;
}

export interface ClaimStatus {
  ips: string[];
  ownerPod: string;
  /** The switch and MAC of the reservation, for RESERVATION_ANNOTATION. */
  logicalSwitch: string;
  mac: string;
}

/** Where IPAMClaims come from, and where their status goes. */
export interface ClaimSource {
  /** The claim, undefined when it does not exist. */
  claim(namespace: string, name: string, signal: AbortSignal): Promise<ClaimInfo | undefined>;
  /** Writes status.ips and status.ownerPod, then RESERVATION_ANNOTATION, each unless the claim already says so. */
  reportStatus(claim: ClaimInfo, status: ClaimStatus, signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Longer than any OVN name or address list ovn-multinet writes: a bound on what is parsed. */
const MAX_ANNOTATION_LENGTH = 1024;
const MAX_IPS = 8;
const MAC_SYNTAX = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * The RESERVATION_ANNOTATION's value, validated, or undefined: a switch name (printable, no
 * spaces), a unicast MAC in lowercase, 1 to 8 distinct addresses with prefix length.
 */
export function parseRecordedReservation(text: string | undefined): RecordedReservation | undefined {
  if (text === undefined || text.length > MAX_ANNOTATION_LENGTH) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(raw)) return undefined;
  const { logicalSwitch, mac, ips } = raw;
  if (typeof logicalSwitch !== 'string' || !/^[\x21-\x7e]+$/.test(logicalSwitch)) return undefined;
  if (typeof mac !== 'string' || !MAC_SYNTAX.test(mac) || macRefusal(mac) !== undefined) return undefined;
  if (!Array.isArray(ips) || ips.length === 0 || ips.length > MAX_IPS || new Set(ips).size !== ips.length) return undefined;
  const texts = ips.filter((ip): ip is string => typeof ip === 'string' && ip.includes('/') && parseIpPrefix(ip) !== undefined);
  return texts.length === ips.length ? { logicalSwitch, mac, ips: texts } : undefined;
}

/** A claim as the API server sent it, narrowed to what is used; undefined when malformed. */
export function toClaimInfo(raw: unknown): ClaimInfo | undefined {
  if (!isObject(raw) || !isObject(raw['metadata'])) return undefined;
  const { namespace, name } = raw['metadata'];
  if (typeof namespace !== 'string' || typeof name !== 'string') return undefined;
  const spec = isObject(raw['spec']) ? raw['spec'] : {};
  const status = isObject(raw['status']) ? raw['status'] : {};
  const ips = Array.isArray(status['ips']) ? status['ips'].filter((ip): ip is string => typeof ip === 'string') : [];
  const owner = isObject(status['ownerPod']) ? str(status['ownerPod']['name']) : undefined;
  const annotations = isObject(raw['metadata']['annotations']) ? raw['metadata']['annotations'] : {};
  const recorded = annotations[RESERVATION_ANNOTATION];
  const reservation = parseRecordedReservation(typeof recorded === 'string' ? recorded : undefined);
  return { namespace, name, network: str(spec['network']), interface: str(spec['interface']), ips, ownerPod: owner, reservation };
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function statusChanged(claim: ClaimInfo, status: ClaimStatus): boolean {
  return claim.ownerPod !== status.ownerPod || !sameList(claim.ips, status.ips);
}

/** Whether the claim's RESERVATION_ANNOTATION differs from what `status` records. */
export function recordChanged(claim: ClaimInfo, status: ClaimStatus): boolean {
  const r = claim.reservation;
  return r === undefined || r.logicalSwitch !== status.logicalSwitch || r.mac !== status.mac || !sameList(r.ips, status.ips);
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
    // Without the CRD there are no claims.
    const list = customList(
      () => this.#api.listClusterCustomObject({ group: IPAMCLAIM_GROUP, version: IPAMCLAIM_VERSION, plural: IPAMCLAIM_PLURAL }),
      () => new ClaimLookupError('the API server sent a malformed IPAMClaimList'),
    );
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
    const target = { group: IPAMCLAIM_GROUP, version: IPAMCLAIM_VERSION, namespace: claim.namespace, plural: IPAMCLAIM_PLURAL, name: claim.name };
    if (statusChanged(claim, status)) {
      const body = { status: { ips: status.ips, ownerPod: { name: status.ownerPod } } };
      await this.#api.patchNamespacedCustomObjectStatus({ ...target, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withSignal(signal)));
    }
    if (recordChanged(claim, status)) {
      const record: RecordedReservation = { logicalSwitch: status.logicalSwitch, mac: status.mac, ips: status.ips };
      const body = { metadata: { annotations: { [RESERVATION_ANNOTATION]: JSON.stringify(record) } } };
      await this.#api.patchNamespacedCustomObject({ ...target, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withSignal(signal)));
    }
  }
}
