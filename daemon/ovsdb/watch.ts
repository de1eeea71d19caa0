// Watches: rows of one table followed by a monitor of their own that starts with no initial
// contents, filled by one read of the rows by uuid. ovsdb-server (3.1 here) pays a scan of the
// whole table for a monitor's initial contents, whatever its condition, and again for every
// monitor_cond_change; a monitor made with `initial: false` costs it nothing of the table, and a
// `select` by `_uuid ==` is a look-up. So a client of a large table keeps its selection in watches:
// a watch's selection never changes in place; a new one replaces it (new monitor, then the old one
// cancelled, then the rows new to it read), at a cost that grows with the rows it selects, not
// with the table.
//
// Order is what makes it right: ovsdb-server sends the updates of every commit it has made before
// it reads the next request, so a read's reply reflects every commit whose update came before it,
// and an update after it is of a later commit. The replies are acted on as they are read
// (jsonrpc.ts `replied`), before the messages that follow them.

import { OvsdbProtocolError } from '../errors.ts';
import type { TableCache } from './cache.ts';
import { isJsonObject } from './json.ts';
import type { JsonObject } from './json.ts';
import type { JsonRpcConnection } from './jsonrpc.ts';
import type { MonitorPlan } from './monitor.ts';
import { isUuid } from './notation.ts';
import type { Uuid } from './notation.ts';
import type { Condition } from './ops.ts';
import { getTable } from './schema.ts';
import type { DatabaseSchema } from './schema.ts';
import { encodeConditions } from './transact.ts';

export interface WatchSpec {
  readonly table: string;
  /** The rows the watch's monitor follows (clauses ORed, as monitor_cond's `where`). */
  readonly where: readonly Condition[];
  /**
   * Every row the watch holds, as they are when the watch is made (each row `where` selects must
   * be among them: what is read). Asked again at every session: rows added while the client was
   * away are read then.
   */
  readonly uuids: () => readonly Uuid[];
}

/** What a watch needs of a session. */
export interface WatchSession {
  readonly conn: JsonRpcConnection;
  readonly database: string;
  readonly schema: DatabaseSchema;
  readonly plan: MonitorPlan;
}

/** Monitor ids of watches start with this; the client's own monitors never do. */
export const WATCH_MONITOR_PREFIX = 'watch-';

interface Established {
  readonly monitor: string;
  /** The `where` it was made with (JSON text), to make a new monitor only when it changes. */
  readonly where: string;
  /** Whether its rows are read: it holds every row of its spec. */
  loaded: boolean;
}

interface MonitorRoute {
  readonly key: string;
  /** Updates are applied from when the watch's previous monitor is cancelled (before: ignored). */
  applying: boolean;
}

export class Watches<Tables> {
  readonly #cache: TableCache<Tables>;
  readonly #wanted = new Map<string, WatchSpec>();
  /** The watches made on the current session, by key. */
  readonly #established = new Map<string, Established>();
  readonly #routes = new Map<string, MonitorRoute>();
  /** Which watch holds each row (a row is held by one watch: the first that brought it). */
  readonly #holder = new Map<Uuid, string>();
  #session: WatchSession | undefined;
  #nextMonitor = 1;
  /** Watch changes run one after the other. */
  #queue: Promise<void> = Promise.resolve();

  constructor(cache: TableCache<Tables>) {
    this.#cache = cache;
  }

  /** Makes or replaces the watch `key`; resolves once its rows are in the cache (at once without a session). */
  set(key: string, spec: WatchSpec, signal: AbortSignal): Promise<void> {
    this.#wanted.set(key, spec);
    return this.#enqueue(() => this.#establish(key, signal));
  }

  /** Ends the watch `key`: its monitor is cancelled and the rows it held leave the cache. */
  delete(key: string, signal: AbortSignal): Promise<void> {
    const table = this.#wanted.get(key)?.table;
    this.#wanted.delete(key);
    return table === undefined ? Promise.resolve() : this.#enqueue(() => this.#end(key, table, signal));
  }

  has(key: string): boolean {
    return this.#wanted.has(key);
  }

  /** Whether the watch `key` holds every row of its spec on the current session. */
  loaded(key: string): boolean {
    return this.#established.get(key)?.loaded === true;
  }

  /** The clauses of every watch's `where`. */
  get clauses(): number {
    let count = 0;
    for (const spec of this.#wanted.values()) count += spec.where.length;
    return count;
  }

  /** A new session: every watch is made on it, and its rows read again. */
  attach(session: WatchSession, signal: AbortSignal): Promise<void> {
    this.#session = session;
    return this.#enqueue(async () => {
      for (const key of [...this.#wanted.keys()]) await this.#establish(key, signal);
    });
  }

  /** The session is gone, with its monitors. */
  detach(): void {
    this.#session = undefined;
    this.#established.clear();
    this.#routes.clear();
  }

  /** Applies an update of monitor `id` (a watch's, see WATCH_MONITOR_PREFIX). */
  update(id: string, updates: JsonObject): void {
    const route = this.#routes.get(id);
    if (route === undefined || !route.applying) return;
    const applicable: Record<string, Record<string, unknown>> = {};
    for (const [table, rows] of Object.entries(updates)) {
      if (!isJsonObject(rows)) throw new OvsdbProtocolError(`invalid updates of ${table}`);
      const kept: Record<string, unknown> = {};
      for (const [uuid, update] of Object.entries(rows)) {
        if (!isUuid(uuid) || !isJsonObject(update)) throw new OvsdbProtocolError(`invalid update of ${table}`);
        const holder = this.#holder.get(uuid);
        if (holder !== undefined && holder !== route.key) continue;
        if ('insert' in update || 'initial' in update) this.#holder.set(uuid, route.key);
        else if (holder === undefined) continue; // a row not read yet: the read brings it whole
        else if ('delete' in update) this.#holder.delete(uuid);
        kept[uuid] = update;
      }
      applicable[table] = kept;
    }
    this.#cache.update('update2', applicable);
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #establish(key: string, signal: AbortSignal): Promise<void> {
    const session = this.#session;
    const spec = this.#wanted.get(key);
    if (session === undefined || spec === undefined) return;
    const { conn, database, schema, plan } = session;
    const columns = plan.get(spec.table);
    if (columns === undefined) throw new OvsdbProtocolError(`table ${spec.table} is not monitored`);
    const encoded = spec.where.length === 0 ? [false] : encodeConditions(getTable(schema, spec.table), spec.where);
    const where = JSON.stringify(encoded);
    const previous = this.#established.get(key);
    const uuids = spec.uuids();
    const unread = uuids.filter((uuid) => previous?.loaded !== true || this.#holder.get(uuid) !== key);
    if (previous?.where === where && unread.length === 0) return this.#letGo(key, spec.table, uuids);
    let monitor = previous?.monitor;
    if (previous?.where !== where) {
      const id = `${WATCH_MONITOR_PREFIX}${this.#nextMonitor++}`;
      // Until the previous monitor is cancelled, it is the one whose updates apply.
      this.#routes.set(id, { key, applying: previous === undefined });
      const select = { initial: false, insert: true, delete: true, modify: true };
      await conn.request('monitor_cond', [database, id, { [spec.table]: [{ columns, where: encoded, select }] }], signal);
      if (previous !== undefined) {
        await conn.request('monitor_cancel', [previous.monitor], signal, undefined, () => {
          this.#routes.delete(previous.monitor);
          const route = this.#routes.get(id);
          if (route !== undefined) route.applying = true;
        });
      }
      monitor = id;
    }
    if (monitor === undefined) return;
    const established: Established = { monitor, where, loaded: previous?.loaded === true };
    this.#established.set(key, established);
    // A fresh session reads every row again: commits may have changed them while it was away.
    const toRead = previous === undefined ? uuids : unread;
    if (toRead.length > 0) {
      const ops = toRead.map((uuid) => ({ op: 'select', table: spec.table, where: [['_uuid', '==', ['uuid', uuid]]], columns }));
      await conn.request('transact', [database, ...ops], signal, undefined, (result) => this.#loadRead(key, spec.table, toRead, result));
    }
    established.loaded = true;
    this.#letGo(key, spec.table, uuids);
  }

  /** The rows of a read, in the order asked; those not found are gone. */
  #loadRead(key: string, table: string, uuids: readonly Uuid[], result: unknown): void {
    if (!Array.isArray(result) || result.length < uuids.length) throw new OvsdbProtocolError(`invalid reply to a read of ${table}`);
    const found = new Map<Uuid, unknown>();
    const gone: Uuid[] = [];
    uuids.forEach((uuid, i) => {
      const reply: unknown = result[i];
      const rows = isJsonObject(reply) ? reply['rows'] : undefined;
      if (!Array.isArray(rows)) throw new OvsdbProtocolError(`invalid reply to a read of ${table}`);
      const holder = this.#holder.get(uuid);
      if (holder !== undefined && holder !== key) return;
      if (rows.length === 0) {
        if (holder === key) gone.push(uuid);
        this.#holder.delete(uuid);
        return;
      }
      this.#holder.set(uuid, key);
      found.set(uuid, rows[0]);
    });
    this.#cache.load(table, found, gone);
  }

  /** Rows the watch holds that are no longer among its spec's: they left its selection. */
  #letGo(key: string, table: string, uuids: readonly Uuid[]): void {
    const kept = new Set(uuids);
    const gone: Uuid[] = [];
    for (const [uuid, holder] of this.#holder) {
      if (holder === key && !kept.has(uuid)) gone.push(uuid);
    }
    for (const uuid of gone) this.#holder.delete(uuid);
    if (gone.length > 0) this.#cache.load(table, new Map(), gone);
  }

  async #end(key: string, table: string, signal: AbortSignal): Promise<void> {
    if (this.#wanted.has(key)) return; // set again since
    const established = this.#established.get(key);
    this.#established.delete(key);
    const gone: Uuid[] = [];
    for (const [uuid, holder] of this.#holder) if (holder === key) gone.push(uuid);
    for (const uuid of gone) this.#holder.delete(uuid);
    if (gone.length > 0) this.#cache.load(table, new Map(), gone);
    if (established === undefined) return;
    this.#routes.delete(established.monitor);
    // A session that dropped meanwhile took the monitor with it.
    await this.#session?.conn.request('monitor_cancel', [established.monitor], signal).catch(() => undefined);
  }
}
