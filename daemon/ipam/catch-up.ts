/**
 * After a guard failed (another writer changed the row first), a writer waits for its cache to
 * show that change before it reads and tries again; not for ever: the change may be one its view
 * does not show, so after CATCH_UP_MS it tries anyway.
 */
import type { TableOf } from '../ovsdb/model.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import type { NbClient, NbRows } from '../ovn/nb.ts';

const CATCH_UP_MS = 200;

/** Waits until row `uuid` of `table` is `changed` or gone, or CATCH_UP_MS passed. */
export async function catchUp<T extends TableOf<NbRows>>(nb: NbClient, table: T, uuid: Uuid, changed: (row: NbRows[T]) => boolean, signal: AbortSignal): Promise<void> {
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(CATCH_UP_MS)]);
  try {
    await nb.cache.waitForRowChange(table, uuid, changed, timeout);
  } catch {
    signal.throwIfAborted();
  }
}
