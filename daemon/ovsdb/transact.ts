// Encodes a list of operations into `transact` params against the schema, and
// checks and decodes the reply (libovsdb ovsdb/error.go CheckOperationResults).

import { OvsdbProtocolError, OvsdbTransactionError } from '../errors.ts';
import { isJsonObject } from './json.ts';
import { decodeRow, decodeUuid, encodeRow, encodeValue, isMap, namedUuid } from './notation.ts';
import type { Row, Uuid } from './notation.ts';
import type { Condition, Mutation, Operation } from './ops.ts';
import { getColumn, getTable } from './schema.ts';
import type { ColumnType, DatabaseSchema, TableSchema } from './schema.ts';

export interface OperationResult {
  /** insert: the new row's uuid. */
  readonly uuid?: Uuid;
  /** select: the matching rows, with the columns asked for. */
  readonly rows?: readonly Row[];
  /** update, mutate, delete: how many rows matched. */
  readonly count?: number;
}

/** The params of a `transact` request: the database name, then the encoded operations. */
export function encodeTransaction(schema: DatabaseSchema, ops: readonly Operation[]): unknown[] {
  return [schema.name, ...ops.map((op) => encodeOperation(schema, op))];
}

/**
 * Throws `OvsdbTransactionError` for the first failed operation, or for the extra
 * trailing result that reports a failed commit; throws `OvsdbProtocolError` for a
 * reply that is not an array or holds fewer results than operations and no error.
 */
export function decodeTransactionReply(
  schema: DatabaseSchema,
  ops: readonly Operation[],
  reply: unknown,
): OperationResult[] {
  if (!Array.isArray(reply)) throw new OvsdbProtocolError('transact: the reply is not an array');
  reply.forEach((result: unknown, index) => {
    if (!isJsonObject(result) || result['error'] === undefined || result['error'] === null) return;
    const { error, details } = result;
    throw new OvsdbTransactionError(
      index < ops.length ? index : undefined,
      ops[index]?.op,
      typeof error === 'string' ? error : JSON.stringify(error),
      typeof details === 'string' ? details : undefined,
    );
  });
  if (reply.length < ops.length) {
    throw new OvsdbProtocolError(`transact: ${reply.length} results for ${ops.length} operations`);
  }
  return ops.map((op, index) => decodeResult(schema, op, reply[index], index));
}

function encodeOperation(schema: DatabaseSchema, op: Operation): Record<string, unknown> {
  if (op.op === 'comment') return { op: 'comment', comment: op.comment };
  const table = getTable(schema, op.table);
  switch (op.op) {
    case 'insert':
      return {
        op: 'insert',
        table: op.table,
        row: encodeRow(table, op.row),
        ...(op.uuidName === undefined ? {} : { 'uuid-name': namedUuid(op.uuidName).namedUuid }),
        ...(op.uuid === undefined ? {} : { uuid: op.uuid }),
      };
    case 'select':
      return {
        op: 'select',
        table: op.table,
        where: encodeConditions(table, op.where),
        ...(op.columns === undefined ? {} : { columns: checkColumns(table, op.columns) }),
      };
    case 'update':
      return { op: 'update', table: op.table, where: encodeConditions(table, op.where), row: encodeRow(table, op.row) };
    case 'mutate':
      return {
        op: 'mutate',
        table: op.table,
        where: encodeConditions(table, op.where),
        mutations: op.mutations.map((m) => encodeMutation(table, m)),
      };
    case 'delete':
      return { op: 'delete', table: op.table, where: encodeConditions(table, op.where) };
    case 'wait':
      return {
        op: 'wait',
        table: op.table,
        where: encodeConditions(table, op.where),
        columns: checkColumns(table, op.columns),
        until: op.until,
        rows: op.rows.map((row) => encodeRow(table, row)),
        ...(op.timeout === undefined ? {} : { timeout: op.timeout }),
      };
    default:
      return op satisfies never;
  }
}

/** Conditions in their wire form (also the clauses of a monitor_cond `where`). */
export function encodeConditions(table: TableSchema, where: readonly Condition[]): unknown[] {
  return where.map(([column, fn, value]) => [
    column,
    fn,
    encodeValue(getColumn(table, column), value, `${table.name}.${column}`),
  ]);
}

// Arithmetic mutators take one atom; insert/delete take a set of keys, or a map
// (and delete on a map also takes a set of keys).
function encodeMutation(table: TableSchema, [column, mutator, value]: Mutation): unknown[] {
  const type = getColumn(table, column);
  const label = `${table.name}.${column}`;
  let operandType: ColumnType;
  switch (mutator) {
    case '+=':
    case '-=':
    case '*=':
    case '/=':
    case '%=':
      operandType = { key: type.key, min: 1, max: 1 };
      break;
    case 'insert':
    case 'delete':
      operandType = type.value !== undefined && isMap(value) ? type : { key: type.key, min: 0, max: Infinity };
      break;
    default:
      return mutator satisfies never;
  }
  return [column, mutator, encodeValue(operandType, value, label)];
}

function checkColumns(table: TableSchema, columns: readonly string[]): readonly string[] {
  for (const column of columns) getColumn(table, column);
  return columns;
}

function decodeResult(schema: DatabaseSchema, op: Operation, result: unknown, index: number): OperationResult {
  const label = `transact: result ${index} (${op.op})`;
  if (!isJsonObject(result)) throw new OvsdbProtocolError(`${label} is not an object`);
  switch (op.op) {
    case 'insert':
      return { uuid: decodeUuid(result['uuid'], label) };
    case 'select': {
      const rows = result['rows'];
      if (!Array.isArray(rows)) throw new OvsdbProtocolError(`${label} has no rows`);
      const table = getTable(schema, op.table);
      return { rows: rows.map((row: unknown) => decodeRow(table, row)) };
    }
    case 'update':
    case 'mutate':
    case 'delete': {
      const count = result['count'];
      if (!Number.isSafeInteger(count)) throw new OvsdbProtocolError(`${label} has no count`);
      return { count: count as number };
    }
    case 'wait':
    case 'comment':
      return {};
    default:
      return op satisfies never;
  }
}
