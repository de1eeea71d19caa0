// The client-side replica of the monitored tables (libovsdb cache/cache.go): filled
// from monitor replies and update notifications, read by everyone, and emitting a
// `change` event per row that was added (old undefined), updated or deleted (new undefined).
// Secondary indexes (index.ts) registered on it are current whenever a `change` is emitted.
// Rows are decoded once, as each update arrives (notation.ts); a cache of a typed client hands
// them out as the rows of its model (model.ts), the same objects under their generated types.

import { EventEmitter } from 'node:events';
import { OvsdbConfigError, OvsdbProtocolError } from '../errors.ts';
import { MaintainedIndex } from './index.ts';
import type { CacheIndex, KeysOf } from './index.ts';
import type { TableOf, UntypedTables } from './model.ts';
import { isJsonObject } from './json.ts';
import type { MonitorPlan, UpdateForm } from './monitor.ts';
import { applyDiff, decodeRow, defaultValue, isUuid, valuesEqual } from './notation.ts';
import type { Row, Uuid, Value } from './notation.ts';
import { getColumn, getTable } from './schema.ts';
import type { DatabaseSchema, TableSchema } from './schema.ts';

/** A change of a row of one table; `table` tells which (and so the type of the rows). */
export type RowChange<Tables = UntypedTables> = {
  readonly [T in TableOf<Tables>]: {
    readonly table: T;
    readonly uuid: Uuid;
    /** The row before the change; `undefined` for an added row. */
    readonly old: Tables[T] | undefined;
    /** The row after the change; `undefined` for a deleted row. */
    readonly new: Tables[T] | undefined;
  };
}[TableOf<Tables>];

/** A change as the cache makes it, before it is handed out typed. */
interface DecodedChange {
  readonly table: string;
  readonly uuid: Uuid;
  readonly old: Row | undefined;
  readonly new: Row | undefined;
}

type DecodedTables = Map<string, Map<Uuid, Row>>;

const noRows: ReadonlyMap<Uuid, Row> = new Map();

/**
 * Rows carry every monitored column plus `_uuid`. `Tables` gives each table's row type (model.ts
 * `Monitored`); without it, rows are untyped.
 */
export class TableCache<Tables = UntypedTables> extends EventEmitter<{ change: [RowChange<Tables>] }> {
  #tables: DecodedTables = new Map();
  #schema: DatabaseSchema | undefined;
  #plan: MonitorPlan = new Map();
  /** table -> index name -> index */
  readonly #indexes = new Map<string, Map<string, MaintainedIndex>>();

  constructor() {
    super();
    // Every request waiting for a row (e.g. ovn-installed) listens for 'change': many at once is normal.
    this.setMaxListeners(0);
  }

  table<T extends TableOf<Tables>>(name: T): ReadonlyMap<Uuid, Tables[T]> {
    return typed<ReadonlyMap<Uuid, Tables[T]>>(this.#decoded(name));
  }

  row<T extends TableOf<Tables>>(table: T, uuid: Uuid): Tables[T] | undefined {
    return typed<Tables[T] | undefined>(this.#tables.get(table)?.get(uuid));
  }

  #decoded(name: string): ReadonlyMap<Uuid, Row> {
    return this.#tables.get(name) ?? noRows;
  }

  /**
   * The index `name` of `table`, made (from the rows there now) on first use and kept current
   * from then on. Asking again with the same `keysOf` gives the same index; another `keysOf`
   * under the same name is a bug.
   */
  index<T extends TableOf<Tables>>(table: T, name: string, keysOf: KeysOf<Tables[T]>): CacheIndex<Tables[T]> {
    let indexes = this.#indexes.get(table);
    if (indexes === undefined) {
      indexes = new Map();
      this.#indexes.set(table, indexes);
    }
    const existing = indexes.get(name);
    if (existing !== undefined) {
      if (existing.keysOf !== keysOf) throw new OvsdbConfigError(`index ${name} of table ${table} is already registered with other keys`);
      return typed<CacheIndex<Tables[T]>>(existing);
    }
    const index = new MaintainedIndex(table, name, typed<KeysOf<Row>>(keysOf), (uuids) => this.#rowsOf(table, uuids));
    index.rebuild(this.#decoded(table));
    indexes.set(name, index);
    return typed<CacheIndex<Tables[T]>>(index);
  }

  /** The rows of `uuids` that `table` holds, in the order a scan of the table meets them. */
  rowsOf<T extends TableOf<Tables>>(table: T, uuids: ReadonlySet<Uuid>): Array<Tables[T]> {
    return typed<Array<Tables[T]>>(this.#rowsOf(table, uuids));
  }

  #rowsOf(table: string, uuids: ReadonlySet<Uuid>): Row[] {
    const rows = this.#decoded(table);
    if (uuids.size <= 1) {
      const [uuid] = uuids;
      const row = uuid === undefined ? undefined : rows.get(uuid);
      return row === undefined ? [] : [row];
    }
    const found: Row[] = [];
    for (const [uuid, row] of rows) if (uuids.has(uuid)) found.push(row);
    return found;
  }

  /** Resolves with the first row of `table` that satisfies `predicate`, now or after a later change. */
  async waitForRow<T extends TableOf<Tables>>(table: T, predicate: (row: Tables[T]) => boolean, signal: AbortSignal): Promise<Tables[T]> {
    signal.throwIfAborted();
    const matches = typed<(row: Row) => boolean>(predicate);
    for (const row of this.#decoded(table).values()) if (matches(row)) return typed<Tables[T]>(row);
    const change = await this.#nextChange((c) => c.table === table && c.new !== undefined && matches(c.new), signal);
    return typed<Tables[T]>(change.new);
  }

  /**
   * Resolves once row `uuid` of `table` satisfies `predicate` (with the row) or is gone (with
   * undefined), now or after a later change. A look-up by uuid, never a scan of the table.
   */
  async waitForRowChange<T extends TableOf<Tables>>(table: T, uuid: Uuid, predicate: (row: Tables[T]) => boolean, signal: AbortSignal): Promise<Tables[T] | undefined> {
    signal.throwIfAborted();
    const matches = typed<(row: Row) => boolean>(predicate);
    const now = this.#tables.get(table)?.get(uuid);
    if (now === undefined || matches(now)) return typed<Tables[T] | undefined>(now);
    const change = await this.#nextChange((c) => c.table === table && c.uuid === uuid && (c.new === undefined || matches(c.new)), signal);
    return typed<Tables[T] | undefined>(change.new);
  }

  /** The first later change that `matches`; rejects with the signal's reason on abort. */
  async #nextChange(matches: (change: DecodedChange) => boolean, signal: AbortSignal): Promise<DecodedChange> {
    const found = Promise.withResolvers<DecodedChange>();
    const onChange = (change: RowChange<Tables>): void => {
      const decoded = typed<DecodedChange>(change);
      if (matches(decoded)) found.resolve(decoded);
    };
    const onAbort = (): void => found.reject(signal.reason);
    this.on('change', onChange);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await found.promise;
    } finally {
      this.off('change', onChange);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Replaces the content of the `initial` tables (by default every table of `plan`; the others
   * keep their rows) with the initial contents of a monitor reply, then emits deletes for rows
   * that are gone and adds/updates for rows that are new or differ.
   */
  resync(schema: DatabaseSchema, plan: MonitorPlan, form: UpdateForm, initial: unknown, tables: Iterable<string> = plan.keys()): void {
    this.#schema = schema;
    this.#plan = plan;
    const replaced = new Set(tables);
    const fresh: DecodedTables = new Map([...replaced].map((table) => [table, new Map<Uuid, Row>()]));
    this.#apply(fresh, form, initial);
    const changes: DecodedChange[] = [];
    for (const [table, rows] of this.#tables) {
      if (!replaced.has(table)) continue;
      for (const [uuid, old] of rows) {
        if (!fresh.get(table)?.has(uuid)) changes.push({ table, uuid, old, new: undefined });
      }
    }
    for (const [table, rows] of fresh) {
      for (const [uuid, row] of rows) {
        const old = this.#tables.get(table)?.get(uuid);
        if (old === undefined || !rowsEqual(old, row)) changes.push({ table, uuid, old, new: row });
      }
    }
    for (const table of plan.keys()) if (!replaced.has(table)) fresh.set(table, this.#tables.get(table) ?? new Map<Uuid, Row>());
    this.#tables = fresh;
    for (const [table, indexes] of this.#indexes) for (const index of indexes.values()) index.rebuild(this.#decoded(table));
    this.#emitAll(changes);
  }

  /**
   * Rows of `table` read whole (a `select`'s rows, by uuid), which replace what the cache holds of
   * them, and rows known to be gone: the changes are emitted as for an update.
   */
  load(table: string, rows: ReadonlyMap<Uuid, unknown>, gone: Iterable<Uuid>): void {
    const schema = this.#schema;
    const held = this.#tables.get(table);
    if (schema === undefined || held === undefined) throw new OvsdbProtocolError(`rows of ${table} came before the monitor reply`);
    const tableSchema = getTable(schema, table);
    const changes: DecodedChange[] = [];
    for (const [uuid, json] of rows) {
      const old = held.get(uuid);
      const row = { ...this.#defaults(tableSchema, uuid), ...decodeRow(tableSchema, json) };
      held.set(uuid, row);
      if (old === undefined || !rowsEqual(old, row)) changes.push({ table, uuid, old, new: row });
    }
    for (const uuid of gone) {
      const old = held.get(uuid);
      if (old === undefined) continue;
      held.delete(uuid);
      changes.push({ table, uuid, old, new: undefined });
    }
    this.#indexAll(changes);
    this.#emitAll(changes);
  }

  /** Applies the table-updates of an update notification. */
  update(form: UpdateForm, updates: unknown): void {
    const changes: DecodedChange[] = [];
    try {
      this.#apply(this.#tables, form, updates, changes);
    } finally {
      // Rows applied before an invalid one stay applied: the indexes follow them all the same.
      this.#indexAll(changes);
    }
    this.#emitAll(changes);
  }

  #indexAll(changes: readonly DecodedChange[]): void {
    for (const change of changes) {
      for (const index of this.#indexes.get(change.table)?.values() ?? []) index.apply(change.uuid, change.old, change.new);
    }
  }

  #emitAll(changes: readonly DecodedChange[]): void {
    for (const change of changes) this.emit('change', typed<RowChange<Tables>>(change));
  }

  /** Applies the updates to `tables`, recording each row's change in `changes` as it goes. */
  #apply(tables: DecodedTables, form: UpdateForm, updates: unknown, changes: DecodedChange[] = []): void {
    const schema = this.#schema;
    if (schema === undefined) throw new OvsdbProtocolError('an update came before the monitor reply');
    if (!isJsonObject(updates)) throw new OvsdbProtocolError('table-updates is not an object');
    for (const [tableName, rowUpdates] of Object.entries(updates)) {
      const rows = tables.get(tableName);
      if (rows === undefined || !isJsonObject(rowUpdates)) {
        throw new OvsdbProtocolError(`unexpected updates for table ${tableName}`);
      }
      const table = getTable(schema, tableName);
      for (const [uuid, rowUpdate] of Object.entries(rowUpdates)) {
        if (!isUuid(uuid) || !isJsonObject(rowUpdate)) throw new OvsdbProtocolError(`invalid update of ${tableName}`);
        const old = rows.get(uuid);
        const row = form === 'update' ? this.#update(table, uuid, old, rowUpdate) : this.#update2(table, uuid, old, rowUpdate);
        if (row === undefined) rows.delete(uuid);
        else rows.set(uuid, row);
        if (old !== undefined || row !== undefined) changes.push({ table: tableName, uuid, old, new: row });
      }
    }
  }

  // <row-update>: "new" absent for a delete; "new" holds the monitored columns otherwise.
  #update(table: TableSchema, uuid: Uuid, old: Row | undefined, update: Record<string, unknown>): Row | undefined {
    const next = update['new'];
    if (next === undefined || next === null) return undefined;
    return { ...(old ?? this.#defaults(table, uuid)), ...decodeRow(table, next) };
  }

  // <row-update2>: "initial"/"insert" omit columns at their default, "modify" holds diffs.
  #update2(table: TableSchema, uuid: Uuid, old: Row | undefined, update: Record<string, unknown>): Row | undefined {
    const inserted = update['initial'] ?? update['insert'];
    if (inserted !== undefined) return { ...this.#defaults(table, uuid), ...decodeRow(table, inserted) };
    if ('delete' in update) return undefined;
    const diff = update['modify'];
    if (old === undefined || !isJsonObject(diff)) throw new OvsdbProtocolError(`invalid update2 of ${table.name} ${uuid}`);
    const row: Record<string, Value> = { ...old };
    for (const [column, change] of Object.entries(diff)) {
      row[column] = applyDiff(getColumn(table, column), old[column], change, `${table.name}.${column}`);
    }
    return row;
  }

  #defaults(table: TableSchema, uuid: Uuid): Record<string, Value> {
    const row: Record<string, Value> = { _uuid: uuid };
    for (const column of this.#plan.get(table.name) ?? []) row[column] = defaultValue(getColumn(table, column));
    return row;
  }
}

/**
 * A decoded row, or what holds decoded rows, as the typed rows of the cache's model: the decoded
 * shapes are those the generated types spell out, and a client with a model has checked at
 * connect that the server's columns are of the model's types (model.ts). The one place the cache
 * vouches for a type.
 */
function typed<T>(decoded: unknown): T {
  return decoded as T;
}

function rowsEqual(a: Row, b: Row): boolean {
  const columns = Object.keys(a);
  return columns.length === Object.keys(b).length && columns.every((column) => valuesEqual(a[column], b[column]));
}
