/**
 * How late the event loop runs (perf_hooks' event loop delay histogram): logged once per interval
 * in which requests were served, then reset, so a burst's p99 shows in the logs.
 */
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import type { Logger } from './log.ts';

const NS_PER_MS = 1e6;
/** The sampling timer's period; each sample is that period plus the delay, which is what is logged. */
const RESOLUTION_MS = 10;

export class LoopDelayReport {
  readonly #histogram: ELDHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  readonly #log: Logger;
  #requests = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  start(intervalMs: number): void {
    this.#histogram.enable();
    this.#timer = setInterval(() => this.#report(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#report();
    this.#histogram.disable();
  }

  /** One more request served in this interval. */
  served(): void {
    this.#requests++;
  }

  #report(): void {
    if (this.#requests === 0) {
      this.#histogram.reset();
      return;
    }
    const ms = (ns: number): number => Math.max(0, Math.round((ns / NS_PER_MS - RESOLUTION_MS) * 10) / 10);
    const h = this.#histogram;
    this.#log.info({ requests: this.#requests, p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) }, 'event loop delay');
    this.#requests = 0;
    h.reset();
  }
}
