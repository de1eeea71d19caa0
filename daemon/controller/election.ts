/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: every
 * retryPeriod each candidate reads the Lease; it creates it when missing, takes it when it is
 * free (lease.ts), and the holder renews it. Writes are optimistic (create, or PUT with the
 * resourceVersion read): a 409 means another candidate wrote first and won. The leader steps
 * down at once when it finds another holder, and when it has not renewed for renewDeadline
 * (shorter than the lease, so it stops before anyone may take over). stop() steps down and
 * releases the Lease, so a successor takes over at its next try instead of after the lease.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { withSignal } from '../k8s/signal.ts';
import type { Logger } from '../lib/log.ts';
import { describe, statusCode } from './api.ts';
import { acquiredSpec, mayAcquire, releasedSpec, toLeaseRecord } from './lease.ts';
import { ElectionConfigError } from '../errors.ts';

export interface ElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The Lease's name. */
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading: () => void;
  /** Awaited before the Lease is released: leader-only work must be over by then. */
  onStoppedLeading: () => Promise<void>;
}

/** 'held': this candidate holds the Lease now; 'other': someone else validly does; 'failed': cannot tell. */
type Attempt = 'held' | 'other' | 'failed';

export class LeaderElector {
  readonly #options: ElectionOptions;
  readonly #api: CoordinationV1Api;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #leading = false;
  #lastRenew = 0;

  constructor(options: ElectionOptions) {
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = options;
    if (!(leaseDurationMs > renewDeadlineMs)) throw new ElectionConfigError('the lease duration must be longer than the renew deadline');
    if (!(renewDeadlineMs > retryPeriodMs)) throw new ElectionConfigError('the renew deadline must be longer than the retry period');
    if (leaseDurationMs < 1000) throw new ElectionConfigError('the lease duration must be at least 1 s (the Lease counts whole seconds)');
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#log = options.log.child({ component: 'leader-election', lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Steps down (awaiting onStoppedLeading) and releases the Lease if held. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    if (!this.#leading) return;
    await this.#stepDown('stopping');
    await this.#release();
  }

  async #run(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.#options;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const attempt = await this.#try(AbortSignal.any([stop, AbortSignal.timeout(renewDeadlineMs)]));
      if (stop.aborted) break;
      if (attempt === 'held') {
        this.#lastRenew = Date.now();
        if (!this.#leading) {
          this.#leading = true;
          this.#log.info('became the leader');
          this.#options.onStartedLeading();
        }
      } else if (this.#leading && (attempt === 'other' || Date.now() - this.#lastRenew >= renewDeadlineMs)) {
        await this.#stepDown(attempt === 'other' ? 'another candidate holds the lease' : `not renewed for ${renewDeadlineMs} ms`);
      }
      // Candidates spread out (client-go's jitter); the leader renews on time.
      const wait = this.#leading ? retryPeriodMs : retryPeriodMs * (1 + Math.random() * 0.2);
      await sleep(wait, undefined, { signal: stop }).catch(() => undefined);
    }
  }

  async #stepDown(why: string): Promise<void> {
    this.#leading = false;
    this.#log.warn({ why }, 'no longer the leader');
    await this.#options.onStoppedLeading();
  }

  async #read(signal: AbortSignal): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ name: this.#options.name, namespace: this.#options.namespace }, withSignal(signal));
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async #try(signal: AbortSignal): Promise<Attempt> {
    const { name, namespace, identity, leaseDurationMs } = this.#options;
    const seconds = Math.ceil(leaseDurationMs / 1000);
    try {
      const current = await this.#read(signal);
      const now = new Date();
      if (current === undefined) {
        const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: acquiredSpec(undefined, identity, seconds, now) };
        await this.#api.createNamespacedLease({ namespace, body }, withSignal(signal));
        return 'held';
      }
      const record = toLeaseRecord(current.spec);
      if (!mayAcquire(record, identity, now)) return 'other';
      if (record.holderIdentity !== identity) this.#log.info({ previous: record.holderIdentity ?? null }, 'the lease is free; acquiring it');
      const body: V1Lease = { ...current, spec: acquiredSpec(record, identity, seconds, now) };
      await this.#api.replaceNamespacedLease({ name, namespace, body }, withSignal(signal));
      return 'held';
    } catch (err) {
      if (statusCode(err) === 409) return 'other';
      if (!this.#stop.signal.aborted) this.#log.warn({ err: describe(err) }, 'cannot read or write the lease');
      return 'failed';
    }
  }

  async #release(): Promise<void> {
    const { name, namespace, identity, renewDeadlineMs } = this.#options;
    const signal = AbortSignal.timeout(renewDeadlineMs);
    try {
      const current = await this.#read(signal);
      if (current === undefined) return;
      const record = toLeaseRecord(current.spec);
      if (record.holderIdentity !== identity) return;
      await this.#api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: releasedSpec(record, new Date()) } }, withSignal(signal));
      this.#log.info('released the lease');
    } catch (err) {
      this.#log.warn({ err: describe(err) }, 'cannot release the lease; it expires by itself');
    }
  }
}
