/**
 * What of the shared NB this node's daemon monitors (ovn-controller's conditional monitoring,
 * for the NB): not the cluster's ports, only
 * - this node's own logical switch ports (the `node` owner key), and their switches;
 * - the switches it serves (a network used here since the daemon started), with every port on
 *   them: ovn-multinet's by the `switch` key each of its ports carries, anyone else's (an admin,
 *   Neutron) by uuid;
 * - the router ports that served switches connect to.
 * Rows of other switches never reach the daemon, so its memory and work grow with its own pods
 * and networks, not with the size of the NB. The selection grows when a network is first used
 * here (serve()); after a restart it is rebuilt from this node's ports.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { condition, eq } from '../ovsdb/ops.ts';
import type { Row, Uuid } from '../ovsdb/notation.ts';
import type { RowChange } from '../ovsdb/cache.ts';
import { rowUuid, stringMapOf, stringOf, uuidsOf } from '../lib/rows.ts';
import type { Logger } from '../lib/log.ts';
import { OwnerKeys, ScopeKeys } from './ids.ts';

/** How long a condition change may take before it is retried with the next change. */
const CHANGE_TIMEOUT_MS = 10_000;

interface Selection {
  switchNames: string[];
  orphanPorts: Uuid[];
  servedSwitches: Uuid[];
  foreignPorts: Uuid[];
  routerPorts: string[];
}

export class NbScope {
  readonly #node: string;
  readonly #log: Logger | undefined;
  /** Names of the switches served since the daemon started. */
  readonly #served = new Set<string>();
  /** In-flight serve() calls, by switch name. */
  readonly #serving = new Map<string, Promise<void>>();
  #nb: OvsdbClient | undefined;
  #scheduled = false;
  /** What the last conditions selected, to skip condition changes that would change nothing. */
  #selected = '';

  constructor(node: string, log?: Logger) {
    this.#node = node;
    this.#log = log;
  }

  /**
   * Follows the client's cache: when a served switch gains a port the conditions do not select
   * yet, or one of this node's ports arrives on a switch not known yet, the conditions move.
   */
  attach(nb: OvsdbClient): void {
    this.#nb = nb;
    nb.cache.on('change', (change: RowChange) => {
      // Only a switch's ports, or a port coming or going, can move the selection.
      const moved =
        change.table === 'Logical_Switch'
          ? change.old === undefined || change.new === undefined || uuidsOf(change.old, 'ports').length !== uuidsOf(change.new, 'ports').length
          : change.table === 'Logical_Switch_Port' && (change.old === undefined || change.new === undefined);
      if (moved) this.#schedule();
    });
  }

  /** The client's `conditions` option. */
  readonly conditions = (): MonitorConditions => {
    const selection = this.#select();
    return new Map([
      ['Logical_Switch', [...selection.switchNames.map((name) => eq('name', name)), ...selection.orphanPorts.map((uuid) => condition('ports', 'includes', [uuid]))]],
      [
        'Logical_Switch_Port',
        [
          condition('external_ids', 'includes', new Map([[OwnerKeys.node, this.#node]])),
          ...selection.servedSwitches.map((uuid) => condition('external_ids', 'includes', new Map([[ScopeKeys.switch, uuid]]))),
          ...selection.foreignPorts.map((uuid) => eq('_uuid', uuid)),
        ],
      ],
      ['Logical_Router_Port', selection.routerPorts.map((name) => eq('name', name))],
    ]);
  };

  /**
   * What the conditions select: switches by name (served ones, and those already in view), this
   * node's ports whose switch is not in view yet (after a restart: found by port), the served
   * switches (their ports of ours, by the switch key), the ports on them made by anyone else,
   * and the router ports they connect to. Sorted, so that equal selections compare equal.
   */
  #select(): Selection {
    const switches = this.#switchRows();
    const served = switches.filter((sw) => this.#served.has(stringOf(sw, 'name') ?? ''));
    const known = new Set(switches.flatMap((sw) => uuidsOf(sw, 'ports')));
    const names = new Set([...this.#served, ...switches.map((sw) => stringOf(sw, 'name') ?? '')]);
    names.delete('');
    return {
      switchNames: [...names].sort(),
      orphanPorts: this.#nodePorts().filter((uuid) => !known.has(uuid)).sort(),
      servedSwitches: served.map(rowUuid).sort(),
      foreignPorts: served.flatMap((sw) => this.#foreignPorts(sw)).sort(),
      routerPorts: served.flatMap((sw) => this.#routerPortNames(sw)).sort(),
    };
  }

  /**
   * Makes the switch named `name` and every port on it part of the view, and resolves once they
   * are in the cache (or the switch turned out not to exist). Safe to call for every request:
   * after the first, it costs nothing.
   */
  serve(name: string, signal: AbortSignal): Promise<void> {
    if (this.#served.has(name) && !this.#serving.has(name)) return Promise.resolve();
    let pending = this.#serving.get(name);
    if (pending === undefined) {
      this.#served.add(name);
      pending = this.#load(signal).finally(() => this.#serving.delete(name));
      this.#serving.set(name, pending);
    }
    return pending;
  }

  /** Two rounds: the switch row (by name) arrives with the first, the ports it names with the second. */
  async #load(signal: AbortSignal): Promise<void> {
    const nb = this.#nb;
    if (nb === undefined) return;
    await nb.updateConditions(signal);
    await nb.updateConditions(signal);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the whole update notification is applied: one condition change for all its rows.
    queueMicrotask(() => {
      this.#scheduled = false;
      // Encoding the conditions costs as much as the ports they name: only when they differ.
      const selected = JSON.stringify(this.#select());
      if (selected === this.#selected) return;
      this.#selected = selected;
      this.#nb?.updateConditions(AbortSignal.timeout(CHANGE_TIMEOUT_MS)).catch((err: unknown) => {
        this.#log?.warn({ err }, 'could not move the NB monitor conditions; the next change tries again');
      });
    });
  }

  #switchRows(): Row[] {
    return [...(this.#nb?.cache.table('Logical_Switch').values() ?? [])];
  }

  #nodePorts(): Uuid[] {
    const out: Uuid[] = [];
    for (const [uuid, row] of this.#nb?.cache.table('Logical_Switch_Port') ?? []) {
      if (stringMapOf(row, 'external_ids').get(OwnerKeys.node) === this.#node) out.push(uuid);
    }
    return out;
  }

  /** Ports of a served switch that the key clauses do not select: made by someone else. */
  #foreignPorts(sw: Row): Uuid[] {
    const cache = this.#nb?.cache;
    return uuidsOf(sw, 'ports').filter((uuid) => {
      const row = cache?.row('Logical_Switch_Port', uuid);
      if (row === undefined) return true;
      const ids = stringMapOf(row, 'external_ids');
      return ids.get(ScopeKeys.switch) !== rowUuid(sw) && ids.get(OwnerKeys.node) !== this.#node;
    });
  }

  /** The names of the router ports a served switch's router-type ports point at. */
  #routerPortNames(sw: Row): string[] {
    const cache = this.#nb?.cache;
    return uuidsOf(sw, 'ports').flatMap((uuid) => {
      const row = cache?.row('Logical_Switch_Port', uuid);
      if (row === undefined || stringOf(row, 'type') !== 'router') return [];
      const peer = stringMapOf(row, 'options').get('router-port');
      return peer === undefined ? [] : [peer];
    });
  }
}
