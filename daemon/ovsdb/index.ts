// Secondary indexes over one table of the cache (libovsdb cache/cache.go indexes): each row
// has zero or more string keys, and the index maps a key to the uuids of the rows that have it.
// The cache keeps them current (cache.ts `index()`): every insert, modify and delete updates
// them before its `change` event, and a resync rebuilds them.

import type { StringColumnOf } from './model.ts';
import type { Atom, Row, Uuid, Value } from './notation.ts';

/**
 * The keys of a row: none, one (a name) or many (the members of a set column). A key listed
 * twice counts once. Must depend on the row only, since it is asked again for the old row.
 */
export type KeysOf<R = Row> = (row: R) => readonly string[];

/** What readers see of an index over rows of type `R`. */
export interface CacheIndex<R = Row> {
  readonly table: string;
  readonly name: string;
  /** The uuids of the rows with `key`: a live view, read it before the cache changes again. */
  get(key: string): ReadonlySet<Uuid>;
  /** Whether any row (or the row `uuid`) has `key`. */
  has(key: string, uuid?: Uuid): boolean;
  /** How many rows have `key`. */
  count(key: string): number;
  /** The rows with `key`, in the order a scan of the table meets them. */
  rows(key: string): R[];
  /** How many distinct keys the index holds. */
  readonly size: number;
}

const noUuids: ReadonlySet<Uuid> = new Set();

/** Key lists this long or longer are diffed with a Set, not by searching the list. */
const SEARCH_LIMIT = 8;

/** An index as the cache maintains it; readers get it as a `CacheIndex`. */
export class MaintainedIndex implements CacheIndex {
  readonly table: string;
  readonly name: string;
  readonly keysOf: KeysOf;
  // One uuid stays unboxed (a unique key, the common case); a Set only once two rows share a key.
  readonly #entries = new Map<string, Uuid | Set<Uuid>>();
  readonly #ordered: (uuids: ReadonlySet<Uuid>) => Row[];

  /** `ordered` puts rows of the table in table order (TableCache.rowsOf). */
  constructor(table: string, name: string, keysOf: KeysOf, ordered: (uuids: ReadonlySet<Uuid>) => Row[]) {
    this.table = table;
    this.name = name;
    this.keysOf = keysOf;
    this.#ordered = ordered;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): ReadonlySet<Uuid> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return noUuids;
    return typeof entry === 'string' ? new Set([entry]) : entry;
  }

  has(key: string, uuid?: Uuid): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (uuid === undefined) return true;
    return typeof entry === 'string' ? entry === uuid : entry.has(uuid);
  }

  count(key: string): number {
    const entry = this.#entries.get(key);
    return entry === undefined ? 0 : typeof entry === 'string' ? 1 : entry.size;
  }

  rows(key: string): Row[] {
    return this.#ordered(this.get(key));
  }

  /** Empties the index and fills it from `rows` (a table's content after a resync, or at registration). */
  rebuild(rows: ReadonlyMap<Uuid, Row>): void {
    this.#entries.clear();
    for (const [uuid, row] of rows) for (const key of this.keysOf(row)) this.#add(key, uuid);
  }

  /** Follows one row from `old` to `row` (undefined: absent before / after). */
  apply(uuid: Uuid, old: Row | undefined, row: Row | undefined): void {
    const before = old === undefined ? [] : this.keysOf(old);
    const after = row === undefined ? [] : this.keysOf(row);
    // The same list: an unchanged set column (the cache copies untouched columns by reference).
    if (before === after) return;
    // Set columns change at the edges or in a few places: skip what both lists share in place.
    let start = 0;
    while (start < before.length && start < after.length && before[start] === after[start]) start++;
    let endBefore = before.length;
    let endAfter = after.length;
    while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
      endBefore--;
      endAfter--;
    }
    for (let i = start; i < endAfter; i++) this.#add(after[i]!, uuid);
    if (endBefore === start) return;
    // A key leaves only when the new list has it nowhere (a list may repeat a key).
    const count = endBefore - start;
    const kept: { has(key: string): boolean } = count < SEARCH_LIMIT ? { has: (key) => after.includes(key) } : new Set(after);
    for (let i = start; i < endBefore; i++) {
      const key = before[i]!;
      if (!kept.has(key)) this.#delete(key, uuid);
    }
  }

  #add(key: string, uuid: Uuid): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) this.#entries.set(key, uuid);
    else if (typeof entry !== 'string') entry.add(uuid);
    else if (entry !== uuid) this.#entries.set(key, new Set([entry, uuid]));
  }

  #delete(key: string, uuid: Uuid): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    if (typeof entry === 'string') {
      if (entry === uuid) this.#entries.delete(key);
      return;
    }
    entry.delete(uuid);
    if (entry.size > 1) return;
    const [only] = entry;
    if (only === undefined) this.#entries.delete(key);
    else this.#entries.set(key, only);
  }
}

const columnKeysOf = new Map<string, KeysOf<object>>();

/**
 * The keys of a string or uuid column: its value, or the members of a set (the row's own list,
 * not a copy). Other values give no key. The same column always gives the same function, so
 * registering its index twice finds the first.
 */
export function columnKeys<R extends object = Row>(column: R extends Row ? string : StringColumnOf<R>): KeysOf<R> {
  let keysOf = columnKeysOf.get(column);
  if (keysOf === undefined) {
    keysOf = (row) => stringKeys((row as Row)[column]);
    columnKeysOf.set(column, keysOf);
  }
  return keysOf;
}

function stringKeys(value: Value): readonly string[] {
  if (typeof value === 'string') return [value];
  if (!isAtomList(value)) return [];
  // The cache decodes a set by its column's one key type: the first member tells them all.
  return typeof value[0] === 'string' ? (value as readonly string[]) : [];
}

function isAtomList(value: Value): value is readonly Atom[] {
  return Array.isArray(value);
}
