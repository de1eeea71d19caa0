// Typed rows (libovsdb model/model.go): the row interfaces in models/ are generated from the
// checked-in schemas (scripts/gen-models.ts). A row the cache holds is the decoded row of
// notation.ts, whose shapes the generated types spell out column by column: string, integer and
// real, boolean, `Uuid`, `T | undefined` for an optional atom, a readonly array for a set, a
// ReadonlyMap for a map. A client made with a model checks, at every connect, that the server's
// columns are of the model's types, so that rows decoded against the server's schema are rows of
// the model.

import type { MonitorPlan } from './monitor.ts';
import type { Row } from './notation.ts';
import type { ColumnType, DatabaseSchema } from './schema.ts';
import type { OperationResult } from './transact.ts';

/** The table names of a model's tables. */
export type TableOf<Tables> = keyof Tables & string;

/** The columns of a row type, `_uuid` aside. */
export type ColumnOf<R> = Exclude<keyof R, '_uuid'> & string;

/** The columns of a row type whose value is a string or uuid, a set of them, or an optional one. */
export type StringColumnOf<R> = { [C in ColumnOf<R>]: R[C] extends string | undefined | readonly string[] ? C : never }[ColumnOf<R>];

/** A generated model: the database, and per table the type of each column (what parseSchema gives). */
export interface DatabaseModel<Tables> {
  readonly name: string;
  readonly version: string;
  readonly tables: { readonly [T in keyof Tables]: { readonly [C in ColumnOf<Tables[T]>]: ColumnType } };
}

/** The rows of a client without a model: every table, every column, as decoded. */
export type UntypedTables = Readonly<Record<string, Row>>;

/** What a typed client monitors: per table, the columns (an empty list: every column). */
export type MonitorSpecOf<Tables> = { readonly [T in keyof Tables]?: readonly ColumnOf<Tables[T]>[] };

/**
 * The rows a client monitoring `Spec` holds: of a monitored table, `_uuid` and the columns
 * monitored (every column for an empty list); a table not monitored holds no rows.
 */
export type Monitored<Tables, Spec> = {
  readonly [T in keyof Tables]: T extends keyof Spec
    ? Spec[T] extends readonly []
      ? Tables[T]
      : Spec[T] extends readonly (infer C)[]
        ? Pick<Tables[T], Extract<'_uuid' | C, keyof Tables[T]>>
        : never
    : Tables[T];
};

/**
 * The rows of a `select` result as rows of table `R` of the model, with the `C` columns the
 * select asked for: decoded against the server's schema, as the cache's rows are.
 */
export function selectedRows<R, C extends keyof R>(result: OperationResult | undefined): ReadonlyArray<Pick<R, C>> {
  const rows: readonly unknown[] = result?.rows ?? [];
  return rows as ReadonlyArray<Pick<R, C>>;
}

/** Any generated model, as the client checks a server against it. */
export interface AnyModel {
  readonly name: string;
  readonly tables: { readonly [table: string]: { readonly [column: string]: ColumnType } };
}

/**
 * Where `schema` (a server's) differs from `model` for the columns `plan` monitors, or for every
 * column of the model without a plan: a missing table or column, or another type. Empty when
 * compatible (a server may have more tables and columns than the model).
 */
export function modelMismatches(schema: DatabaseSchema, model: AnyModel, plan?: MonitorPlan): string[] {
  if (schema.name !== model.name) return [`the server's database is ${schema.name}, the model's ${model.name}`];
  const found: string[] = [];
  for (const [tableName, columns] of Object.entries(model.tables)) {
    const monitored = plan?.get(tableName);
    if (plan !== undefined && monitored === undefined) continue;
    const table = schema.tables.get(tableName);
    if (table === undefined) {
      found.push(`table ${tableName} is missing`);
      continue;
    }
    for (const [columnName, type] of Object.entries(columns)) {
      if (monitored !== undefined && !monitored.includes(columnName)) continue;
      const theirs = table.columns.get(columnName);
      if (theirs === undefined) found.push(`column ${tableName}.${columnName} is missing`);
      else if (!sameType(type, theirs)) found.push(`column ${tableName}.${columnName} is ${describe(theirs)}, the model's is ${describe(type)}`);
    }
  }
  return found;
}

/** Whether values of the two types decode to the same shape (notation.ts): bounds of sets and maps aside. */
function sameType(a: ColumnType, b: ColumnType): boolean {
  if (a.key !== b.key || a.value !== b.value) return false;
  if (a.value !== undefined) return true;
  return a.max > 1 ? b.max > 1 : b.max === 1 && a.min === b.min;
}

function describe(type: ColumnType): string {
  const atoms = type.value === undefined ? type.key : `${type.key}->${type.value}`;
  return `${atoms} [${type.min}, ${type.max}]`;
}
