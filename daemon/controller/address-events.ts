/**
 * The address-alerts loop: on every change of the NB's logical switches (a guard key is written
 * with every address taken or freed) and of the Networks, computes each Network's level from its
 * switch (address-levels.ts, daemon/ipam/usage.ts) and records an Event on the Network when the
 * level crosses the `--network-low-threshold` or exhaustion (through the recorder,
 * daemon/k8s/events.ts). Levels are remembered per Network uid while this replica leads; a new
 * leader starts from `ok`, so a Network already low gets its Event once more.
 */
import { definitionOf } from '../k8s/definition.ts';
import { switchNamed } from '../ovn/switches.ts';
import { addressUsage, type AddressUsage } from '../ipam/usage.ts';
import { AmbiguousSwitchError, IpamConfigError, NetworkSpecError } from '../errors.ts';
import type { LeaderContext } from './context.ts';
import { NETWORK_API_VERSION, NETWORK_KIND, type NetworkObject } from './objects.ts';
import { ReconcileLoop, type PassResult } from './trigger.ts';
import { addressAlert, addressLevel, type AddressLevel } from './address-levels.ts';

export class AddressAlerts extends ReconcileLoop {
  /** Network uid → its level at the last pass. */
  readonly #levels = new Map<string, AddressLevel>();
  /** Per switch row (rows are replaced on every change): its usage, counted once. */
  readonly #usage = new WeakMap<object, AddressUsage[]>();

  constructor(ctx: LeaderContext) {
    super(ctx, 'address-alerts');
  }

  protected pass(): Promise<PassResult> {
    const { caches, nb, events, networkLowThreshold } = this.ctx;
    if (!caches.synced || !nb.ready) return Promise.resolve('done');
    const seen = new Set<string>();
    for (const network of caches.networks()) {
      seen.add(network.uid);
      const found = this.#usageOf(network);
      if (found === undefined) continue;
      const level = addressLevel(found.usage, networkLowThreshold);
      const alert = addressAlert(this.#levels.get(network.uid) ?? 'ok', level, found.usage, networkLowThreshold, found.switchName);
      this.#levels.set(network.uid, level);
      if (alert === undefined) continue;
      this.log.info({ network: network.name, reason: alert.reason, note: alert.note }, 'Network address level changed');
      events.record({ regarding: { apiVersion: NETWORK_API_VERSION, kind: NETWORK_KIND, name: network.name, uid: network.uid }, type: alert.type, reason: alert.reason, action: 'Allocate', note: alert.note });
    }
    for (const uid of this.#levels.keys()) if (!seen.has(uid)) this.#levels.delete(uid);
    return Promise.resolve('done');
  }

  /** The usage of the Network's switch; undefined for an invalid spec, a switch missing or ambiguous, unreadable settings. */
  #usageOf(network: NetworkObject): { switchName: string; usage: AddressUsage[] } | undefined {
    try {
      const { switchName } = definitionOf(network.name, network.spec);
      const row = switchNamed(this.ctx.nbClient, switchName);
      if (row === undefined) return undefined;
      let usage = this.#usage.get(row);
      if (usage === undefined) {
        usage = addressUsage(row);
        this.#usage.set(row, usage);
      }
      return { switchName, usage };
    } catch (err) {
      if (err instanceof NetworkSpecError || err instanceof AmbiguousSwitchError || err instanceof IpamConfigError) return undefined;
      throw err;
    }
  }
}
