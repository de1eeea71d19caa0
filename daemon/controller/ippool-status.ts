/**
 * The IPPool status loop (leader only): on every change of IPPools, Networks or the NB (and every
 * resync), computes each pool's status (ippool-plan.ts) and writes it through the status
 * subresource when it differs from the stored one. The IPPools are list+watched while the loop
 * runs (cluster-wide: the controller's cost grows with the pools, which are few).
 */
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { withSignal } from '../k8s/signal.ts';
import { WatchedCache } from '../k8s/watch.ts';
import { NETWORK_GROUP, NETWORK_VERSION } from '../k8s/networks.ts';
import { IPPOOL_PLURAL, toIpPool, type ParsedPool } from '../k8s/ippools.ts';
import { definitionOf } from '../k8s/definition.ts';
import { switchNamed } from '../ovn/switches.ts';
import { parseIpamSettings } from '../ipam/pool.ts';
import { guardedAddresses } from '../ipam/usage.ts';
import { isObject } from '../cni-spec/json.ts';
import { asList, inFlux } from './api.ts';
import { mergeConditions, sameConditions } from './conditions.ts';
import { toCondition, type Condition } from './objects.ts';
import { poolStatuses, type NetworkSwitch, type PoolStatus } from './ippool-plan.ts';
import { ReconcileLoop, type PassResult } from './trigger.ts';
import type { LeaderContext } from './context.ts';

export class IpPoolReporter extends ReconcileLoop {
  readonly #api: CustomObjectsApi;
  readonly #pools: WatchedCache<KubernetesObject>;
  #off: (() => void) | undefined;

  constructor(ctx: LeaderContext) {
    super(ctx, 'ippool-status');
    this.#api = ctx.kubeConfig.makeApiClient(CustomObjectsApi);
    const where = { group: NETWORK_GROUP, version: NETWORK_VERSION, plural: IPPOOL_PLURAL };
    this.#pools = new WatchedCache({
      kubeConfig: ctx.kubeConfig,
      log: this.log,
      retryMs: 1000,
      path: `/apis/${NETWORK_GROUP}/${NETWORK_VERSION}/${IPPOOL_PLURAL}`,
      list: async () => asList(await this.#api.listClusterCustomObject(where), 'IPPool'),
    });
  }

  override start(signal: AbortSignal): void {
    this.#off = this.#pools.onChange(() => this.schedule());
    this.#pools.start();
    super.start(signal);
  }

  override async stop(): Promise<void> {
    this.#off?.();
    await Promise.all([super.stop(), this.#pools.stop()]);
  }

  /** A Network's switch, as the NB cache holds it now. */
  #switchOf(network: string): NetworkSwitch {
    const object = this.ctx.caches.network(network);
    if (object === undefined) return { kind: 'refused', reason: 'NetworkNotFound', message: `Network ${network} does not exist` };
    let switchName: string;
    try {
      ({ switchName } = definitionOf(object.name, object.spec));
      const row = switchNamed(this.ctx.nbClient, switchName);
      if (row === undefined) return { kind: 'refused', reason: 'LogicalSwitchNotFound', message: `logical switch ${switchName} of Network ${network} does not exist in the OVN Northbound database` };
      const { used, reserved } = guardedAddresses(row.external_ids);
      return { kind: 'found', switchName, settings: parseIpamSettings(row.other_config, row.external_ids), used, reserved };
    } catch (err) {
      return { kind: 'refused', reason: 'InvalidNetwork', message: `Network ${network}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  protected async pass(signal: AbortSignal): Promise<PassResult> {
    if (!this.ctx.caches.synced || !this.#pools.synced || !this.ctx.nb.ready) return 'done';
    const objects = this.#pools.list();
    const parsed = objects.map(toIpPool).filter((p): p is ParsedPool => p !== undefined);
    const statuses = poolStatuses(parsed, (network) => this.#switchOf(network));
    let retry = false;
    for (const raw of objects) {
      const name = raw.metadata?.name;
      const status = name === undefined ? undefined : statuses.get(name);
      if (name === undefined || status === undefined) continue;
      if (!(await this.#write(name, raw, status, signal))) retry = true;
    }
    return retry ? 'retry' : 'done';
  }

  /** Writes the status when it changed; false when the write met a newer object. */
  async #write(name: string, raw: KubernetesObject, wanted: PoolStatus, signal: AbortSignal): Promise<boolean> {
    const object = raw as unknown as Record<string, unknown>;
    const stored = isObject(object['status']) ? object['status'] : {};
    const existing = Array.isArray(stored['conditions']) ? stored['conditions'].map(toCondition).filter((c): c is Condition => c !== undefined) : [];
    const generation = raw.metadata?.generation ?? 0;
    const conditions = mergeConditions(existing, wanted.conditions, generation, new Date());
    if (sameConditions(conditions, existing) && JSON.stringify(stored['usage'] ?? []) === JSON.stringify(wanted.usage)) return true;
    const body = { ...object, status: { ...stored, conditions, usage: wanted.usage } };
    try {
      await this.#api.replaceClusterCustomObjectStatus({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: IPPOOL_PLURAL, name, body }, withSignal(signal));
    } catch (err) {
      signal.throwIfAborted();
      if (inFlux(err)) return false;
      throw err;
    }
    this.log.info({ ipPool: name, usage: wanted.usage, conditions: wanted.conditions.map((c) => `${c.type}=${c.status} (${c.reason})`) }, 'IPPool status written');
    return true;
  }
}
