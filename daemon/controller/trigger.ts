/**
 * Runs a reconcile function one pass at a time: soon after `schedule()` (calls in between
 * coalesce into one pass), every `resyncMs` regardless, and again when a pass asks for it (a
 * conflict, a failed write) after `retryMs`, doubling while passes keep failing, up to 30 s.
 * Restartable: start() after stop() runs it again.
 * ReconcileLoop (below) is a leader loop built on it.
 */
import type { Logger } from '../lib/log.ts';
import type { LeaderContext, LeaderLoop } from './context.ts';

/** 'retry': run again after a backoff (something was in flux or failed). */
export type PassResult = 'done' | 'retry';

export interface TriggerOptions {
  name: string;
  pass: (signal: AbortSignal) => Promise<PassResult>;
  resyncMs: number;
  /** Events within this window make one pass (default 20 ms). */
  debounceMs?: number;
  retryMs?: number;
  log: Logger;
}

const MAX_RETRY_MS = 30_000;

export class Trigger {
  readonly #options: TriggerOptions;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #due = 0;
  #running: Promise<void> | undefined;
  #again = false;
  #failures = 0;

  constructor(options: TriggerOptions) {
    this.#options = options;
  }

  get running(): boolean {
    return this.#abort !== undefined;
  }

  /** Passes get a signal that aborts on stop() or when `signal` does (leadership lost). */
  start(signal: AbortSignal): void {
    if (this.#abort !== undefined) return;
    const abort = new AbortController();
    this.#abort = abort;
    signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true, signal: abort.signal });
    this.#resync = setInterval(() => this.schedule(0), this.#options.resyncMs);
    this.schedule(0);
  }

  /** A pass soon (after `delayMs`, default the debounce); no-op when stopped. */
  schedule(delayMs = this.#options.debounceMs ?? 20): void {
    if (this.#abort === undefined) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    const due = Date.now() + delayMs;
    if (this.#timer !== undefined) {
      // An event does not wait for a pending retry's backoff.
      if (this.#due <= due) return;
      clearTimeout(this.#timer);
    }
    this.#due = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delayMs);
  }

  #run(): void {
    const abort = this.#abort;
    if (abort === undefined) return;
    const { log, name, pass, retryMs = 1000 } = this.#options;
    this.#running = (async () => {
      let result: PassResult;
      try {
        result = await pass(abort.signal);
      } catch (err) {
        if (!abort.signal.aborted) log.warn({ err, loop: name }, 'reconcile pass failed');
        result = 'retry';
      }
      this.#running = undefined;
      if (abort.signal.aborted) return;
      this.#failures = result === 'retry' ? this.#failures + 1 : 0;
      if (this.#again) {
        this.#again = false;
        this.schedule();
      } else if (result === 'retry') {
        this.schedule(Math.min(retryMs * 2 ** (this.#failures - 1), MAX_RETRY_MS));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#abort = undefined;
    clearTimeout(this.#timer);
    clearInterval(this.#resync);
    this.#timer = undefined;
    this.#again = false;
    this.#failures = 0;
    await this.#running;
  }
}

/**
 * A leader loop made of reconcile passes: run on every change of the controller's caches and of
 * the NB, every resync, and on retry. Subclasses give `name` and `pass`.
 */
export abstract class ReconcileLoop implements LeaderLoop {
  readonly name: string;
  protected readonly ctx: LeaderContext;
  protected readonly log: Logger;
  readonly #trigger: Trigger;
  #unsubscribe: Array<() => void> = [];

  constructor(ctx: LeaderContext, name: string) {
    this.name = name;
    this.ctx = ctx;
    this.log = ctx.log.child({ loop: name });
    this.#trigger = new Trigger({ name, pass: (signal) => this.pass(signal), resyncMs: ctx.resyncMs, log: this.log });
  }

  protected abstract pass(signal: AbortSignal): Promise<PassResult>;

  /** A pass soon, for a subclass that listens to more than the caches and the NbView. */
  protected schedule(): void {
    this.#trigger.schedule();
  }

  start(signal: AbortSignal): void {
    const schedule = (): void => this.#trigger.schedule();
    this.#unsubscribe = [this.ctx.caches.onChange(schedule), this.ctx.nb.onChange(schedule)];
    this.#trigger.start(signal);
  }

  async stop(): Promise<void> {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    await this.#trigger.stop();
  }
}
