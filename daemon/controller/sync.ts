/**
 * The NAD sync loop: on every change of Networks, Namespaces, NADs or NB switches (and every
 * resync), computes the plan (plan.ts) from the caches, applies its NAD creates/updates/deletes,
 * then writes each Network's conditions through the status subresource when they changed.
 * Writes carry the cached resourceVersion: a 409 means the cache is behind, and the pass is
 * simply repeated once the watch has caught up.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { withSignal } from '../k8s/signal.ts';
import { NETWORK_GROUP, NETWORK_PLURAL, NETWORK_VERSION } from '../k8s/networks.ts';
import { describe, eachLimited, inFlux, statusCode } from './api.ts';
import { desiredConditions, mergeConditions, READY, sameConditions } from './conditions.ts';
import type { LeaderContext } from './context.ts';
import { NAD_GROUP, NAD_PLURAL, NAD_VERSION } from './objects.ts';
import { isObject } from '../cni-spec/json.ts';
import { planNads, type NadAction, type NetworkVerdict } from './plan.ts';
import { ReconcileLoop, type PassResult } from './trigger.ts';
import { UnreachableError } from '../errors.ts';

const PARALLEL_WRITES = 8;

export class NetworkSync extends ReconcileLoop {
  readonly #api: CustomObjectsApi;

  constructor(ctx: LeaderContext) {
    super(ctx, 'network-sync');
    this.#api = ctx.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  protected async pass(signal: AbortSignal): Promise<PassResult> {
    const { caches, nb } = this.ctx;
    // The first lists wake the trigger again when they arrive.
    if (!caches.synced) return 'done';
    const plan = planNads({
      networks: caches.networks(),
      namespaces: caches.namespaces(),
      nads: caches.nads(),
      switches: (name) => (nb.ready ? nb.switchState(name) : 'unknown'),
    });
    const failures = new Map<string, Map<string, string>>();
    const behind = new Set<string>();
    await eachLimited(plan.actions, PARALLEL_WRITES, async (action) => {
      try {
        await this.#apply(action, signal);
        this.log.info({ network: action.network, namespace: action.namespace, action: action.kind }, 'NetworkAttachmentDefinition written');
      } catch (err) {
        signal.throwIfAborted();
        if (action.kind === 'delete' && statusCode(err) === 404) return;
        if (inFlux(err)) {
          behind.add(action.network);
          return;
        }
        this.log.warn({ err, network: action.network, namespace: action.namespace, action: action.kind }, 'cannot write a NetworkAttachmentDefinition');
        const perNetwork = failures.get(action.network) ?? new Map<string, string>();
        perNetwork.set(action.namespace, describe(err));
        failures.set(action.network, perNetwork);
      }
    });
    let retry = behind.size > 0 || failures.size > 0;
    for (const verdict of plan.verdicts) {
      // Its NADs are not what the cache says: the status would be guessed.
      if (behind.has(verdict.network.name)) continue;
      if (!(await this.#writeStatus(verdict, failures.get(verdict.network.name) ?? new Map(), signal))) retry = true;
    }
    return retry ? 'retry' : 'done';
  }

  async #apply(action: NadAction, signal: AbortSignal): Promise<void> {
    const where = { group: NAD_GROUP, version: NAD_VERSION, plural: NAD_PLURAL, namespace: action.namespace };
    switch (action.kind) {
      case 'create':
        await this.#api.createNamespacedCustomObject({ ...where, body: action.body }, withSignal(signal));
        return;
      case 'update':
        await this.#api.replaceNamespacedCustomObject({ ...where, name: action.network, body: action.body }, withSignal(signal));
        return;
      case 'delete':
        await this.#api.deleteNamespacedCustomObject({ ...where, name: action.network, body: { preconditions: { resourceVersion: action.resourceVersion } } }, withSignal(signal));
        return;
      default: {
        const never: never = action;
        throw new UnreachableError(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  /** false when the write met a newer object (retry after the watch catches up). */
  async #writeStatus(verdict: NetworkVerdict, failures: ReadonlyMap<string, string>, signal: AbortSignal): Promise<boolean> {
    const { network } = verdict;
    const conditions = mergeConditions(network.conditions, desiredConditions(verdict, failures), network.generation, new Date());
    if (sameConditions(conditions, network.conditions)) return true;
    const status = isObject(network.raw['status']) ? network.raw['status'] : {};
    const body = { ...network.raw, status: { ...status, conditions } };
    try {
      await this.#api.replaceClusterCustomObjectStatus({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NETWORK_PLURAL, name: network.name, body }, withSignal(signal));
    } catch (err) {
      signal.throwIfAborted();
      if (inFlux(err)) return false;
      throw err;
    }
    const ready = conditions.find((c) => c.type === READY);
    this.log.info({ network: network.name, ready: ready?.status, reason: ready?.reason, message: ready?.message }, 'Network status written');
    return true;
  }
}
