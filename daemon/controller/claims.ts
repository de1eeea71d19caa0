/**
 * Releases the addresses of deleted IPAMClaims: a reservation on a logical switch
 * (daemon/ipam/reservations.ts) whose claim no longer exists is removed, so the addresses go back to the
 * pool. A reservation is released only when the claims list has arrived, the claim is missing from
 * it, and a GET of the claim answers 404 (a claim the watch has not delivered yet, or a claims CRD
 * that is not installed, never frees anything). Runs on claim events, NB changes and every resync.
 */
import { CustomObjectsApi, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { ControllerNbClient } from '../ovn/exposed.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { allReservations, releaseOps, type Reservation } from '../ipam/reservations.ts';
import { IPAMCLAIM_GROUP, IPAMCLAIM_PLURAL, IPAMCLAIM_VERSION } from '../k8s/ipamclaims.ts';
import { withSignal } from '../k8s/signal.ts';
import { WatchedCache } from '../k8s/watch.ts';
import { isObject } from '../cni-spec/json.ts';
import { statusCode } from './api.ts';
import type { Logger } from '../lib/log.ts';
import type { LeaderContext, LeaderLoop } from './context.ts';
import { Trigger, type PassResult } from './trigger.ts';
import { MalformedListError } from '../errors.ts';

/** A reservation and the switch it is on. */
export type PlacedReservation = Reservation & { switchUuid: Uuid; switchName: string };

/** The NB side: what is reserved, and how to free it. */
export interface ReservationStore {
  readonly ready: boolean;
  list(): PlacedReservation[];
  release(r: PlacedReservation, signal: AbortSignal): Promise<void>;
}

/** The reservations in the NB the OvsdbClient `nb` is connected to. */
export function nbReservations(nb: ControllerNbClient): ReservationStore {
  return {
    get ready() {
      return nb.connected;
    },
    list: () => allReservations(nb),
    release: async (r, signal) => void (await nb.transact(releaseOps(r.switchUuid, r), signal)),
  };
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
    claims.start();
    this.#offs = [claims.onChange(() => this.#trigger.schedule()), this.#ctx.nb.onChange(() => this.#trigger.schedule())];
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
    return 'done';
  }
}
