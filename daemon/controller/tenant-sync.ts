/**
 * The NamespacedNetwork loop: on every change of the caches, of the NB's switches, of
 * ovn-multinet's ports while a deletion waits for them, and every resync, computes the plan
 * (tenant-plan.ts) and applies it: finalizers, the NADs, the deletion of empty switches; then
 * writes each NamespacedNetwork's conditions through the status subresource when they changed.
 * Writes carry the cached resourceVersion: a 409 means the cache is behind, and the pass is
 * repeated once the watch has caught up.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { withSignal } from '../k8s/signal.ts';
import { NETWORK_GROUP, NETWORK_VERSION } from '../k8s/networks.ts';
import { NAMESPACED_NETWORK_PLURAL, SWITCH_FINALIZER } from '../k8s/namespaced.ts';
import { deleteEmptySwitchOps, managedNetworkSwitches, switchUse } from '../ovn/tenant-switches.ts';
import { releaseLayer3Network } from '../ovn/layer3-release.ts';
import { OwnerKeys } from '../ovn/ids.ts';
import { isTenantSwitch } from '../k8s/tenant-switch.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { isObject } from '../cni-spec/json.ts';
import { describe, inFlux, statusCode } from './api.ts';
import { mergeConditions, sameConditions } from './conditions.ts';
import type { LeaderContext } from './context.ts';
import { NAD_GROUP, NAD_PLURAL, NAD_VERSION } from './objects.ts';
import type { NamespacedNetworkObject } from './tenant-objects.ts';
import { planTenantNetworks, type DesiredCondition, type TenantAction, type TenantVerdict } from './tenant-plan.ts';
import { ReconcileLoop, type PassResult } from './trigger.ts';
import { UnreachableError } from '../errors.ts';

const where = { group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NAMESPACED_NETWORK_PLURAL };

export class TenantNetworkSync extends ReconcileLoop {
  readonly #api: CustomObjectsApi;
  /** The last pass left a deletion waiting for ports: port changes wake the loop. */
  #waiting = false;
  #off: (() => void) | undefined;

  constructor(ctx: LeaderContext) {
    super(ctx, 'namespaced-network-sync');
    this.#api = ctx.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  override start(signal: AbortSignal): void {
    const { cache } = this.ctx.nbClient;
    const onRow = (change: { table: string }): void => {
      if (this.#waiting && change.table === NbTable.Logical_Switch_Port) this.schedule();
    };
    cache.on('change', onRow);
    this.#off = () => cache.off('change', onRow);
    super.start(signal);
  }

  override async stop(): Promise<void> {
    this.#off?.();
    this.#off = undefined;
    await super.stop();
  }

  protected async pass(signal: AbortSignal): Promise<PassResult> {
    const { caches, nb, nbClient } = this.ctx;
    if (!caches.synced) return 'done';
    const plan = planTenantNetworks({
      networks: caches.namespacedNetworks(),
      nads: caches.nads(),
      excluded: this.ctx.tenantExcludedSubnets ?? [],
      switches: (name) => (nb.ready ? switchUse(nbClient, name) : { kind: 'unknown', why: 'the OVN Northbound database is not read yet' }),
      tenantSwitches: nb.ready ? managedNetworkSwitches(nbClient, OwnerKeys.managedNetwork).filter(isTenantSwitch) : [],
    });
    this.#waiting = plan.verdicts.some((v) => v.conditions.some((c) => c.reason === 'WaitingForPorts'));
    const failures = new Map<string, string>();
    let retry = false;
    for (const action of plan.actions) {
      const key = 'network' in action ? `${action.network.namespace}/${action.network.name}` : `${action.namespace}/${action.name}`;
      try {
        await this.#apply(action, signal);
        this.log.info({ namespacedNetwork: key, action: action.kind }, 'NamespacedNetwork step done');
      } catch (err) {
        signal.throwIfAborted();
        if (action.kind === 'delete-nad' && statusCode(err) === 404) continue;
        retry = true;
        if (inFlux(err)) continue;
        this.log.warn({ err, namespacedNetwork: key, action: action.kind }, 'NamespacedNetwork step failed');
        failures.set(key, `${action.kind}: ${describe(err)}`);
      }
    }
    for (const verdict of plan.verdicts) {
      if (!(await this.#writeStatus(verdict, failures.get(`${verdict.network.namespace}/${verdict.network.name}`), signal))) retry = true;
    }
    return retry ? 'retry' : 'done';
  }

  async #apply(action: TenantAction, signal: AbortSignal): Promise<void> {
    const nads = { group: NAD_GROUP, version: NAD_VERSION, plural: NAD_PLURAL };
    switch (action.kind) {
      case 'add-finalizer':
        await this.#setFinalizers(action.network, [...action.network.finalizers, SWITCH_FINALIZER], signal);
        return;
      case 'remove-finalizer':
        await this.#setFinalizers(action.network, action.network.finalizers.filter((f) => f !== SWITCH_FINALIZER), signal);
        return;
      case 'create-nad':
        await this.#api.createNamespacedCustomObject({ ...nads, namespace: action.namespace, body: action.body }, withSignal(signal));
        return;
      case 'update-nad':
        await this.#api.replaceNamespacedCustomObject({ ...nads, namespace: action.namespace, name: action.name, body: action.body }, withSignal(signal));
        return;
      case 'delete-nad':
        await this.#api.deleteNamespacedCustomObject({ ...nads, namespace: action.namespace, name: action.name, body: { preconditions: { resourceVersion: action.resourceVersion } } }, withSignal(signal));
        return;
      case 'delete-switch':
        if ('layer3Router' in action.use) await releaseLayer3Network(this.ctx.nbClient, action.use.layer3Router, signal);
        else await this.ctx.nbClient.transact(deleteEmptySwitchOps(action.use.uuid), signal);
        return;
      default: {
        const never: never = action;
        throw new UnreachableError(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  async #setFinalizers(network: NamespacedNetworkObject, finalizers: string[], signal: AbortSignal): Promise<void> {
    const meta = isObject(network.raw['metadata']) ? network.raw['metadata'] : {};
    const body = { ...network.raw, metadata: { ...meta, finalizers } };
    await this.#api.replaceNamespacedCustomObject({ ...where, namespace: network.namespace, name: network.name, body }, withSignal(signal));
  }

  /** false when the write met a newer object (retry after the watch catches up). */
  async #writeStatus(verdict: TenantVerdict, failure: string | undefined, signal: AbortSignal): Promise<boolean> {
    const { network } = verdict;
    const desired: DesiredCondition[] = failure === undefined ? verdict.conditions : verdict.conditions.map((c) => (c.type === 'Ready' ? { type: c.type, status: 'False', reason: 'ApplyFailed', message: failure } : c));
    const conditions = mergeConditions(network.conditions, desired, network.generation, new Date());
    if (sameConditions(conditions, network.conditions)) return true;
    const status = isObject(network.raw['status']) ? network.raw['status'] : {};
    try {
      await this.#api.replaceNamespacedCustomObjectStatus({ ...where, namespace: network.namespace, name: network.name, body: { ...network.raw, status: { ...status, conditions } } }, withSignal(signal));
    } catch (err) {
      signal.throwIfAborted();
      if (inFlux(err)) return false;
      throw err;
    }
    this.log.info({ namespacedNetwork: `${network.namespace}/${network.name}`, conditions: desired }, 'NamespacedNetwork status written');
    return true;
  }
}
