/**
 * Leader-only work: a list of loops that run while this replica holds the Lease and stop the
 * moment it does not. Each loop is a LeaderLoop; `leaderLoops` is the list. To add a loop, write
 * a class implementing LeaderLoop (a pass-per-event loop extends ReconcileLoop from trigger.ts,
 * as sync.ts does) and add one line to `leaderLoops` below. Loops are restarted on every new
 * leadership term: anything a loop starts in start() it must be able to start again after stop().
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import type { NbFlags } from '../lib/flags.ts';
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { SwitchIds } from '../ovn/exposed.ts';
import type { ControllerCaches } from './caches.ts';
import type { SwitchState } from './plan.ts';
import { NetworkSync } from './sync.ts';
import { SwitchExposer } from './expose.ts';
import { ClaimReleaser, nbReservations } from './claims.ts';
import { DeadNodeReleaser, nbNodeAttachments } from './dead-nodes.ts';

export interface LeaderLoop {
  readonly name: string;
  /** Begins the loop; `signal` aborts when leadership is lost or the controller stops. */
  start(signal: AbortSignal): void;
  /** Ends it; resolves once none of its writes is in flight. Restartable by start(). */
  stop(): Promise<void>;
}

/** The NB as the loops see it (the OvsdbClient in main.ts; fakes in tests). */
export interface NbView {
  /** Whether the NB has been read at least once: before that, nothing can be said about switches. */
  readonly ready: boolean;
  switchState(name: string): SwitchState;
  /** Switches carrying the expose mark (ExposeKeys.expose). */
  marked(): SwitchIds[];
  onChange(listener: () => void): () => void;
}

/** What every loop may use. */
export interface LeaderContext {
  kubeConfig: KubeConfig;
  caches: ControllerCaches;
  nb: NbView;
  /** The NB client behind `nb`, for loops that write to the NB (monitor: CONTROLLER_NB_MONITOR). */
  nbClient: OvsdbClient;
  log: Logger;
  /** Full passes this often, besides the ones events trigger. */
  resyncMs: number;
  /** The NB flags, for loops that open a short-lived NB client of their own. */
  nbFlags: NbFlags;
  /** --dead-node-grace: how long a node with attachments has no Node object before they are released. */
  deadNodeGraceMs: number;
}

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
