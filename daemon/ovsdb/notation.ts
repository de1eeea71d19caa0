// Schema-aware encoding and decoding of OVSDB values (RFC 7047 section 5.1).
//
// Decoded shapes, used by the cache and accepted by the encoders:
//   string, integer, real, boolean  -> JS string, number, number, boolean
//   uuid                            -> `Uuid`, a branded lowercase string (so `===`, `includes`
//                                      and Map keys work); `parseUuid` validates one
//   column with max 1               -> the atom, or `undefined` when empty (min 0)
//   set column (max > 1)            -> array of atoms
//   map column                      -> ReadonlyMap of atom to atom (a Map, or after a diff of a
//                                      large map a LayeredMap: test with `isMap`)
// Encoders also take `namedUuid(name)` wherever a uuid goes, to refer to a row
// inserted by the same transaction.

import { OvsdbProtocolError, OvsdbSchemaError } from '../errors.ts';
import { isJsonObject } from './json.ts';
import { getColumn } from './schema.ts';
import { LayeredMap } from './layered-map.ts';
import type { AtomicType, ColumnType, TableSchema } from './schema.ts';

declare const uuidBrand: unique symbol;
export type Uuid = string & { readonly [uuidBrand]: true };

export interface NamedUuid {
  readonly namedUuid: string;
}

export type Atom = string | number | boolean;
export type Value = Atom | undefined | readonly Atom[] | ReadonlyMap<Atom, Atom>;
export type AtomInput = Atom | NamedUuid;
export type ValueInput = AtomInput | undefined | readonly AtomInput[] | ReadonlyMap<AtomInput, AtomInput>;
export type Row = Readonly<Record<string, Value>>;
export type RowInput = Readonly<Record<string, ValueInput>>;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const namedUuidPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const zeroUuid = '00000000-0000-0000-0000-000000000000' as Uuid;

export function isUuid(value: unknown): value is Uuid {
  return typeof value === 'string' && uuidPattern.test(value);
}

export function parseUuid(text: string): Uuid {
  if (!uuidPattern.test(text)) throw new OvsdbSchemaError(`not a uuid: ${JSON.stringify(text)}`);
  return text.toLowerCase() as Uuid;
}

/** A reference to the row that an insert with `uuidName: name` creates in the same transaction. */
export function namedUuid(name: string): NamedUuid {
  if (!namedUuidPattern.test(name)) throw new OvsdbSchemaError(`not a valid uuid-name: ${JSON.stringify(name)}`);
  return { namedUuid: name };
}

export function encodeValue(type: ColumnType, value: ValueInput, label: string): unknown {
  if (type.value !== undefined) {
    if (!isMap(value)) throw new OvsdbSchemaError(`${label}: expected a Map`);
    const valueType = type.value;
    return ['map', [...value].map(([k, v]) => [encodeAtom(type.key, k, label), encodeAtom(valueType, v, label)])];
  }
  if (type.max > 1) {
    if (!isList(value)) throw new OvsdbSchemaError(`${label}: expected an array`);
    return ['set', value.map((atom) => encodeAtom(type.key, atom, label))];
  }
  if (value === undefined) {
    if (type.min === 0) return ['set', []];
    throw new OvsdbSchemaError(`${label}: a value is required`);
  }
  if (isList(value) || isMap(value)) throw new OvsdbSchemaError(`${label}: expected a single ${type.key}`);
  return encodeAtom(type.key, value, label);
}

export function decodeValue(type: ColumnType, json: unknown, label: string): Value {
  if (type.value !== undefined) {
    const pairs = tagged(json, 'map');
    if (pairs === undefined) throw new OvsdbProtocolError(`${label}: expected a map`);
    const valueType = type.value;
    return new Map(
      pairs.map((pair) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw new OvsdbProtocolError(`${label}: invalid map pair`);
        return [decodeAtom(type.key, pair[0], label), decodeAtom(valueType, pair[1], label)];
      }),
    );
  }
  const elements = tagged(json, 'set') ?? [json];
  if (type.max > 1) return elements.map((element) => decodeAtom(type.key, element, label));
  if (elements.length === 0 && type.min === 0) return undefined;
  if (elements.length !== 1) throw new OvsdbProtocolError(`${label}: expected one ${type.key}`);
  return decodeAtom(type.key, elements[0], label);
}

/** The value a column holds when a row does not mention it (update2 leaves out default values). */
export function defaultValue(type: ColumnType): Value {
  if (type.value !== undefined) return new Map();
  if (type.max > 1) return [];
  if (type.min === 0) return undefined;
  switch (type.key) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return zeroUuid;
    default:
      return type.key satisfies never;
  }
}

/** Up to this many toggles of a set are applied by searching it, with no Set of its members. */
const FEW_TOGGLES = 8;

/**
 * Applies an update2 "modify" diff: columns with max 1 take the new value; a set
 * toggles each listed element; a map adds new keys, drops a key listed with its
 * current value and replaces a key listed with another value.
 */
export function applyDiff(type: ColumnType, old: Value, diff: unknown, label: string): Value {
  const change = decodeValue(type, diff, label);
  if (type.max <= 1 && type.value === undefined) return change;
  if (isMap(change)) {
    const before: ReadonlyMap<Atom, Atom> = isMap(old) ? old : new Map();
    const set: Array<[Atom, Atom]> = [];
    const deleted: Atom[] = [];
    for (const [key, value] of change) {
      if (before.get(key) === value) deleted.push(key);
      else set.push([key, value]);
    }
    return LayeredMap.with(before, set, deleted);
  }
  const toggles = isList(change) ? change : [];
  const before = isList(old) ? old : [];
  // A few toggles of a large set (a port added to a switch of 20,000): the same result, with
  // no Set of every member. Sets from the server hold each member once.
  if (toggles.length <= FEW_TOGGLES && new Set(toggles).size === toggles.length) {
    const present = toggles.filter((atom) => before.includes(atom));
    const kept = present.length === 0 ? before : before.filter((atom) => !present.includes(atom));
    return [...kept, ...toggles.filter((atom) => !present.includes(atom))];
  }
  const result = new Set(before);
  for (const atom of toggles) {
    if (!result.delete(atom)) result.add(atom);
  }
  return [...result];
}

export function valuesEqual(a: Value, b: Value): boolean {
  if (isMap(a)) {
    if (!isMap(b) || a.size !== b.size) return false;
    for (const [key, value] of a) if (b.get(key) !== value || !b.has(key)) return false;
    return true;
  }
  if (isList(a)) return isList(b) && a.length === b.length && a.every((atom, i) => atom === b[i]);
  return a === b;
}

export function encodeRow(table: TableSchema, row: RowInput): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    json[column] = encodeValue(getColumn(table, column), value, `${table.name}.${column}`);
  }
  return json;
}

/** Decodes the columns a row mentions; it adds no defaults. */
export function decodeRow(table: TableSchema, json: unknown): Record<string, Value> {
  if (!isJsonObject(json)) throw new OvsdbProtocolError(`${table.name}: expected a row object`);
  const row: Record<string, Value> = {};
  for (const [column, value] of Object.entries(json)) {
    row[column] = decodeValue(getColumn(table, column), value, `${table.name}.${column}`);
  }
  return row;
}

export function encodeAtom(type: AtomicType, atom: AtomInput, label: string): unknown {
  if (typeof atom === 'object') {
    if (type === 'uuid') return ['named-uuid', atom.namedUuid];
  } else if (type === 'uuid') {
    if (isUuid(atom)) return ['uuid', atom.toLowerCase()];
  } else if (atomMatches(type, atom)) {
    // ovsdb-server drops the whole connection on JSON that holds either: refused here, so no
    // caller can cost the client its session.
    if (typeof atom === 'string' && (atom.includes('\0') || !atom.isWellFormed())) throw new OvsdbSchemaError(`${label}: a string with a NUL character or a lone UTF-16 surrogate`);
    return atom;
  }
  throw new OvsdbSchemaError(`${label}: expected ${type}, got ${JSON.stringify(atom)}`);
}

export function decodeUuid(json: unknown, label: string): Uuid {
  return decodeAtom('uuid', json, label) as Uuid;
}

function decodeAtom(type: AtomicType, json: unknown, label: string): Atom {
  if (type === 'uuid') {
    const text: unknown = Array.isArray(json) && json.length === 2 && json[0] === 'uuid' ? json[1] : undefined;
    if (isUuid(text)) return text.toLowerCase();
  } else if (atomMatches(type, json)) {
    return json;
  }
  throw new OvsdbProtocolError(`${label}: expected ${type}, got ${JSON.stringify(json)}`);
}

function atomMatches(type: Exclude<AtomicType, 'uuid'>, value: unknown): value is Atom {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'real':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return type satisfies never;
  }
}

/** The elements of `["set", [...]]` or `["map", [...]]`, or `undefined` when `json` is not that. */
function tagged(json: unknown, tag: 'set' | 'map'): readonly unknown[] | undefined {
  if (!Array.isArray(json) || json.length !== 2 || json[0] !== tag) return undefined;
  const elements: unknown = json[1];
  if (!isArray(elements)) throw new OvsdbProtocolError(`invalid ${tag}`);
  return elements;
}

/** `Array.isArray` that narrows to `unknown[]` rather than `any[]`. */
function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

/** A decoded map value: a Map, or a LayeredMap the cache made from a diff. */
export function isMap<K, V>(value: unknown): value is ReadonlyMap<K, V> {
  return value instanceof Map || value instanceof LayeredMap;
}

function isList<T>(value: T | readonly T[] | undefined | ReadonlyMap<T, T>): value is readonly T[] {
  return Array.isArray(value);
}
