/**
 * Releases the addresses of deleted IPAMClaims: a reservation on a logical switch
 * (daemon/ipam/reservations.ts) whose claim no longer exists is removed, so the addresses go back to the
 * pool. A reservation is released only when the claims list has arrived, the claim is missing from
 * it, and a GET of the claim answers 404 (a claim the watch has not delivered yet, or a claims CRD
 * that is not installed, never frees anything). Runs on claim events, NB changes and every resync.
 *
 * And rebuilds the reservations an older NB lacks (an NB restored from a backup) for claims with no
 * running pod, whose node would otherwise rebuild it (daemon/attachments/restore.ts): from the
 * claim's RESERVATION_ANNOTATION, written by the daemon of its last ADD. The annotation is a
 * request, never a permission (a namespace user can edit it): it is followed only when it matches
 * the claim's status.ips (the status subresource, which the daemons write), only on the switch it
 * names when a Network admits the claim's namespace there (as an ADD needs, k8s/access.ts) and
 * that switch has no reservation for the claim, only for addresses inside the switch's
 * subnets that the allocator may hand out and that no one else holds, in one guarded transaction
 * (reserveOps: a concurrent ADD of the claim, or of another pod, wins cleanly).
 */
import { CustomObjectsApi, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { ControllerNbClient } from '../ovn/exposed.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { allReservations, claimKey, releaseOps, reserveOps, type Reservation } from '../ipam/reservations.ts';
import { addressKey, holderValue } from '../ipam/guards.ts';
import { neverHandedOut, parseIpamSettings, subnetOf, type IpamSettings } from '../ipam/pool.ts';
import { switchNamed, type LogicalSwitch } from '../ovn/switches.ts';
import { parseIpPrefix } from '../lib/ip.ts';
import { notAdmitted } from '../k8s/access.ts';
import { toNetworkInfo } from '../k8s/networks.ts';
import { IPAMCLAIM_GROUP, IPAMCLAIM_PLURAL, IPAMCLAIM_VERSION, RESERVATION_ANNOTATION, toClaimInfo, type ClaimInfo } from '../k8s/ipamclaims.ts';
import { withSignal } from '../k8s/signal.ts';
import { WatchedCache } from '../k8s/watch.ts';
import { isObject } from '../cni-spec/json.ts';
import { statusCode } from './api.ts';
import type { Logger } from '../lib/log.ts';
import type { LeaderContext, LeaderLoop } from './context.ts';
import { Trigger, type PassResult } from './trigger.ts';
import { AmbiguousSwitchError, IpamConfigError, MalformedListError, OvsdbTransactionError } from '../errors.ts';

/** A reservation and the switch it is on. */
export type PlacedReservation = Reservation & { switchUuid: Uuid; switchName: string };

/** What the rebuild of a reservation reads of a switch. */
export type SwitchView = Pick<LogicalSwitch, 'uuid' | 'name' | 'otherConfig' | 'externalIds'>;

/** The NB side: what is reserved, how to free it, and how to reserve again. */
export interface ReservationStore {
  readonly ready: boolean;
  list(): PlacedReservation[];
  release(r: PlacedReservation, signal: AbortSignal): Promise<void>;
  /** The switch named `name`, or why there is none to use. */
  switchNamed(name: string): SwitchView | 'missing' | 'ambiguous';
  /** Takes the reservation, guarded (reserveOps); rejects with OvsdbTransactionError when a key was taken meanwhile. */
  reserve(sw: SwitchView, r: Reservation, signal: AbortSignal): Promise<void>;
}

/** The reservations in the NB the OvsdbClient `nb` is connected to. */
export function nbReservations(nb: ControllerNbClient): ReservationStore {
  return {
    get ready() {
      return nb.connected;
    },
    list: () => allReservations(nb),
    release: async (r, signal) => void (await nb.transact(releaseOps(r.switchUuid, r), signal)),
    switchNamed: (name) => {
      try {
        const row = switchNamed(nb, name);
        return row === undefined ? 'missing' : { uuid: row._uuid, name: row.name, otherConfig: row.other_config, externalIds: row.external_ids };
      } catch (err) {
        if (err instanceof AmbiguousSwitchError) return 'ambiguous';
        throw err;
      }
    },
    reserve: async (sw, r, signal) => void (await nb.transact(reserveOps(sw, r), signal)),
  };
}

/**
 * What to do about a claim's recorded reservation: nothing (none recorded, or the switch holds
 * one for the claim), reserve it again, leave it because an address is `taken` by another holder,
 * or `skip` it (why: an annotation that does not match the status, no Network admitting the
 * claim's namespace on the switch (`admitted`), a switch missing, an address the switch may not
 * hand out). Pure.
 */
export type RebuildPlan =
  | { kind: 'none' }
  | { kind: 'reserve'; reservation: Reservation }
  | { kind: 'taken'; address: string; holder: string }
  | { kind: 'skip'; reason: string };

export function rebuildPlan(claim: ClaimInfo, sw: SwitchView | 'missing' | 'ambiguous', admitted: boolean): RebuildPlan {
  const recorded = claim.reservation;
  if (recorded === undefined) return { kind: 'none' };
  const name = `${claim.namespace}/${claim.name}`;
  // Whatever the annotation says, a reservation there is the NB's word.
  if (typeof sw !== 'string' && sw.externalIds.has(claimKey(name))) return { kind: 'none' };
  if (recorded.ips.length !== claim.ips.length || recorded.ips.some((ip, i) => ip !== claim.ips[i])) {
    return { kind: 'skip', reason: `its ${RESERVATION_ANNOTATION} annotation does not match its status.ips` };
  }
  if (!admitted) return { kind: 'skip', reason: `no Network admits namespace ${claim.namespace} on logical switch ${JSON.stringify(recorded.logicalSwitch)}` };
  if (sw === 'missing' || sw === 'ambiguous') return { kind: 'skip', reason: `logical switch ${JSON.stringify(recorded.logicalSwitch)} is ${sw}` };
  let settings: IpamSettings;
  try {
    settings = parseIpamSettings(sw.otherConfig, sw.externalIds);
  } catch (err) {
    if (err instanceof IpamConfigError) return { kind: 'skip', reason: `logical switch ${sw.name}: ${err.message}` };
    throw err;
  }
  const ips: string[] = [];
  for (const text of recorded.ips) {
    const address = parseIpPrefix(text)?.address;
    if (address === undefined || subnetOf(settings, address) === undefined) return { kind: 'skip', reason: `${text} is not inside a subnet of logical switch ${sw.name}` };
    const refusal = neverHandedOut(settings, address);
    if (refusal !== undefined) return { kind: 'skip', reason: `${text} is never handed out on logical switch ${sw.name} (${refusal})` };
    ips.push(address);
  }
  const ours = holderValue({ claim: name });
  for (const address of [recorded.mac, ...ips]) {
    const holder = sw.externalIds.get(addressKey(address));
    if (holder !== undefined && holder !== ours) return { kind: 'taken', address, holder };
  }
  return { kind: 'reserve', reservation: { claim: name, mac: recorded.mac, ips } };
}

/** Reservations whose claim is not among `claims` (namespace/name). Pure. */
export function orphanedReservations(reservations: readonly PlacedReservation[], claims: ReadonlySet<string>): PlacedReservation[] {
  return reservations.filter((r) => !claims.has(r.claim));
}

export class ClaimReleaser implements LeaderLoop {
  readonly name = 'ipamclaim-release';
  readonly #ctx: LeaderContext;
  readonly #store: ReservationStore;
  readonly #api: CustomObjectsApi;
  readonly #log: Logger;
  readonly #trigger: Trigger;
  /** The claims, list+watched while this replica leads (a new cache each term). */
  #claims: WatchedCache<KubernetesObject> | undefined;
  #offs: Array<() => void> = [];
  /** What was last logged about a claim's rebuild, so a pass on every NB change does not log it again. */
  #reported = new Map<string, string>();

  constructor(ctx: LeaderContext, store: ReservationStore) {
    this.#ctx = ctx;
    this.#store = store;
    this.#api = ctx.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#log = ctx.log.child({ loop: this.name });
    this.#trigger = new Trigger({ name: this.name, pass: (signal) => this.#pass(signal), resyncMs: ctx.resyncMs, log: this.#log });
  }

  start(signal: AbortSignal): void {
    // Strict: a missing CRD is an error here (no list, nothing released), not "no claims".
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const raw: unknown = await this.#api.listClusterCustomObject({ group: IPAMCLAIM_GROUP, version: IPAMCLAIM_VERSION, plural: IPAMCLAIM_PLURAL });
      if (!isObject(raw) || !Array.isArray(raw['items'])) throw new MalformedListError('the API server sent a malformed IPAMClaim list');
      return raw as unknown as KubernetesListObject<KubernetesObject>;
    };
    const claims = new WatchedCache({ kubeConfig: this.#ctx.kubeConfig, path: `/apis/${IPAMCLAIM_GROUP}/${IPAMCLAIM_VERSION}/${IPAMCLAIM_PLURAL}`, list, log: this.#log, retryMs: 1000 });
    this.#claims = claims;
    this.#reported.clear();
    claims.start();
    const schedule = (): void => this.#trigger.schedule();
    this.#offs = [claims.onChange(schedule), this.#ctx.nb.onChange(schedule), this.#ctx.caches.onChange(schedule)];
    this.#trigger.start(signal);
  }

  async stop(): Promise<void> {
    for (const off of this.#offs) off();
    this.#offs = [];
    await this.#trigger.stop();
    await this.#claims?.stop();
    this.#claims = undefined;
  }

  async #exists(claim: string, signal: AbortSignal): Promise<boolean> {
    const [namespace = '', name = ''] = claim.split('/');
    try {
      await this.#api.getNamespacedCustomObject({ group: IPAMCLAIM_GROUP, version: IPAMCLAIM_VERSION, namespace, plural: IPAMCLAIM_PLURAL, name }, withSignal(signal));
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  async #pass(signal: AbortSignal): Promise<PassResult> {
    const cache = this.#claims;
    if (cache === undefined || !cache.synced || !this.#store.ready) return 'retry';
    const claims = new Set(cache.list().flatMap((o) => (o.metadata?.namespace === undefined || o.metadata.name === undefined ? [] : [`${o.metadata.namespace}/${o.metadata.name}`])));
    for (const r of orphanedReservations(this.#store.list(), claims)) {
      if (await this.#exists(r.claim, signal)) continue;
      await this.#store.release(r, signal);
      this.#log.info({ claim: r.claim, switch: r.switchName, mac: r.mac, ips: r.ips }, 'IPAMClaim deleted: its addresses are released');
    }
    // Rebuilding asks the Networks and namespaces whether the claim's namespace may use the switch.
    if (!this.#ctx.caches.synced) return 'retry';
    for (const raw of cache.list()) {
      const claim = toClaimInfo(raw);
      if (claim !== undefined) await this.#rebuild(claim, signal);
    }
    return 'done';
  }

  /** Logs `msg` about the claim once, until something else is to be said about it. */
  #report(claim: string, msg: string, fields: Record<string, unknown>): void {
    if (this.#reported.get(claim) === msg) return;
    this.#reported.set(claim, msg);
    this.#log.warn({ claim, ...fields }, msg);
  }

  /** Whether a Network covering logical switch `switchName` admits `namespace` (k8s/access.ts, as an ADD's check). */
  #admitted(namespace: string, switchName: string): boolean {
    const labels = this.#ctx.caches.namespaces().find((n) => n.name === namespace)?.labels;
    if (labels === undefined) return false;
    return this.#ctx.caches.networks().some((n) => {
      const info = toNetworkInfo(n.raw);
      if (info === undefined || info.grant instanceof Error || info.grant.switchName !== switchName) return false;
      return notAdmitted({ name: info.name, namespaceSelector: info.namespaceSelector, grant: info.grant }, labels) === undefined;
    });
  }

  async #rebuild(claim: ClaimInfo, signal: AbortSignal): Promise<void> {
    const name = `${claim.namespace}/${claim.name}`;
    const switchName = claim.reservation?.logicalSwitch ?? '';
    const sw = claim.reservation === undefined ? 'missing' : this.#store.switchNamed(switchName);
    const plan = rebuildPlan(claim, sw, claim.reservation !== undefined && this.#admitted(claim.namespace, switchName));
    switch (plan.kind) {
      case 'none':
        this.#reported.delete(name);
        return;
      case 'skip':
        return this.#report(name, `the IPAMClaim's reservation is not rebuilt: ${plan.reason}`, { switch: switchName });
      case 'taken':
        return this.#report(name, `the IPAMClaim's reservation is not rebuilt: ${plan.address} is held by ${plan.holder}`, { switch: switchName, address: plan.address, holder: plan.holder });
      case 'reserve': {
        if (typeof sw === 'string') return;
        try {
          await this.#store.reserve(sw, plan.reservation, signal);
        } catch (err) {
          // A key taken meanwhile (an ADD of the claim, or of another pod): the NB change runs another pass.
          if (err instanceof OvsdbTransactionError) return this.#report(name, 'the IPAMClaim\'s reservation is not rebuilt: an address was taken meanwhile', { switch: switchName, err });
          throw err;
        }
        this.#reported.delete(name);
        this.#log.info({ claim: name, switch: switchName, mac: plan.reservation.mac, ips: plan.reservation.ips }, 'the NB lacked the IPAMClaim\'s reservation: rebuilt from its annotation');
      }
    }
  }
}
