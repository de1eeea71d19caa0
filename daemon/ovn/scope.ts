/**
 * What of the shared NB this node's daemon monitors (ovn-controller's conditional monitoring,
 * for the NB): not the cluster's ports, only
 * - the switches in view: those it serves (a network used here since the daemon started) and
 *   those that carry a port of this node (the `node` owner key, or the `migration-target/node`
 *   key of an IPAMClaim's port it shares during a live migration), each with every port on it:
 *   ovn-multinet's by the `switch` key each of its ports carries, anyone else's (an admin,
 *   Neutron) by uuid;
 * - the router ports that served switches connect to, and the DHCP options ovn-multinet made
 *   for them.
 * Rows of other switches never reach the daemon, so its memory and work grow with its own pods
 * and networks, not with the size of the NB.
 *
 * What it costs the NB: ovsdb-server (3.1) scans the whole Logical_Switch_Port table for a
 * monitor's initial contents and for every change of its condition (about 0.15 s at 100,000
 * ports, during which it answers nobody). So the port table is never in the monitor whose
 * condition moves: each switch in view has a watch of its own (ovsdb/watch.ts: a monitor made
 * without initial contents, whose rows are read by uuid from the switch's `ports`), made when the
 * switch comes into view, replaced when a port of someone else comes or goes on it, ended when
 * it leaves; the switches, router ports and DHCP options (small tables) stay in that monitor.
 * This node's own ports are found once, at the first connection, by one select; after that
 * they come with their switches' watches.
 *
 * The selection grows when a network is first used here (serve()); after a restart it is
 * rebuilt from this node's ports. It shrinks too: a name that no request holds (holding()) and
 * whose switch carries no port of this node leaves it, at once when no such switch exists, else
 * after `lingerMs` unused (so a burst of ADDs on a network does not move the selection back and
 * forth); the names that leave together leave in one condition change. So names asked for once,
 * existing or not, do not stay for ever.
 */
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { condition, eq, select } from '../ovsdb/ops.ts';
import type { Condition } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import type { RowChange } from '../ovsdb/cache.ts';
import type { WatchSpec } from '../ovsdb/watch.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import type { Logger } from '../lib/log.ts';
import { OwnerKeys, ScopeKeys, TargetKeys } from './ids.ts';
import { portsByNode, portsBySwitchKey, portsByType, switchesByName, switchesByPort } from './indexes.ts';
import type { NbClient, NbRows, NbSelection, SwitchRow } from './nb.ts';

/** How long a condition change or a watch may take before it is retried with the next change. */
const CHANGE_TIMEOUT_MS = 10_000;

/** How long a served switch stays in view unused, by default: a minute, the reconciler's grace. */
const SERVE_LINGER_MS = 60_000;

/** Time between looks for names that may leave the selection, while some may. */
const SWEEP_MS = 1000;

/**
 * How long a port listed on a switch in view may be missing from the cache before it is taken
 * for someone else's (asked for by uuid): a port of ours comes through the switch's watch, in an
 * update the server sends with the switch's own, a moment apart.
 */
const UNKNOWN_GRACE_MS = 100;

/** Watch keys: one per switch in view. */
const WATCH_PREFIX = 'switch:';

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
  /** Served names whose switch a catch-up brought into view (or found missing). */
  readonly #caughtUp = new Set<string>();
  /** Served names unused, by name: since when. */
  readonly #idleSince = new Map<string, number>();
  #sweepTimer: NodeJS.Timeout | undefined;
  /** In-flight serve() calls, by switch name. */
  readonly #serving = new Map<string, Promise<void>>();
  #nb: NbClient | undefined;
  #scheduled: NodeJS.Timeout | undefined;
  /** What the last conditions selected, to skip condition changes that would change nothing. */
  #selected = '';
  /** Clauses of the conditions last handed to the client. */
  #sentSize = 0;
  /** This node's ports found by the first connection's select, until their switches are in view. */
  #found: readonly Uuid[] = [];
  #foundOnce = false;
  /** The `where` last given to each switch's watch (JSON text), by watch key. */
  readonly #watchWhere = new Map<string, string>();
  /** Switches whose watch holds every port on them, each as it stood (its `ports`) when it did. */
  readonly #complete = new Map<Uuid, readonly Uuid[]>();
  /** Ports listed on a switch in view and missing from the cache: since when. */
  readonly #unknownSince = new Map<Uuid, number>();

  constructor(node: string, log?: Logger, options: ScopeOptions = {}) {
    this.#node = node;
    this.#log = log;
    this.#lingerMs = options.lingerMs ?? SERVE_LINGER_MS;
    this.#shrink = options.shrink ?? true;
  }

  /**
   * Follows the client's cache: when a switch in view gains or loses a port, or one of this node's
   * ports comes or goes, the selection moves.
   */
  attach(nb: NbClient): void {
    this.#nb = nb;
    nb.cache.on('change', (change: RowChange<NbRows>) => {
      const moved =
        change.table === NbTable.Logical_Switch
          ? change.old === undefined || change.new === undefined || change.old.ports !== change.new.ports
          : change.table === NbTable.Logical_Switch_Port && (change.old === undefined || change.new === undefined);
      if (moved) this.#schedule();
      // A port gone may leave a served switch without a port of this node: its linger starts.
      if (change.table === NbTable.Logical_Switch_Port && change.new === undefined) this.#portGone();
    });
  }

  /** The client's `conditions` option: the switches, router ports and DHCP options in view. */
  readonly conditions = (): MonitorConditions => {
    const selection = this.#select();
    const conditions: MonitorConditions = new Map([
      [NbTable.Logical_Switch, [...selection.switchNames.map((name) => eq('name', name)), ...selection.orphanPorts.map((uuid) => condition('ports', 'includes', [uuid]))]],
      [NbTable.Logical_Router_Port, selection.routerPorts.map((name) => eq('name', name))],
      [NbTable.DHCP_Options, selection.servedSwitches.map((uuid) => switchKey(uuid))],
    ]);
    this.#sentSize = 0;
    for (const where of conditions.values()) this.#sentSize += where.length;
    return conditions;
  };

  /**
   * The client's `prepare` option, run on each new session before it is announced: at the first,
   * this node's ports are found (one select) and their switches brought into view with every
   * port on them; at every one, the selection catches up with what changed while away.
   */
  readonly prepare = async (signal: AbortSignal): Promise<void> => {
    const nb = this.#nb;
    if (nb === undefined) return;
    if (!this.#foundOnce) {
      const ids = (key: string): Condition[] => [condition('external_ids', 'includes', new Map([[key, this.#node]]))];
      const [owned, targeted] = await nb.transact([select(NbTable.Logical_Switch_Port, ids(OwnerKeys.node), ['_uuid']), select(NbTable.Logical_Switch_Port, ids(TargetKeys.node), ['_uuid'])], signal);
      this.#found = [...(owned?.rows ?? []), ...(targeted?.rows ?? [])].map((row) => row['_uuid'] as Uuid);
      this.#foundOnce = true;
    }
    await this.#catchUp(signal);
    // Their switches are in view now, and the ports with them.
    this.#found = [];
  };

  /** The NB client's options that make it hold this scope's rows (nb.ts nbClient). */
  get selection(): NbSelection {
    return { conditions: this.conditions, watched: [NbTable.Logical_Switch_Port], prepare: this.prepare };
  }

  /** How many clauses the selection holds: the conditions last handed to the client and the watches'. */
  get size(): number {
    return this.#sentSize + (this.#nb?.watchClauses ?? 0);
  }

  /**
   * What the conditions select: switches by name (served ones, and those carrying a port of this
   * node), this node's ports whose switch is not in view yet (after a restart: found by port), the
   * served switches, and the router ports they connect to. Sorted, so that equal selections
   * compare equal.
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
      routerPorts: served.flatMap((sw) => this.#routerPortNames(sw)).sort(),
    };
  }

  /** The names of the switches served now (`ovn-multinetd status`). */
  get servedNames(): string[] {
    return [...this.#served];
  }

  /**
   * Whether every port of the switch is in view: it is served and its watch holds every port on
   * it (someone else's included, asked for by uuid). A port gone leaves the others in view: until
   * the watch catches up (a moment later), the ports it held still cover the switch's, so a
   * removal never makes the switch unjudged (its gauges would vanish from a scrape).
   */
  seesAllPortsOf(switchUuid: Uuid): boolean {
    const sw = this.#nb?.cache.row(NbTable.Logical_Switch, switchUuid);
    const held = this.#complete.get(switchUuid);
    if (sw === undefined || held === undefined || !this.#served.has(sw.name)) return false;
    if (held === sw.ports) return true;
    const heldSet = new Set(held);
    return sw.ports.every((uuid) => heldSet.has(uuid));
  }

  /**
   * Makes the switch named `name` and every port on it part of the view, and resolves once they
   * are in the cache (or the switch turned out not to exist). Safe to call for every request:
   * after the first, it costs nothing.
   */
  serve(name: string, signal: AbortSignal): Promise<void> {
    let pending = this.#serving.get(name);
    if (pending === undefined && this.#served.has(name) && this.#inView(name)) return Promise.resolve();
    if (pending === undefined) {
      this.#served.add(name);
      pending = this.#catchUp(signal).finally(() => {
        this.#serving.delete(name);
        this.#unused(name);
      });
      this.#serving.set(name, pending);
    }
    return pending;
  }

  /**
   * Whether a served name's switch is in view with every port on it: it was there when a catch-up
   * ended, and its watch holds its ports (a switch that does not exist needs nothing).
   */
  #inView(name: string): boolean {
    const nb = this.#nb;
    if (nb === undefined || !this.#caughtUp.has(name)) return false;
    return [...switchesByName(nb).get(name)].every((uuid) => nb.watchLoaded(`${WATCH_PREFIX}${uuid}`));
  }

  /**
   * Brings the view up to date now, and resolves once it is: a port someone else added to a switch
   * in view is asked for at once (no grace). It starts with a round trip (an empty transaction):
   * the server sends the updates of what it committed before it ahead of the reply, so a change an
   * admin made before this request arrived is in the cache before it is judged.
   */
  async refresh(signal: AbortSignal): Promise<void> {
    await this.#nb?.transact([], signal);
    await this.#catchUp(signal, 0);
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
      this.#caughtUp.delete(name);
      left++;
    }
    if (left > 0) {
      this.#log?.debug({ left, served: this.#served.size }, 'switches left the NB view');
      this.#schedule();
    }
    if (this.#idleSince.size > 0) this.#sweepSoon();
  }

  /**
   * Three rounds, each only if the one before changed something: the switch rows (by name, or by
   * a port of this node), the watches of the switches now in view (their ports read by uuid;
   * then, for a switch where someone else's ports showed up, the watch that follows them by uuid
   * too), and the router ports and DHCP options of the served switches. Their addresses and MACs
   * are never handed out: the first request must see them.
   */
  async #catchUp(signal: AbortSignal, graceMs = UNKNOWN_GRACE_MS): Promise<void> {
    const nb = this.#nb;
    if (nb === undefined) return;
    await nb.updateConditions(signal);
    const names = [...this.#served];
    await nb.updateConditions(signal);
    await this.#watchSwitches(signal, graceMs);
    await this.#watchSwitches(signal, graceMs);
    await nb.updateConditions(signal);
    for (const name of names) if (this.#served.has(name)) this.#caughtUp.add(name);
  }

  #schedule(): void {
    if (this.#scheduled !== undefined) return;
    // After the updates that came together are applied (a switch's and its ports', a moment apart).
    this.#scheduled = setTimeout(() => {
      this.#scheduled = undefined;
      void this.#move();
    }, 10);
    this.#scheduled.unref();
  }

  async #move(): Promise<void> {
    const signal = AbortSignal.timeout(CHANGE_TIMEOUT_MS);
    try {
      // Encoding the conditions costs as much as the names they hold: only when they differ.
      const selected = JSON.stringify(this.#select());
      if (selected !== this.#selected) {
        this.#selected = selected;
        await this.#nb?.updateConditions(signal);
      }
      await this.#watchSwitches(signal, UNKNOWN_GRACE_MS);
    } catch (err) {
      this.#log?.warn({ err }, 'could not move the NB monitor selection; the next change tries again');
    }
  }

  /**
   * Gives each switch in view a watch of its ports (by the switch key, and someone else's by
   * uuid), replaced when that set changes, and ends the watches of switches no longer in view.
   * A port listed on the switch but not in the cache counts as someone else's once missing for
   * `graceMs` (a look is scheduled for then).
   */
  async #watchSwitches(signal: AbortSignal, graceMs: number): Promise<void> {
    const nb = this.#nb;
    if (nb === undefined) return;
    const now = performance.now();
    const inView = new Map(this.#switchRows().map((sw) => [`${WATCH_PREFIX}${sw._uuid}`, sw]));
    let waiting = false;
    const work: Array<Promise<void>> = [];
    for (const [key, sw] of inView) {
      const foreign = this.#foreignPorts(sw, now, graceMs);
      if (foreign === undefined) {
        waiting = true;
        continue;
      }
      const spec: WatchSpec = { table: NbTable.Logical_Switch_Port, where: [switchKey(sw._uuid), ...foreign.map((uuid) => eq('_uuid', uuid))], uuids: () => this.#nb?.cache.row(NbTable.Logical_Switch, sw._uuid)?.ports ?? [] };
      const where = JSON.stringify(spec.where);
      if (this.#watchWhere.get(key) === where && nb.watchLoaded(key)) {
        this.#complete.set(sw._uuid, sw.ports);
        continue;
      }
      this.#watchWhere.set(key, where);
      const ports = sw.ports;
      work.push(nb.watch(key, spec, signal).then(() => {
        if (this.#watchWhere.get(key) === where && nb.watchLoaded(key)) this.#complete.set(sw._uuid, ports);
      }));
    }
    for (const key of this.#watchWhere.keys()) {
      if (inView.has(key)) continue;
      this.#watchWhere.delete(key);
      this.#complete.delete(key.slice(WATCH_PREFIX.length) as Uuid);
      work.push(nb.unwatch(key, signal));
    }
    if (waiting) this.#schedule();
    await Promise.all(work);
  }

  /**
   * The ports on a switch in view that the switch key does not select: someone else's, asked for
   * by uuid. Undefined while a port listed on it is missing from the cache for less than
   * `graceMs` (ours, on its way) once the switch's watch has read its ports.
   */
  #foreignPorts(sw: SwitchRow, now: number, graceMs: number): readonly Uuid[] | undefined {
    const nb = this.#nb;
    if (nb === undefined) return [];
    const key = `${WATCH_PREFIX}${sw._uuid}`;
    const byKey = portsBySwitchKey(nb);
    const foreign: Uuid[] = [];
    let early = false;
    for (const uuid of sw.ports) {
      if (byKey.has(sw._uuid, uuid)) continue;
      if (nb.cache.row(NbTable.Logical_Switch_Port, uuid) !== undefined) {
        foreign.push(uuid);
        continue;
      }
      // Not read yet: the watch's read brings it.
      if (!nb.watchLoaded(key)) continue;
      const since = this.#unknownSince.get(uuid) ?? now;
      this.#unknownSince.set(uuid, since);
      if (now - since >= graceMs) foreign.push(uuid);
      else early = true;
    }
    for (const uuid of this.#unknownSince.keys()) {
      if (nb.cache.row(NbTable.Logical_Switch_Port, uuid) !== undefined || !switchesByPort(nb).has(uuid)) this.#unknownSince.delete(uuid);
    }
    return early ? undefined : foreign.sort();
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

  /** This node's ports: from the cache's node index, and those the first connection found. */
  #nodePorts(): Uuid[] {
    if (this.#nb === undefined) return [];
    return [...new Set([...portsByNode(this.#nb).get(this.#node), ...this.#found])];
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

/** The clause of the rows ovn-multinet made for a switch (its ports, its DHCP options). */
function switchKey(uuid: Uuid): Condition {
  return condition('external_ids', 'includes', new Map([[ScopeKeys.switch, uuid]]));
}
