/**
 * "One commit" for the many-nodes bench: serial transactions by the bench's writer, each inserting
 * one logical switch port (and adding it to its switch's `ports`), timed from send to reply. The
 * NB answers a transaction once it has committed it and queued the updates of every monitor it
 * concerns, so with many monitors open this is what each node's condition costs every commit.
 */
import type { OvsdbClient } from '../daemon/ovsdb/client.ts';
import type { Uuid } from '../daemon/ovsdb/notation.ts';
import { insertPorts, unrelatedPort } from './nb-fill.ts';
import { summarize } from './stats.ts';

/** Port numbers the commits use, far above any unrelated port's, so names never collide. */
const COMMIT_BASE = 10_000_000;
let used = 0;

/** `count` one-port commits on the switch; their p50, ms. */
export async function commitP50(writer: OvsdbClient, switchUuid: Uuid, count: number): Promise<number> {
  const base = COMMIT_BASE + used;
  used += count;
  const { chunkMs } = await insertPorts(writer, [switchUuid], count, (i) => unrelatedPort(i, 1, base), { chunk: 1 });
  return summarize(chunkMs).p50;
}
