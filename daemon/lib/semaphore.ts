/**
 * At most `limit` holders at once; the others wait in arrival order. A waiter whose signal ends
 * leaves the queue with the signal's reason. How the daemon bounds its own work in a burst (200
 * pods at once after a reboot): ADDs queue instead of failing.
 */
export class Semaphore {
  readonly #limit: number;
  #held = 0;
  readonly #queue: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** Holders now, and waiters. */
  get load(): { held: number; waiting: number } {
    return { held: this.#held, waiting: this.#queue.length };
  }

  async run<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  async #acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.#held < this.#limit) {
      this.#held++;
      return;
    }
    const turn = Promise.withResolvers<void>();
    const admit = (): void => {
      signal.removeEventListener('abort', onAbort);
      turn.resolve();
    };
    const onAbort = (): void => {
      const at = this.#queue.indexOf(admit);
      if (at >= 0) this.#queue.splice(at, 1);
      turn.reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#queue.push(admit);
    await turn.promise;
  }

  #release(): void {
    const next = this.#queue.shift();
    // The slot passes straight to the next waiter: the count stays.
    if (next !== undefined) next();
    else this.#held--;
  }
}
