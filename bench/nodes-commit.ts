/**
 * "One commit" for the many-nodes bench: serial transactions by the bench's writer, each inserting
 * one logical switch port (and adding it to its switch's `ports`), timed from send to reply: a port
 * of someone else (`foreign`, as another cluster's controller makes them), or one as another
 * node's daemon commits it (`ovn-multinet`: the owner and switch keys, its guard keys on the
 * switch), the usual commit on a switch the nodes serve. The
 * NB answers a transaction once it has committed it and queued the updates of every monitor it
 * concerns, so with many monitors open this is what each node's condition costs every commit.
 */
import type { OvsdbClient } from '../daemon/ovsdb/client.ts';
import type { Uuid } from '../daemon/ovsdb/notation.ts';
import { insertPorts, oursPort, unrelatedPort } from './nb-fill.ts';
import { summarize } from './stats.ts';

/** Port numbers the commits use, far above any unrelated port's, so names never collide. */
const COMMIT_BASE = 10_000_000;
let used = 0;

/** Addresses of the ovn-multinet-shaped ports (the NB does not check them against anything). */
const COMMIT_SUBNET = '10.96.0.0/12';

export type CommitShape = 'foreign' | 'ovn-multinet';

/** `count` one-port commits on the switch; their p50, ms. */
export async function commitP50(writer: OvsdbClient, switchUuid: Uuid, count: number, shape: CommitShape = 'foreign'): Promise<number> {
  const base = COMMIT_BASE + used;
  used += count;
  const make = shape === 'foreign' ? (i: number) => unrelatedPort(i, 1, base) : (i: number) => oursPort(base - COMMIT_BASE + i, COMMIT_SUBNET, switchUuid, 'bench-commits');
  const { chunkMs } = await insertPorts(writer, [switchUuid], count, make, { chunk: 1 });
  return summarize(chunkMs).p50;
}
