/**
 * The value the cache gives a large map column after an update2 diff: the previous value, shared,
 * with the changed pairs on top. Cache values are never changed in place (readers keep the one
 * they read), so without layers every diff would copy the whole map: a switch's external_ids
 * holds a guard key per address in use, and copying 40,000 pairs takes about 14 ms here, on
 * every port added to a switch of 20,000. With layers a diff of k pairs costs O(k) plus, now and
 * then, one flattening copy: the changes on top are kept below about the square root of the base
 * (amortized, a few hundred pairs copied per diff instead of the whole map).
 */
const DELETED: unique symbol = Symbol('deleted');

/** Maps smaller than this are simply copied. */
const LAYER_FROM = 256;

export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  readonly #changes: ReadonlyMap<K, V | typeof DELETED>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, changes: ReadonlyMap<K, V | typeof DELETED>) {
    this.#base = base;
    this.#changes = changes;
    let size = base.size;
    for (const [key, value] of changes) {
      const inBase = base.has(key);
      if (value === DELETED && inBase) size--;
      else if (value !== DELETED && !inBase) size++;
    }
    this.size = size;
  }

  /**
   * `old` with `set` pairs set and `deleted` keys removed: a new value; `old` is left as it was.
   * Small maps and layers grown too large come out as a flat Map.
   */
  static with<K, V>(old: ReadonlyMap<K, V>, set: Iterable<readonly [K, V]>, deleted: Iterable<K>): ReadonlyMap<K, V> {
    const base = old instanceof LayeredMap ? (old as LayeredMap<K, V>).#base : old;
    const changes = new Map<K, V | typeof DELETED>(old instanceof LayeredMap ? (old as LayeredMap<K, V>).#changes : []);
    for (const [key, value] of set) changes.set(key, value);
    for (const key of deleted) changes.set(key, DELETED);
    if (base.size < LAYER_FROM || changes.size * changes.size > base.size) {
      const flat = new Map(base);
      for (const [key, value] of changes) {
        if (value === DELETED) flat.delete(key);
        else flat.set(key, value);
      }
      return flat;
    }
    return new LayeredMap(base, changes);
  }

  get(key: K): V | undefined {
    const changed = this.#changes.get(key);
    if (changed === DELETED) return undefined;
    return changed !== undefined || this.#changes.has(key) ? changed : this.#base.get(key);
  }

  has(key: K): boolean {
    const changed = this.#changes.get(key);
    if (changed !== undefined || this.#changes.has(key)) return changed !== DELETED;
    return this.#base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [key, value] of this.#base) if (!this.#changes.has(key)) yield [key, value];
    for (const [key, value] of this.#changes) if (value !== DELETED) yield [key, value];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}
