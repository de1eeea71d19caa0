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
import type { Condition } from '../ovsdb/ops.ts';
import { condition, eq } from '../ovsdb/ops.ts';
import type { Row, Uuid } from '../ovsdb/notation.ts';
import type { RowChange } from '../ovsdb/cache.ts';
import { rowUuid, stringMapOf, stringOf, uuidsOf } from '../lib/rows.ts';
import type { Logger } from '../lib/log.ts';
import { OwnerKeys, ScopeKeys } from './ids.ts';

/** How long a condition change may take before it is retried with the next change. */
const CHANGE_TIMEOUT_MS = 10_000;

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
    const switches = this.#switchRows();
    const served = switches.filter((sw) => this.#served.has(stringOf(sw, 'name') ?? ''));
    const nodePorts = this.#nodePorts();
    const known = new Set(switches.flatMap((sw) => uuidsOf(sw, 'ports')));
    // This node's ports whose switch is not in the cache yet (after a restart) find it by port.
    const orphans = nodePorts.filter((uuid) => !known.has(uuid));
    const switchClauses: Condition[] = [
      ...[...new Set([...this.#served, ...switches.map((sw) => stringOf(sw, 'name') ?? '')])].filter((name) => name !== '').map((name) => eq('name', name)),
      ...orphans.map((uuid) => condition('ports', 'includes', [uuid])),
    ];
    const portClauses: Condition[] = [
      condition('external_ids', 'includes', new Map([[OwnerKeys.node, this.#node]])),
      ...served.map((sw) => condition('external_ids', 'includes', new Map([[ScopeKeys.switch, rowUuid(sw)]]))),
      ...served.flatMap((sw) => this.#foreignPorts(sw)).map((uuid) => eq('_uuid', uuid)),
    ];
    const routerPorts = served.flatMap((sw) => this.#routerPortNames(sw)).map((name) => eq('name', name));
    return new Map([
      ['Logical_Switch', switchClauses],
      ['Logical_Switch_Port', portClauses],
      ['Logical_Router_Port', routerPorts],
    ]);
  };

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
      const selected = this.#selection();
      if (selected === this.#selected) return;
      this.#selected = selected;
      this.#nb?.updateConditions(AbortSignal.timeout(CHANGE_TIMEOUT_MS)).catch((err: unknown) => {
        this.#log?.warn({ err }, 'could not move the NB monitor conditions; the next change tries again');
      });
    });
  }

  /** A fingerprint of what the conditions select: served and known switches, orphan and foreign ports. */
  #selection(): string {
    const switches = this.#switchRows();
    const known = new Set(switches.flatMap((sw) => uuidsOf(sw, 'ports')));
    const served = switches.filter((sw) => this.#served.has(stringOf(sw, 'name') ?? ''));
    return [
      [...this.#served].sort().join(','),
      switches.map((sw) => rowUuid(sw)).sort().join(','),
      this.#nodePorts().filter((uuid) => !known.has(uuid)).sort().join(','),
      served.flatMap((sw) => this.#foreignPorts(sw)).sort().join(','),
    ].join('|');
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
