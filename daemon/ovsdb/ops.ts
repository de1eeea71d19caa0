// Operation builders (RFC 7047 section 5.2). They only build plain objects in the
// decoded shapes of notation.ts; transact.ts encodes them against the schema, so
// callers join the operations of one change into a single transact.

import type { RowInput, Uuid, ValueInput } from './notation.ts';

export type ConditionFunction = '==' | '!=' | 'includes' | 'excludes' | '<' | '<=' | '>' | '>=';
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';

/** `C`: the column, as its literal where the caller wrote one (typed-ops.ts checks it against a model). */
export type Condition<C extends string = string> = readonly [column: C, fn: ConditionFunction, value: ValueInput];
export type Mutation<C extends string = string> = readonly [column: C, mutator: Mutator, value: ValueInput];

export type Operation =
  | { readonly op: 'insert'; readonly table: string; readonly row: RowInput; readonly uuidName?: string; readonly uuid?: Uuid }
  | {
      readonly op: 'select';
      readonly table: string;
      readonly where: readonly Condition[];
      readonly columns?: readonly string[];
    }
  | { readonly op: 'update'; readonly table: string; readonly where: readonly Condition[]; readonly row: RowInput }
  | {
      readonly op: 'mutate';
      readonly table: string;
      readonly where: readonly Condition[];
      readonly mutations: readonly Mutation[];
    }
  | { readonly op: 'delete'; readonly table: string; readonly where: readonly Condition[] }
  | {
      readonly op: 'wait';
      readonly table: string;
      readonly where: readonly Condition[];
      readonly columns: readonly string[];
      readonly until: '==' | '!=';
      readonly rows: readonly RowInput[];
      /** Milliseconds; 0 fails at once when the condition does not hold. Omitted: wait forever. */
      readonly timeout?: number;
    }
  | { readonly op: 'comment'; readonly comment: string };

/**
 * Inserts a row; `uuidName` lets other operations of the transaction refer to it with `namedUuid`.
 * `uuid`: the row's uuid, chosen by the caller (the "uuid" member ovsdb-server accepts since OVS
 * 3.1; the insert fails when a row of that uuid exists).
 */
export function insert(table: string, row: RowInput, uuidName?: string, uuid?: Uuid): Operation {
  return { op: 'insert', table, row, ...(uuidName === undefined ? {} : { uuidName }), ...(uuid === undefined ? {} : { uuid }) };
}

export function select(table: string, where: readonly Condition[], columns?: readonly string[]): Operation {
  return columns === undefined ? { op: 'select', table, where } : { op: 'select', table, where, columns };
}

export function update(table: string, where: readonly Condition[], row: RowInput): Operation {
  return { op: 'update', table, where, row };
}

export function mutate(table: string, where: readonly Condition[], mutations: readonly Mutation[]): Operation {
  return { op: 'mutate', table, where, mutations };
}

/** The "delete" operation (`delete` is a reserved word). */
export function del(table: string, where: readonly Condition[]): Operation {
  return { op: 'delete', table, where };
}

/** Succeeds once the rows matching `where`, projected on `columns`, are (`==`) or are not (`!=`) exactly `rows`. */
export function wait(
  table: string,
  where: readonly Condition[],
  columns: readonly string[],
  until: '==' | '!=',
  rows: readonly RowInput[],
  timeout?: number,
): Operation {
  const op = { op: 'wait', table, where, columns, until, rows } as const;
  return timeout === undefined ? op : { ...op, timeout };
}

/** Adds a comment to the database log. */
export function comment(text: string): Operation {
  return { op: 'comment', comment: text };
}

export function condition<const C extends string>(column: C, fn: ConditionFunction, value: ValueInput): Condition<C> {
  return [column, fn, value];
}

export function eq<const C extends string>(column: C, value: ValueInput): Condition<C> {
  return [column, '==', value];
}

export function mutation<const C extends string>(column: C, mutator: Mutator, value: ValueInput): Mutation<C> {
  return [column, mutator, value];
}
