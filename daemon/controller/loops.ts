/**
 * Leader-only work: a list of loops that run while this replica holds the Lease and stop the
 * moment it does not. Each loop is a LeaderLoop (context.ts); `leaderLoops` is the list. To add a loop, write
 * a class implementing LeaderLoop (a pass-per-event loop extends ReconcileLoop from trigger.ts,
 * as sync.ts does) and add one line to `leaderLoops` below. Loops are restarted on every new
 * leadership term: anything a loop starts in start() it must be able to start again after stop().
 */
import type { Logger } from '../lib/log.ts';
import type { LeaderContext, LeaderLoop } from './context.ts';
import { NetworkSync } from './sync.ts';
import { SwitchExposer } from './expose.ts';
import { ClaimReleaser, nbReservations } from './claims.ts';
import { DeadNodeReleaser, nbNodeAttachments } from './dead-nodes.ts';

/** The leader-only loops, in start order. One line per loop. */
export function leaderLoops(ctx: LeaderContext): LeaderLoop[] {
  return [
    new NetworkSync(ctx),
    new SwitchExposer(ctx),
    new ClaimReleaser(ctx, nbReservations(ctx.nbClient)),
    new DeadNodeReleaser(ctx, nbNodeAttachments(ctx.nbClient, ctx.nbFlags, ctx.log), ctx.deadNodeGraceMs),
  ];
}

/** Starts every loop on leadership, stops them all on its loss (a loop that throws is logged, the others go on). */
export class LoopRunner {
  readonly #loops: readonly LeaderLoop[];
  readonly #log: Logger;
  #abort: AbortController | undefined;

  constructor(loops: readonly LeaderLoop[], log: Logger) {
    this.#loops = loops;
    this.#log = log;
  }

  get running(): boolean {
    return this.#abort !== undefined;
  }

  start(): void {
    if (this.#abort !== undefined) return;
    this.#abort = new AbortController();
    for (const loop of this.#loops) {
      try {
        loop.start(this.#abort.signal);
        this.#log.info({ loop: loop.name }, 'leader loop started');
      } catch (err) {
        this.#log.error({ err, loop: loop.name }, 'leader loop did not start');
      }
    }
  }

  async stop(): Promise<void> {
    if (this.#abort === undefined) return;
    this.#abort.abort();
    this.#abort = undefined;
    await Promise.all(
      this.#loops.map(async (loop) => {
        try {
          await loop.stop();
          this.#log.info({ loop: loop.name }, 'leader loop stopped');
        } catch (err) {
          this.#log.error({ err, loop: loop.name }, 'leader loop did not stop cleanly');
        }
      }),
    );
  }
}
