// The operation builders of ops.ts with the table names, columns and rows checked against a
// model's row types by the compiler (libovsdb builds operations from model structs): a column
// that a table does not have, or a row with one, does not compile. The operations are the same
// plain objects.

import { del, insert, mutate, select, update, wait } from './ops.ts';
import type { Condition, Mutation, Operation } from './ops.ts';
import type { ColumnOf, TableOf } from './model.ts';
import type { Uuid, ValueInput } from './notation.ts';

/** A column a condition or a column list may name: the row's columns and `_uuid`. */
type ColumnRef<R> = ColumnOf<R> | '_uuid';

/** Some columns of a row of type `R` (never `_uuid`), in the input shapes of notation.ts. */
type RowInputOf<R> = { readonly [C in ColumnOf<R>]?: ValueInput };

interface TypedOps<Tables> {
  insert<T extends TableOf<Tables>>(table: T, row: RowInputOf<Tables[T]>, uuidName?: string, uuid?: Uuid): Operation;
  select<T extends TableOf<Tables>>(table: T, where: ReadonlyArray<Condition<ColumnRef<Tables[T]>>>, columns?: ReadonlyArray<ColumnRef<Tables[T]>>): Operation;
  update<T extends TableOf<Tables>>(table: T, where: ReadonlyArray<Condition<ColumnRef<Tables[T]>>>, row: RowInputOf<Tables[T]>): Operation;
  mutate<T extends TableOf<Tables>>(table: T, where: ReadonlyArray<Condition<ColumnRef<Tables[T]>>>, mutations: ReadonlyArray<Mutation<ColumnOf<Tables[T]>>>): Operation;
  del<T extends TableOf<Tables>>(table: T, where: ReadonlyArray<Condition<ColumnRef<Tables[T]>>>): Operation;
  wait<T extends TableOf<Tables>>(
    table: T,
    where: ReadonlyArray<Condition<ColumnRef<Tables[T]>>>,
    columns: ReadonlyArray<ColumnRef<Tables[T]>>,
    until: '==' | '!=',
    rows: ReadonlyArray<RowInputOf<Tables[T]>>,
    timeout?: number,
  ): Operation;
}

/** The builders for the tables of a model (`Tables`: its generated row types). */
export function typedOps<Tables>(): TypedOps<Tables> {
  return { insert, select, update, mutate, del, wait };
}
