// What the client monitors and how it asks for it (RFC 7047 section 4.1.5,
// ovsdb-server(7) monitor_cond and monitor_cond_change). Both methods take the same request
// shape here; only monitor_cond takes conditions.

import { OvsdbProtocolError } from './errors.ts';
import { isJsonObject } from './json.ts';
import type { JsonObject } from './json.ts';
import { getColumn, getTable } from './schema.ts';
import type { DatabaseSchema } from './schema.ts';
import type { Condition } from './ops.ts';
import { encodeConditions } from './transact.ts';

/** Table -> columns to keep in the cache; an empty list means every column. */
export type MonitorSpec = Readonly<Record<string, readonly string[]>>;

/** A spec checked against a schema, with empty lists expanded. */
export type MonitorPlan = ReadonlyMap<string, readonly string[]>;

/** "update" answers `monitor` (old/new rows); "update2" answers `monitor_cond` (initial/insert/delete/modify). */
export type UpdateForm = 'update' | 'update2';

export function planMonitor(schema: DatabaseSchema, spec: MonitorSpec): MonitorPlan {
  const plan = new Map<string, readonly string[]>();
  for (const [tableName, columns] of Object.entries(spec)) {
    const table = getTable(schema, tableName);
    for (const column of columns) getColumn(table, column);
    plan.set(tableName, columns.length > 0 ? columns : [...table.columns.keys()]);
  }
  return plan;
}

/**
 * Per table, the clauses that select the rows to monitor, ORed (monitor_cond's `where`): no
 * clause selects nothing. A table without an entry is monitored whole.
 */
export type MonitorConditions = ReadonlyMap<string, readonly Condition[]>;

/** Each conditioned table's `where` in its wire form (`[false]` for no clause). */
export function encodeMonitorConditions(schema: DatabaseSchema, conditions: MonitorConditions): Map<string, unknown[]> {
  const encoded = new Map<string, unknown[]>();
  for (const [table, clauses] of conditions) {
    encoded.set(table, clauses.length === 0 ? [false] : encodeConditions(getTable(schema, table), clauses));
  }
  return encoded;
}

export function monitorParams(database: string, id: string, plan: MonitorPlan, where: ReadonlyMap<string, unknown[]> = new Map()): unknown[] {
  const requests: Record<string, unknown> = {};
  for (const [table, columns] of plan) {
    const clauses = where.get(table);
    requests[table] = [clauses === undefined ? { columns } : { columns, where: clauses }];
  }
  return [database, id, requests];
}

/** monitor_cond_change of monitor `id`: the new `where` of each table in `where`. */
export function conditionChangeParams(id: string, where: ReadonlyMap<string, unknown[]>): unknown[] {
  const requests: Record<string, unknown> = {};
  for (const [table, clauses] of where) requests[table] = [{ where: clauses }];
  return [id, id, requests];
}

/** The table-updates of an update notification for monitor `id`, or `undefined` if it is for another monitor. */
export function notificationUpdates(params: unknown, id: string): JsonObject | undefined {
  if (!Array.isArray(params) || params.length !== 2) throw new OvsdbProtocolError('invalid update notification');
  const updates: unknown = params[1];
  if (params[0] !== id) return undefined;
  if (!isJsonObject(updates)) throw new OvsdbProtocolError('invalid table-updates');
  return updates;
}
