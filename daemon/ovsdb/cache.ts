// The client-side replica of the monitored tables (libovsdb cache/cache.go): filled
// from monitor replies and update notifications, read by everyone, and emitting a
// `change` event per row that was added (old undefined), updated or deleted (new undefined).

import { EventEmitter } from 'node:events';
import { OvsdbProtocolError } from './errors.ts';
import { isJsonObject } from './json.ts';
import type { MonitorPlan, UpdateForm } from './monitor.ts';
import { applyDiff, decodeRow, defaultValue, isUuid, valuesEqual } from './notation.ts';
import type { Row, Uuid, Value } from './notation.ts';
import { getColumn, getTable } from './schema.ts';
import type { DatabaseSchema, TableSchema } from './schema.ts';

export interface RowChange {
  readonly table: string;
  readonly uuid: Uuid;
  /** The row before the change; `undefined` for an added row. */
  readonly old: Row | undefined;
  /** The row after the change; `undefined` for a deleted row. */
  readonly new: Row | undefined;
}

type Tables = Map<string, Map<Uuid, Row>>;

const noRows: ReadonlyMap<Uuid, Row> = new Map();

/** Rows carry every monitored column plus `_uuid`. */
export class TableCache extends EventEmitter<{ change: [RowChange] }> {
  #tables: Tables = new Map();
  #schema: DatabaseSchema | undefined;
  #plan: MonitorPlan = new Map();

  constructor() {
    super();
    // Every request waiting for a row (e.g. ovn-installed) listens for 'change': many at once is normal.
    this.setMaxListeners(0);
  }

  table(name: string): ReadonlyMap<Uuid, Row> {
    return this.#tables.get(name) ?? noRows;
  }

  row(table: string, uuid: Uuid): Row | undefined {
    return this.#tables.get(table)?.get(uuid);
  }

  /** Resolves with the first row of `table` that satisfies `predicate`, now or after a later change. */
  async waitForRow(table: string, predicate: (row: Row) => boolean, signal: AbortSignal): Promise<Row> {
    signal.throwIfAborted();
    for (const row of this.table(table).values()) if (predicate(row)) return row;
    const found = Promise.withResolvers<Row>();
    const onChange = (change: RowChange): void => {
      if (change.table === table && change.new !== undefined && predicate(change.new)) found.resolve(change.new);
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
   * Replaces the content with the initial contents of a monitor reply, then emits
   * deletes for rows that are gone and adds/updates for rows that are new or differ.
   */
  resync(schema: DatabaseSchema, plan: MonitorPlan, form: UpdateForm, initial: unknown): void {
    this.#schema = schema;
    this.#plan = plan;
    const fresh: Tables = new Map([...plan.keys()].map((table) => [table, new Map<Uuid, Row>()]));
    this.#apply(fresh, form, initial);
    const changes: RowChange[] = [];
    for (const [table, rows] of this.#tables) {
      for (const [uuid, old] of rows) {
        if (!fresh.get(table)?.has(uuid)) changes.push({ table, uuid, old, new: undefined });
      }
    }
    for (const [table, rows] of fresh) {
      for (const [uuid, row] of rows) {
        const old = this.row(table, uuid);
        if (old === undefined || !rowsEqual(old, row)) changes.push({ table, uuid, old, new: row });
      }
    }
    this.#tables = fresh;
    for (const change of changes) this.emit('change', change);
  }

  /** Applies the table-updates of an update notification. */
  update(form: UpdateForm, updates: unknown): void {
    for (const change of this.#apply(this.#tables, form, updates)) this.emit('change', change);
  }

  #apply(tables: Tables, form: UpdateForm, updates: unknown): RowChange[] {
    const schema = this.#schema;
    if (schema === undefined) throw new OvsdbProtocolError('an update came before the monitor reply');
    if (!isJsonObject(updates)) throw new OvsdbProtocolError('table-updates is not an object');
    const changes: RowChange[] = [];
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
    return changes;
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

function rowsEqual(a: Row, b: Row): boolean {
  const columns = Object.keys(a);
  return columns.length === Object.keys(b).length && columns.every((column) => valuesEqual(a[column], b[column]));
}
