// What the client monitors and how it asks for it (RFC 7047 section 4.1.5,
// ovsdb-server(7) monitor_cond_since, monitor_cond and monitor_cond_change). The methods take
// the same request shape here; only the conditional ones take conditions, and
// monitor_cond_since also the id of the last transaction the client has seen.

import { OvsdbProtocolError } from '../errors.ts';
import { isJsonObject } from './json.ts';
import type { JsonObject } from './json.ts';
import { getColumn, getTable } from './schema.ts';
import type { DatabaseSchema } from './schema.ts';
import type { Condition } from './ops.ts';
import { encodeConditions } from './transact.ts';

/** Table -> columns to keep in the cache; an empty list means every column (no list: not monitored). */
export type MonitorSpec = Readonly<Record<string, readonly string[] | undefined>>;

/** A spec checked against a schema, with empty lists expanded. */
export type MonitorPlan = ReadonlyMap<string, readonly string[]>;

/** "update" answers `monitor` (old/new rows); "update2" answers `monitor_cond` (initial/insert/delete/modify). */
export type UpdateForm = 'update' | 'update2';

export function planMonitor(schema: DatabaseSchema, spec: MonitorSpec): MonitorPlan {
  const plan = new Map<string, readonly string[]>();
  for (const [tableName, columns] of Object.entries(spec)) {
    if (columns === undefined) continue;
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

/** monitor_cond_since's id for "from the start": every row comes as initial. */
export const NO_TRANSACTION = '00000000-0000-0000-0000-000000000000';

/**
 * The table-updates of an update, update2 or update3 notification for monitor `id` (update3 with
 * the id of the transaction it brings), or `undefined` if it is for another monitor.
 */
export function notificationUpdates(method: string, params: unknown, id: string): { updates: JsonObject; txnId?: string } | undefined {
  const length = method === 'update3' ? 3 : 2;
  if (!Array.isArray(params) || params.length !== length) throw new OvsdbProtocolError(`invalid ${method} notification`);
  const updates: unknown = params[length - 1];
  if (params[0] !== id) return undefined;
  if (!isJsonObject(updates)) throw new OvsdbProtocolError('invalid table-updates');
  if (length === 2) return { updates };
  const txnId: unknown = params[1];
  if (typeof txnId !== 'string') throw new OvsdbProtocolError('invalid update3 transaction id');
  return { updates, txnId };
}

/** monitor_cond_since's reply: whether the server could answer from `txnId` on, its last id, the updates. */
export function sinceReply(reply: unknown): { found: boolean; txnId: string; updates: unknown } {
  if (!Array.isArray(reply) || reply.length !== 3) throw new OvsdbProtocolError('invalid monitor_cond_since reply');
  const fields: readonly unknown[] = reply;
  const [found, txnId, updates] = fields;
  if (typeof found !== 'boolean' || typeof txnId !== 'string') throw new OvsdbProtocolError('invalid monitor_cond_since reply');
  return { found, txnId, updates };
}
