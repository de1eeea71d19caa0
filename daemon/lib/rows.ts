/** Typed reads of decoded OVSDB rows (the cache holds `Value`s; table layers want plain types). */
import { isMap, type Row, type Uuid, type Value } from '../ovsdb/notation.ts';

export function rowUuid(row: Row): Uuid {
  return row['_uuid'] as Uuid;
}

export function stringOf(row: Row, column: string): string | undefined {
  const v: Value = row[column];
  return typeof v === 'string' ? v : undefined;
}

export function numberOf(row: Row, column: string): number | undefined {
  const v: Value = row[column];
  return typeof v === 'number' ? v : undefined;
}

export function stringsOf(row: Row, column: string): string[] {
  const v: Value = row[column];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function uuidsOf(row: Row, column: string): Uuid[] {
  return stringsOf(row, column) as Uuid[];
}

const empty: ReadonlyMap<string, string> = new Map();

export function stringMapOf(row: Row, column: string): ReadonlyMap<string, string> {
  const v: Value = row[column];
  if (!isMap(v)) return empty;
  const out = new Map<string, string>();
  for (const [k, val] of v) if (typeof k === 'string' && typeof val === 'string') out.set(k, val);
  return out;
}
