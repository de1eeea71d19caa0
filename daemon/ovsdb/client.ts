// The connection lifecycle (libovsdb client/client.go). `start()` connects in the
// background and reconnects forever with jittered exponential back-off, moving to
// the next remote after each failure or drop. Each session: get_schema, with
// `leaderOnly` a monitor of _Server.Database that rejects (and later drops) a
// non-leader or a relay cut off from its source, then monitor_cond_since (monitor_cond, or monitor, on older servers) into the
// cache: after a reconnect, a server that keeps the transaction history (a raft cluster) sends
// only what changed since the last transaction the cache holds. With `conditions`
// only the rows they select are monitored, and `updateConditions()` moves the selection
// (monitor_cond_change). A table in `watched` is left out of that monitor: its rows come only
// through watches (watch.ts: monitors made without initial contents, filled by reads by uuid),
// which cost the server nothing of the rest of the table. Reads come from `cache`; writes are one `transact` of operations from
// ops.ts. A client made with a generated model (`modelClient`) holds typed rows, and refuses a
// server whose monitored columns are not of the model's types.

import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffMs, failuresAfterSession } from './backoff.ts';
import { TableCache } from './cache.ts';
import { OvsdbConfigError, OvsdbNotConnectedError, OvsdbNotLeaderError, OvsdbRpcError, OvsdbSchemaError } from '../errors.ts';
import { JsonRpcConnection } from './jsonrpc.ts';
import { conditionChangeParams, encodeMonitorConditions, monitorParams, NO_TRANSACTION, notificationUpdates, planMonitor, sinceReply } from './monitor.ts';
import type { MonitorConditions, MonitorPlan, MonitorSpec, UpdateForm } from './monitor.ts';
import { modelMismatches } from './model.ts';
import type { AnyModel, DatabaseModel, Monitored, MonitorSpecOf, TableOf, UntypedTables } from './model.ts';
import type { Operation } from './ops.ts';
import { WATCH_MONITOR_PREFIX, Watches } from './watch.ts';
import type { WatchSpec } from './watch.ts';
import { dial, parseRemote } from './remote.ts';
import type { Remote, TlsFiles } from './remote.ts';
import { parseSchema } from './schema.ts';
import type { DatabaseSchema } from './schema.ts';
import { decodeTransactionReply, encodeTransaction } from './transact.ts';
import type { OperationResult } from './transact.ts';

export interface OvsdbClientOptions {
  /** "unix:PATH", "tcp:HOST:PORT" or "ssl:HOST:PORT"; several for the members of a cluster. */
  readonly remotes: readonly string[];
  /** Required by ssl: remotes. */
  readonly tls?: TlsFiles;
  /** "Open_vSwitch", "OVN_Northbound", ... */
  readonly database: string;
  /** The generated model the rows are typed by: the server's monitored columns must be of its types. */
  readonly model?: AnyModel;
  /** Tables and columns kept in `cache`. */
  readonly monitor: MonitorSpec;
  /**
   * The rows to keep of each conditioned table, read at every (re)connect and by
   * `updateConditions()`. Without it, or on a server without monitor_cond, every row.
   */
  readonly conditions?: () => MonitorConditions;
  /** Tables whose rows come only through `watch()`, never through the monitor of `conditions`. */
  readonly watched?: readonly string[];
  /**
   * Run on each new session before it is announced (`connected`): what must be in the cache
   * before anyone reads it. It may transact, move the conditions and watch. A failure ends the
   * session (the next one runs it again).
   */
  readonly prepare?: (signal: AbortSignal) => Promise<void>;
  /**
   * Talk only to the leader of a clustered database, or to a relay while it is connected to its
   * source; reconnect when leadership moves or the relay loses its source.
   */
  readonly leaderOnly?: boolean;
  /** Echo probe interval: echoes after an interval of silence, a peer silent for 12 intervals is dropped (jsonrpc.ts). 0 disables. Default 5000. */
  readonly echoIntervalMs?: number;
  /** Largest message accepted from the server. Default 256 MiB. */
  readonly maxMessageBytes?: number;
  /** Limit on connecting and loading the initial contents, per attempt. Default 30000. */
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface OvsdbClientEvents {
  connected: [remote: string];
  disconnected: [reason: Error | undefined];
  /** A session's monitor resumed from the cache's last transaction: only changes came. */
  resumed: [remote: string];
}

interface Session {
  readonly conn: JsonRpcConnection;
  readonly remote: Remote;
  readonly schema: DatabaseSchema;
  /** What the cache holds: the tables of `conditions` and the watched ones. */
  readonly plan: MonitorPlan;
  readonly form: UpdateForm;
  /** The `where` of each conditioned table as the server has it (JSON text), to send only changes. */
  readonly sentWhere: Map<string, string>;
}

/**
 * Where the cache stands, for monitor_cond_since: the last transaction it holds, and what it
 * monitored then (schema version and `where`). Resuming is only right for the same selection:
 * a changed one needs the rows that match it now, changed or not.
 */
interface ResumePoint {
  txnId: string;
  schemaVersion: string;
  where: string;
}

const DATABASE_MONITOR = 'db';
const SERVER_MONITOR = 'server';
const serverMonitor: MonitorSpec = { Database: ['name', 'model', 'leader', 'connected'] };

/** A client of `model`'s database that monitors `monitor`: its cache holds rows of the model. */
export function modelClient<Tables, const Spec extends MonitorSpecOf<Tables>>(
  model: DatabaseModel<Tables>,
  monitor: Spec,
  options: Omit<OvsdbClientOptions, 'database' | 'monitor' | 'model'>,
): OvsdbClient<Monitored<Tables, Spec>> {
  return new OvsdbClient<Monitored<Tables, Spec>>({ ...options, database: model.name, model, monitor });
}

/** `Tables`: each table's row type (model.ts), for a client made by `modelClient`. */
export class OvsdbClient<Tables = UntypedTables> extends EventEmitter<OvsdbClientEvents> {
  /** The monitored tables; its `change` events report every row added, updated or deleted. */
  readonly cache = new TableCache<Tables>();
  readonly #serverCache = new TableCache();
  readonly #remotes: readonly Remote[];
  readonly #options: OvsdbClientOptions;
  readonly #log: Logger | undefined;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #session: Session | undefined;
  /** The session is prepared (`prepare`) and announced. */
  #ready = false;
  /** The connection of a session being set up: dialed, its view not ready yet (monitor, prepare). */
  #settingUp: JsonRpcConnection | undefined;
  #resume: ResumePoint | undefined;
  /** updateConditions() calls run one after the other. */
  #conditionsSent: Promise<void> = Promise.resolve();
  readonly #watches = new Watches<Tables>(this.cache);

  constructor(options: OvsdbClientOptions) {
    super();
    // Every request waiting for a reconnect listens for 'connected': many at once is normal.
    this.setMaxListeners(0);
    if (options.remotes.length === 0) throw new OvsdbConfigError('no remotes');
    this.#remotes = options.remotes.map(parseRemote);
    if (options.tls === undefined && this.#remotes.some((remote) => remote.scheme === 'ssl')) {
      throw new OvsdbConfigError('ssl: remotes need the tls option');
    }
    if (options.database === '') throw new OvsdbConfigError('no database');
    this.#options = options;
    this.#log = options.logger?.child({ ovsdb: options.database });
  }

  get connected(): boolean {
    return this.#ready;
  }

  /** The remote of the current session. */
  get remote(): string | undefined {
    return this.#session?.remote.text;
  }

  /** Connects in the background, and reconnects until `close()`. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async waitConnected(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.connected) return;
    const ready = Promise.withResolvers<void>();
    const onConnected = (): void => ready.resolve();
    const onAbort = (): void => ready.reject(signal.reason);
    this.on('connected', onConnected);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await ready.promise;
    } finally {
      this.off('connected', onConnected);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Waits while a session is being set up on an open connection: a busy server answers late (one
   * silent up to the echo probe's cap is dropped, which ends the wait). True once connected; false
   * at once when no session is being set up, or when that one ends without a session.
   */
  async waitSettingUp(signal: AbortSignal): Promise<boolean> {
    signal.throwIfAborted();
    const conn = this.#settingUp;
    if (this.connected || conn === undefined) return this.connected;
    const done = Promise.withResolvers<void>();
    const onConnected = (): void => done.resolve();
    const onAbort = (): void => done.reject(signal.reason);
    this.on('connected', onConnected);
    signal.addEventListener('abort', onAbort, { once: true });
    void conn.closed.then(() => done.resolve());
    try {
      await done.promise;
    } finally {
      this.off('connected', onConnected);
      signal.removeEventListener('abort', onAbort);
    }
    return this.connected;
  }

  /**
   * Runs the operations as one transaction. Throws `OvsdbNotConnectedError` when there
   * is no session or it drops before the reply, `OvsdbSchemaError` for operations that
   * do not fit the schema, `OvsdbTransactionError` when an operation or the commit
   * fails, and `signal.reason` on abort. `sent` is called once the transaction has gone out:
   * from then on it may commit even if its answer never comes.
   */
  async transact(ops: readonly Operation[], signal: AbortSignal, sent?: () => void): Promise<OperationResult[]> {
    signal.throwIfAborted();
    const session = this.#session;
    if (session === undefined) throw new OvsdbNotConnectedError();
    const reply = await session.conn.request('transact', encodeTransaction(session.schema, ops), signal, sent);
    return decodeTransactionReply(session.schema, ops, reply);
  }

  /**
   * Sends the current `conditions` for the tables whose selection changed, and resolves once the
   * server has applied them: the rows that newly match are in the cache by then (the server sends
   * them before its reply), those that no longer match are gone. Without a session it resolves at
   * once (the next session starts with the current conditions).
   */
  updateConditions(signal: AbortSignal): Promise<void> {
    const next = this.#conditionsSent.then(() => this.#sendConditions(signal));
    this.#conditionsSent = next.catch(() => undefined);
    return next;
  }

  async #sendConditions(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const session = this.#session;
    const conditions = this.#options.conditions;
    if (session === undefined || conditions === undefined || session.form !== 'update2') return;
    const changed = new Map<string, unknown[]>();
    for (const [table, where] of this.#monitoredConditions(session.schema, conditions())) {
      const text = JSON.stringify(where);
      if (session.sentWhere.get(table) !== text) changed.set(table, where);
    }
    if (changed.size === 0) return;
    try {
      await session.conn.request('monitor_cond_change', conditionChangeParams(DATABASE_MONITOR, changed), signal);
    } catch (error) {
      // The session is gone: the next one starts with the current conditions.
      if (this.#session !== session) return;
      throw error;
    }
    for (const [table, where] of changed) session.sentWhere.set(table, JSON.stringify(where));
    if (this.#resume !== undefined) this.#resume.where = whereText(session.sentWhere);
  }

  /**
   * Makes or replaces the watch `key` (watch.ts) of a `watched` table; resolves once its rows are
   * in the cache. Without a session it resolves at once: every session makes the watches anew.
   */
  watch(key: string, spec: WatchSpec, signal: AbortSignal): Promise<void> {
    return this.#watches.set(key, spec, signal);
  }

  /** Ends the watch `key`: the rows it held leave the cache. */
  unwatch(key: string, signal: AbortSignal): Promise<void> {
    return this.#watches.delete(key, signal);
  }

  /** Whether the watch `key` holds every row of its spec on the current session. */
  watchLoaded(key: string): boolean {
    return this.#watches.loaded(key);
  }

  /** The clauses of every watch's `where`. */
  get watchClauses(): number {
    return this.#watches.clauses;
  }

  /** The first cached row of `table` that satisfies `predicate`, now or once a change brings one. */
  waitForRow<T extends TableOf<Tables>>(table: T, predicate: (row: Tables[T]) => boolean, signal: AbortSignal): Promise<Tables[T]> {
    return this.cache.waitForRow(table, predicate, signal);
  }

  /** Stops reconnecting and closes the session; pending transacts fail with `OvsdbNotConnectedError`. */
  async close(): Promise<void> {
    this.#stop.abort(new OvsdbNotConnectedError('client closed'));
    this.#session?.conn.close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    let failures = 0;
    for (let index = 0; !stop.aborted; index = (index + 1) % this.#remotes.length) {
      const remote = this.#remotes[index]!;
      let session: Session | undefined;
      try {
        const timeout = AbortSignal.timeout(this.#options.connectTimeoutMs ?? 30_000);
        session = await this.#connect(remote, AbortSignal.any([stop, timeout]));
      } catch (error) {
        failures++;
        if (!stop.aborted) this.#log?.warn({ err: error, remote: remote.text }, 'ovsdb connect failed');
      }
      if (session !== undefined) {
        this.#session = session;
        try {
          const timeout = AbortSignal.timeout(this.#options.connectTimeoutMs ?? 30_000);
          await this.#options.prepare?.(AbortSignal.any([stop, timeout]));
        } catch (error) {
          if (!stop.aborted) this.#log?.warn({ err: error, remote: remote.text }, 'ovsdb session not prepared');
          session.conn.close(error instanceof Error ? error : undefined);
          await session.conn.closed;
          this.#session = undefined;
          this.#watches.detach();
          session = undefined;
          failures++;
        }
      }
      this.#settingUp = undefined;
      if (session !== undefined) {
        const began = performance.now();
        this.#ready = true;
        this.#log?.info({ remote: remote.text }, 'ovsdb connected');
        this.emit('connected', remote.text);
        const reason = await session.conn.closed;
        this.#session = undefined;
        this.#ready = false;
        this.#watches.detach();
        this.#log?.info({ err: reason, remote: remote.text }, 'ovsdb disconnected');
        this.emit('disconnected', reason);
        failures = failuresAfterSession(failures, performance.now() - began);
      }
      // Back off per round of failures over all remotes, so a cluster's members are all tried soon.
      const rounds = Math.floor(failures / this.#remotes.length);
      await sleep(backoffMs(rounds), undefined, { signal: stop }).catch(() => undefined);
    }
  }

  async #connect(remote: Remote, signal: AbortSignal): Promise<Session> {
    const socket = await dial(remote, this.#options.tls, signal);
    // Updates wait until the monitor replies are in the caches, then apply in order.
    let queue: Array<[string, unknown]> | undefined = [];
    const conn = new JsonRpcConnection(socket, {
      maxMessageBytes: this.#options.maxMessageBytes ?? 256 * 1024 * 1024,
      echoIntervalMs: this.#options.echoIntervalMs ?? 5000,
      logger: this.#log?.child({ remote: remote.text }),
      onNotification: (method, params) => {
        if (queue === undefined) this.#onNotification(remote, method, params);
        else queue.push([method, params]);
      },
    });
    this.#settingUp = conn;
    try {
      const { database } = this.#options;
      const leaderOnly = this.#options.leaderOnly === true;
      const [schemaJson, serverSchemaJson] = await Promise.all([
        conn.request('get_schema', [database], signal),
        leaderOnly ? conn.request('get_schema', ['_Server'], signal) : undefined,
      ]);
      const schema = parseSchema(schemaJson);
      if (leaderOnly) {
        const serverSchema = parseSchema(serverSchemaJson);
        const plan = planMonitor(serverSchema, serverMonitor);
        const initial = await conn.request('monitor_cond', monitorParams('_Server', SERVER_MONITOR, plan), signal);
        this.#serverCache.resync(serverSchema, plan, 'update2', initial);
        this.#checkLeader(remote);
      }
      const plan = planMonitor(schema, this.#options.monitor);
      const { model } = this.#options;
      const mismatches = model === undefined ? [] : modelMismatches(schema, model, plan);
      if (mismatches.length > 0) throw new OvsdbSchemaError(`${remote.text} does not fit the model: ${mismatches.join('; ')}`);
      const watched = new Set(this.#options.watched);
      const monitored: MonitorPlan = new Map([...plan].filter(([table]) => !watched.has(table)));
      const where = this.#monitoredConditions(schema, this.#options.conditions?.() ?? new Map());
      const sentWhere = new Map([...where].map(([table, clauses]) => [table, JSON.stringify(clauses)] as const));
      const resume = this.#resume;
      const since = resume !== undefined && resume.schemaVersion === schema.version && resume.where === whereText(sentWhere) ? resume.txnId : NO_TRANSACTION;
      const reply = await monitor(conn, database, monitored, where, since, signal);
      if (reply.found) {
        this.cache.update('update2', reply.updates);
        this.emit('resumed', remote.text);
      }
      else this.cache.resync(schema, plan, reply.form, reply.updates, monitored.keys());
      this.#resume = reply.txnId === undefined ? undefined : { txnId: reply.txnId, schemaVersion: schema.version, where: whereText(sentWhere) };
      this.#log?.debug({ remote: remote.text, method: reply.method, resumed: reply.found }, 'ovsdb monitor started');
      for (const [method, params] of queue) this.#onNotification(remote, method, params);
      queue = undefined;
      // The watched rows, read again: the session is announced with a current cache.
      await this.#watches.attach({ conn, database, schema, plan }, signal);
      return { conn, remote, schema, plan, form: reply.form, sentWhere: reply.form === 'update2' ? sentWhere : new Map<string, string>() };
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  // Throws to the connection, which closes with that error as the reason.
  #onNotification(remote: Remote, method: string, params: unknown): void {
    if (method !== 'update' && method !== 'update2' && method !== 'update3') return;
    const form = method === 'update' ? 'update' : 'update2';
    const id: unknown = Array.isArray(params) ? params[0] : undefined;
    if (typeof id === 'string' && id.startsWith(WATCH_MONITOR_PREFIX)) {
      const watch = notificationUpdates(method, params, id);
      if (watch !== undefined) this.#watches.update(id, watch.updates);
      return;
    }
    const database = notificationUpdates(method, params, DATABASE_MONITOR);
    if (database !== undefined) {
      this.cache.update(form, database.updates);
      if (database.txnId !== undefined && this.#resume !== undefined) this.#resume.txnId = database.txnId;
      return;
    }
    const server = notificationUpdates(method, params, SERVER_MONITOR);
    if (server === undefined) return;
    this.#serverCache.update(form, server.updates);
    this.#checkLeader(remote);
  }

  /** The wire `where` of each conditioned table of the monitor (watched tables have their own). */
  #monitoredConditions(schema: DatabaseSchema, conditions: MonitorConditions): Map<string, unknown[]> {
    const watched = new Set(this.#options.watched);
    return new Map([...encodeMonitorConditions(schema, conditions)].filter(([table]) => !watched.has(table)));
  }

  #checkLeader(remote: Remote): void {
    const { database } = this.#options;
    const row = [...this.#serverCache.table('Database').values()].find((r) => r['name'] === database);
    if (row === undefined) throw new OvsdbNotLeaderError(`${remote.text} does not serve ${database} (yet)`);
    if (row['model'] === 'clustered' && !(row['leader'] === true && row['connected'] === true)) {
      throw new OvsdbNotLeaderError(`${remote.text} is not the leader of ${database}`);
    }
    // A relay (its row's leader is always false) forwards transactions to its source: it is
    // usable while connected to it; one that lost its source would hold them until it returns.
    if (row['model'] === 'relay' && row['connected'] !== true) {
      throw new OvsdbNotLeaderError(`${remote.text} is a relay of ${database} not connected to its source`);
    }
  }
}

interface MonitorReply {
  method: 'monitor_cond_since' | 'monitor_cond' | 'monitor';
  form: UpdateForm;
  /** The updates bring only what changed since the transaction asked for (else: every row, as initial). */
  found: boolean;
  /** monitor_cond_since's last transaction id. */
  txnId: string | undefined;
  updates: unknown;
}

/**
 * monitor_cond_since from transaction `since`, with the conditions; on older servers
 * monitor_cond, and monitor (of every row) on the oldest.
 */
async function monitor(conn: JsonRpcConnection, database: string, plan: MonitorPlan, where: ReadonlyMap<string, unknown[]>, since: string, signal: AbortSignal): Promise<MonitorReply> {
  const unknownMethod = (error: unknown): boolean => error instanceof OvsdbRpcError && error.error === 'unknown method';
  try {
    const reply = sinceReply(await conn.request('monitor_cond_since', [...monitorParams(database, DATABASE_MONITOR, plan, where), since], signal));
    return { method: 'monitor_cond_since', form: 'update2', found: reply.found && since !== NO_TRANSACTION, txnId: reply.txnId, updates: reply.updates };
  } catch (error) {
    if (!unknownMethod(error)) throw error;
  }
  try {
    return { method: 'monitor_cond', form: 'update2', found: false, txnId: undefined, updates: await conn.request('monitor_cond', monitorParams(database, DATABASE_MONITOR, plan, where), signal) };
  } catch (error) {
    if (!unknownMethod(error)) throw error;
    return { method: 'monitor', form: 'update', found: false, txnId: undefined, updates: await conn.request('monitor', monitorParams(database, DATABASE_MONITOR, plan), signal) };
  }
}

/** A session's `where` as one text, to compare selections. */
function whereText(sentWhere: ReadonlyMap<string, string>): string {
  return JSON.stringify([...sentWhere].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
