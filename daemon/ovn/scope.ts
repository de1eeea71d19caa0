/**
 * What of the shared NB this node's daemon monitors (ovn-controller's conditional monitoring,
 * for the NB): not the cluster's ports, only
 * - this node's own logical switch ports (the `node` owner key, or the `migration-target/node`
 *   key of an IPAMClaim's port it shares during a live migration), and their switches;
 * - the switches it serves (a network used here since the daemon started), with every port on
 *   them: ovn-multinet's by the `switch` key each of its ports carries, anyone else's (an admin,
 *   Neutron) by uuid;
 * - the router ports that served switches connect to, and the DHCP options ovn-multinet made
 *   for them.
 * Rows of other switches never reach the daemon, so its memory and work grow with its own pods
 * and networks, not with the size of the NB. The selection grows when a network is first used
 * here (serve()); after a restart it is rebuilt from this node's ports. It shrinks too: a name
 * that no request holds (holding()) and whose switch carries no port of this node leaves it, at
 * once when no such switch exists, else after `lingerMs` unused (so a burst of ADDs on a network
 * does not move the conditions back and forth); the names that leave together leave in one
 * condition change. So names asked for once, existing or not, do not stay for ever.
 */
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { condition, eq } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import type { RowChange } from '../ovsdb/cache.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import type { Logger } from '../lib/log.ts';
import { OwnerKeys, ScopeKeys, TargetKeys } from './ids.ts';
import { portsByNode, portsBySwitchKey, portsByType, switchesByPort } from './indexes.ts';
import type { NbClient, NbRows, SwitchRow } from './nb.ts';

/** How long a condition change may take before it is retried with the next change. */
const CHANGE_TIMEOUT_MS = 10_000;

/** How long a served switch stays in view unused, by default: a minute, the reconciler's grace. */
const SERVE_LINGER_MS = 60_000;

/** Time between looks for names that may leave the selection, while some may. */
const SWEEP_MS = 1000;

export interface ScopeOptions {
  /** How long a served switch stays in view once unused (SERVE_LINGER_MS). */
  lingerMs?: number;
  /** false: every name ever served stays (what the daemon did before; a bench's baseline). */
  shrink?: boolean;
}

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
  readonly #lingerMs: number;
  readonly #shrink: boolean;
  /** Names of the switches served: asked for by a request, not yet left (sweep()). */
  readonly #served = new Set<string>();
  /** Requests holding each served name (holding()). */
  readonly #holds = new Map<string, number>();
  /** Served names unused, by name: since when. */
  readonly #idleSince = new Map<string, number>();
  #sweepTimer: NodeJS.Timeout | undefined;
  /**
   * Served switches whose key clause the server has applied (their ports of ours are in the
   * cache): only for those can the ports not in the cache be told to be someone else's.
   */
  readonly #keyed = new Set<Uuid>();
  /** The served switches of the conditions last handed to the client. */
  #sentServed: readonly Uuid[] = [];
  /** The clauses of the conditions last handed to the client. */
  #sentSize = 0;
  /** In-flight serve() calls, by switch name. */
  readonly #serving = new Map<string, Promise<void>>();
  #nb: NbClient | undefined;
  #scheduled = false;
  /** What the last conditions selected, to skip condition changes that would change nothing. */
  #selected = '';
  /** The foreign ports last found on each served switch, by its uuid. */
  readonly #foreignSeen = new Map<Uuid, readonly Uuid[]>();

  constructor(node: string, log?: Logger, options: ScopeOptions = {}) {
    this.#node = node;
    this.#log = log;
    this.#lingerMs = options.lingerMs ?? SERVE_LINGER_MS;
    this.#shrink = options.shrink ?? true;
  }

  /**
   * Follows the client's cache: when a served switch gains a port the conditions do not select
   * yet, or one of this node's ports arrives on a switch not known yet, the conditions move.
   */
  attach(nb: NbClient): void {
    this.#nb = nb;
    nb.cache.on('change', (change: RowChange<NbRows>) => {
      // Only a switch's ports, or a port coming or going, can move the selection.
      const moved =
        change.table === NbTable.Logical_Switch
          ? change.old === undefined || change.new === undefined || change.old.ports.length !== change.new.ports.length
          : change.table === NbTable.Logical_Switch_Port && (change.old === undefined || change.new === undefined);
      if (moved) this.#schedule();
      // A port gone may leave a served switch without a port of this node: its linger starts.
      if (change.table === NbTable.Logical_Switch_Port && change.new === undefined) this.#portGone();
    });
  }

  /** The client's `conditions` option. */
  readonly conditions = (): MonitorConditions => {
    const selection = this.#select();
    this.#sentServed = selection.servedSwitches;
    const conditions: MonitorConditions = new Map([
      [NbTable.Logical_Switch, [...selection.switchNames.map((name) => eq('name', name)), ...selection.orphanPorts.map((uuid) => condition('ports', 'includes', [uuid]))]],
      [
        NbTable.Logical_Switch_Port,
        [
          condition('external_ids', 'includes', new Map([[OwnerKeys.node, this.#node]])),
          condition('external_ids', 'includes', new Map([[TargetKeys.node, this.#node]])),
          ...selection.servedSwitches.map((uuid) => condition('external_ids', 'includes', new Map([[ScopeKeys.switch, uuid]]))),
          ...selection.foreignPorts.map((uuid) => eq('_uuid', uuid)),
        ],
      ],
      [NbTable.Logical_Router_Port, selection.routerPorts.map((name) => eq('name', name))],
      [NbTable.DHCP_Options, selection.servedSwitches.map((uuid) => condition('external_ids', 'includes', new Map([[ScopeKeys.switch, uuid]])))],
    ]);
    this.#sentSize = 0;
    for (const where of conditions.values()) this.#sentSize += where.length;
    return conditions;
  };

  /** How many clauses the conditions last handed to the client hold, over every table. */
  get size(): number {
    return this.#sentSize;
  }

  /**
   * What the conditions select: switches by name (served ones, and those carrying a port of this
   * node), this node's ports whose switch is not in view yet (after a restart: found by port), the served
   * switches (their ports of ours, by the switch key), the ports on them made by anyone else,
   * and the router ports they connect to. Sorted, so that equal selections compare equal.
   */
  #select(): Selection {
    const switches = this.#switchRows();
    const served = switches.filter((sw) => this.#served.has(sw.name));
    const homes = this.#homes();
    const names = new Set([...this.#served, ...switches.filter((sw) => homes.has(sw._uuid)).map((sw) => sw.name)]);
    names.delete('');
    const onSwitch = this.#nb === undefined ? undefined : switchesByPort(this.#nb);
    return {
      switchNames: [...names].sort(),
      orphanPorts: this.#nodePorts().filter((uuid) => (onSwitch?.get(uuid).size ?? 0) === 0).sort(),
      servedSwitches: served.map((sw) => sw._uuid).sort(),
      foreignPorts: served.filter((sw) => this.#keyed.has(sw._uuid)).flatMap((sw) => this.#foreignPorts(sw)).sort(),
      routerPorts: served.flatMap((sw) => this.#routerPortNames(sw)).sort(),
    };
  }

  /**
   * Whether every port of the switch is in view: it is served and its key clause applied. A
   * switch in view only for this node's own ports (after a restart, before a request serves it)
   * shows its guard keys but not the other nodes' ports that hold them.
   */
  seesAllPortsOf(switchUuid: Uuid): boolean {
    return this.#keyed.has(switchUuid) && this.#switchRows().some((sw) => sw._uuid === switchUuid && this.#served.has(sw.name));
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
      pending = this.#load(signal).finally(() => {
        this.#serving.delete(name);
        this.#unused(name);
      });
      this.#serving.set(name, pending);
    }
    return pending;
  }

  /**
   * Runs a request's work on the switch named `name` (queued or running): the name stays in the
   * selection until it ends, then for the linger if the switch exists.
   */
  async holding<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.#holds.set(name, (this.#holds.get(name) ?? 0) + 1);
    this.#idleSince.delete(name);
    try {
      return await work();
    } finally {
      const left = (this.#holds.get(name) ?? 1) - 1;
      if (left > 0) this.#holds.set(name, left);
      else {
        this.#holds.delete(name);
        this.#unused(name);
      }
    }
  }

  /** A served name nothing holds now: unused from now on, unless its switch carries a port of ours. */
  #unused(name: string): void {
    if (!this.#shrink || !this.#served.has(name) || this.#holds.has(name) || this.#serving.has(name)) return;
    this.#idleSince.set(name, performance.now());
    this.#sweepSoon();
  }

  /** Every served name nothing holds may have lost its last port of ours. */
  #portGone(): void {
    for (const name of this.#served) if (!this.#idleSince.has(name)) this.#unused(name);
  }

  #sweepSoon(): void {
    if (this.#sweepTimer !== undefined) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#sweep();
    }, Math.min(SWEEP_MS, this.#lingerMs));
    this.#sweepTimer.unref();
  }

  /**
   * Served names leave the selection when nothing holds them and their switch carries no port of
   * this node: a switch that does not exist at once, one that does after the linger. All that
   * leave in one sweep leave in one condition change. Without the NB nothing is judged.
   */
  #sweep(): void {
    const nb = this.#nb;
    if (nb === undefined || !nb.connected) {
      if (this.#idleSince.size > 0) this.#sweepSoon();
      return;
    }
    const now = performance.now();
    const rows = new Map(this.#switchRows().map((sw) => [sw.name, sw]));
    const homes = this.#homes();
    let left = 0;
    for (const [name, since] of this.#idleSince) {
      if (this.#holds.has(name) || this.#serving.has(name)) {
        this.#idleSince.delete(name);
        continue;
      }
      const sw = rows.get(name);
      // In use while its switch carries a port of ours (#portGone() looks again when one goes).
      if (sw !== undefined && homes.has(sw._uuid)) this.#idleSince.delete(name);
      if (sw !== undefined && (homes.has(sw._uuid) || now - since < this.#lingerMs)) continue;
      this.#idleSince.delete(name);
      this.#served.delete(name);
      if (sw !== undefined) {
        this.#keyed.delete(sw._uuid);
        this.#foreignSeen.delete(sw._uuid);
      }
      left++;
    }
    if (left > 0) {
      this.#log?.debug({ left, served: this.#served.size }, 'switches left the NB view');
      this.#schedule();
    }
    if (this.#idleSince.size > 0) this.#sweepSoon();
  }

  /**
   * Four rounds: the switch row (by name) arrives with the first, its ports of ours (by the
   * switch key) with the second, the others on it (by uuid) with the third, and the router ports
   * its router-type ports name with the fourth (their addresses and MACs are never handed out:
   * the first request must see them). Without the second, every port of a switch of 20,000 would
   * look like someone else's and be asked for by uuid.
   */
  async #load(signal: AbortSignal): Promise<void> {
    const nb = this.#nb;
    if (nb === undefined) return;
    await nb.updateConditions(signal);
    await nb.updateConditions(signal);
    this.#markKeyed();
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
      this.#nb?.updateConditions(AbortSignal.timeout(CHANGE_TIMEOUT_MS)).then(
        () => {
          // A served switch whose key clause is now applied: its other ports can be asked for.
          if (this.#markKeyed()) this.#schedule();
        },
        (err: unknown) => {
          this.#log?.warn({ err }, 'could not move the NB monitor conditions; the next change tries again');
        },
      );
    });
  }

  /** Records the switches of the last conditions sent as keyed; whether any was new. */
  #markKeyed(): boolean {
    const before = this.#keyed.size;
    for (const uuid of this.#sentServed) this.#keyed.add(uuid);
    return this.#keyed.size > before;
  }

  #switchRows(): SwitchRow[] {
    return [...(this.#nb?.cache.table(NbTable.Logical_Switch).values() ?? [])];
  }

  /** The switches that carry a port of this node, by uuid. */
  #homes(): Set<Uuid> {
    const nb = this.#nb;
    if (nb === undefined) return new Set();
    const onSwitch = switchesByPort(nb);
    return new Set(this.#nodePorts().flatMap((uuid) => [...onSwitch.get(uuid)]));
  }

  /** This node's ports, from the cache's node index. */
  #nodePorts(): Uuid[] {
    return this.#nb === undefined ? [] : [...portsByNode(this.#nb).get(this.#node)];
  }

  /**
   * Ports of a served switch that the key clauses do not select: made by someone else. A port of
   * ours arrives in the same update as the switch change that adds it, so when the switch's
   * ports less those with its key are as many as the foreign ports found last time, and those
   * are all still on it, nothing foreign came or went: the answer costs a look-up per foreign
   * port. Otherwise one set look-up per port of the switch (the indexes say which are ours).
   */
  #foreignPorts(sw: SwitchRow): readonly Uuid[] {
    const nb = this.#nb;
    if (nb === undefined) return [];
    const switchUuid = sw._uuid;
    const byKey = portsBySwitchKey(nb);
    const onSwitch = switchesByPort(nb);
    const last = this.#foreignSeen.get(switchUuid);
    if (last !== undefined && sw.ports.length - byKey.get(switchUuid).size === last.length && last.every((uuid) => onSwitch.has(uuid, switchUuid))) return last;
    const mine = portsByNode(nb);
    const foreign = sw.ports.filter((uuid) => !byKey.has(switchUuid, uuid) && !mine.has(this.#node, uuid));
    this.#foreignSeen.set(switchUuid, foreign);
    return foreign;
  }

  /** The names of the router ports a served switch's router-type ports point at. */
  #routerPortNames(sw: SwitchRow): string[] {
    const nb = this.#nb;
    if (nb === undefined) return [];
    const switchUuid = sw._uuid;
    const onSwitch = switchesByPort(nb);
    const names: string[] = [];
    // By uuid from the type index: rows() would order them by a scan of every port in view.
    for (const uuid of portsByType(nb).get('router')) {
      if (!onSwitch.has(uuid, switchUuid)) continue;
      const peer = nb.cache.row(NbTable.Logical_Switch_Port, uuid)?.options.get('router-port');
      if (peer !== undefined) names.push(peer);
    }
    return names.sort();
  }
}
