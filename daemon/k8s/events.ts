/**
 * The one way ovn-multinet writes Kubernetes Events (docs/events.md): the daemon on pods, the
 * controller's leader on Networks and MultiNetworkPolicies.
 *
 * Why `events.k8s.io/v1` and not core v1: it is the API client-go's current recorder
 * (k8s.io/client-go/tools/events) writes, the one with a place for what this recorder does:
 * `series` (count, lastObservedTime) for an occurrence that repeats, `reportingController` and
 * `reportingInstance` (who, and which node or replica), `action` beside `reason`. The API server
 * stores both APIs' Events as one resource, so `kubectl describe` and `kubectl get events` show
 * these as any other (regarding as involvedObject, note as message, a series as "xN over T").
 * Core v1's count/firstTimestamp/lastTimestamp are deprecated fields of the same object.
 *
 * As client-go's recorder, on the client side:
 * - Dedup: occurrences are keyed by (regarding object, reason, note). The first creates an
 *   Event; a repeat updates that Event's `series` (a merge patch of count and lastObservedTime)
 *   instead of creating another one. Keys live in an LRU of `maxSeries` entries (memory bounded:
 *   a node's cost grows with its own pods' events only); an evicted key starts a new Event.
 * - Rate limit: a token bucket per regarding object (`burst` writes, then one each `refillMs`;
 *   client-go's old recorder used 25 and 5 minutes). Occurrences while its bucket is empty are
 *   only counted, and written as one series update when a token is back: a crash-looping pod
 *   costs the API server one write per refill period, whatever its retry rate.
 * - Never on a request's path: record() returns at once; writes run after, one at a time per
 *   key. A failed write is logged (a warning once until a write succeeds again, then debug) and
 *   dropped: the next occurrence writes the count so far. An Event the API server no longer has
 *   (expired, deleted) is created again; one whose namespace is gone is simply not written.
 */
import { EventsV1Api, PatchStrategy, setHeaderOptions, V1MicroTime, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../lib/log.ts';
import { withSignal } from './signal.ts';
import { describe, statusCode } from './api-errors.ts';

/** The object an Event is about (regarding). Cluster-scoped objects have no namespace. */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string | undefined;
  name: string;
  /** Empty when unknown (an attachment recorded without K8S_POD_UID). */
  uid: string;
}

export type EventType = 'Normal' | 'Warning';

/** One occurrence. */
export interface EventRecord {
  regarding: ObjectReference;
  type: EventType;
  /** Why (CamelCase, at most 128 characters). */
  reason: string;
  /** What was done or failed (at most 128 characters). */
  action: string;
  /** Human-readable; cut to NOTE_LIMIT bytes. */
  note: string;
}

/** Where Events go: the recorder, or a fake in tests. */
export interface EventSink {
  record(event: EventRecord): void;
}

/** The API server refuses a longer note (events.k8s.io/v1 validation, in bytes). */
export const NOTE_LIMIT = 1024;
/** Where an Event about a cluster-scoped object lives, as client-go puts it. */
const CLUSTER_EVENTS_NAMESPACE = 'default';
/** A write that takes longer is given up (the next occurrence writes the count). */
const WRITE_TIMEOUT_MS = 10_000;

export interface RecorderOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  /** reportingController, a qualified name: ovn-multinet.io/daemon or ovn-multinet.io/controller. */
  controller: string;
  /** reportingInstance: the node's name, or the controller replica's identity. */
  instance: string;
  /** Series (keys) remembered at most (default 4096). */
  maxSeries?: number;
  /** Writes an object may make at once (default 25). */
  burst?: number;
  /** Then one more write each this often (default 5 minutes). */
  refillMs?: number;
}

/** `note` cut to at most `limit` bytes of UTF-8, never inside a character. */
export function cutNote(note: string, limit = NOTE_LIMIT): string {
  if (Buffer.byteLength(note) <= limit) return note;
  let cut = note.slice(0, limit);
  while (Buffer.byteLength(cut) > limit - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

interface Series {
  event: EventRecord;
  /** The regarding object's bucket key. */
  object: string;
  count: number;
  firstAt: number;
  lastAt: number;
  /** The Event's name once created. */
  name: string | undefined;
  /** The count the API server has. */
  written: number;
  writing: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
  evicted: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A bounded map that forgets the least recently used entry. */
class Lru<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();
  readonly #evicted: (value: V) => void;

  constructor(max: number, evicted: (value: V) => void = () => undefined) {
    this.#max = max;
    this.#evicted = evicted;
  }

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    for (const [oldest, old] of this.#map) {
      if (this.#map.size <= this.#max) break;
      this.#map.delete(oldest);
      this.#evicted(old);
    }
  }

  get size(): number {
    return this.#map.size;
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }
}

const objectKey = (ref: ObjectReference): string => (ref.uid !== '' ? ref.uid : `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`);

/** MicroTime as the API server parses it (RFC 3339 with 6 fraction digits). */
const microTime = (ms: number): V1MicroTime => new V1MicroTime(ms);

export class EventRecorder implements EventSink {
  readonly #api: EventsV1Api;
  readonly #log: Logger;
  readonly #controller: string;
  readonly #instance: string;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #series: Lru<Series>;
  readonly #buckets: Lru<Bucket>;
  readonly #stopping = new AbortController();
  /** A failure was logged as a warning since the last write that succeeded. */
  #warned = false;

  constructor(options: RecorderOptions) {
    this.#api = options.kubeConfig.makeApiClient(EventsV1Api);
    this.#log = options.log.child({ component: 'events' });
    this.#controller = options.controller;
    this.#instance = options.instance;
    this.#burst = options.burst ?? 25;
    this.#refillMs = options.refillMs ?? 300_000;
    const max = options.maxSeries ?? 4096;
    this.#series = new Lru<Series>(max, (s) => {
      s.evicted = true;
      clearTimeout(s.timer);
    });
    this.#buckets = new Lru<Bucket>(max);
  }

  /** Series remembered now (at most maxSeries). */
  get size(): number {
    return this.#series.size;
  }

  /** Counts the occurrence and returns; the write follows when its object's bucket allows. */
  record(event: EventRecord): void {
    if (this.#stopping.signal.aborted) return;
    const e = { ...event, note: cutNote(event.note) };
    const object = objectKey(e.regarding);
    const key = JSON.stringify([object, e.reason, e.note]);
    const now = Date.now();
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { event: e, object, count: 1, firstAt: now, lastAt: now, name: undefined, written: 0, writing: undefined, timer: undefined, evicted: false };
      this.#series.set(key, series);
    } else {
      series.count++;
      series.lastAt = now;
    }
    this.#flush(series);
  }

  /** Stops writing; resolves once no write is in flight. Counts not written yet are dropped. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    const writing: Array<Promise<void>> = [];
    for (const s of this.#series.values()) {
      clearTimeout(s.timer);
      if (s.writing !== undefined) writing.push(s.writing);
    }
    await Promise.all(writing);
  }

  /** Takes a token of the object's bucket; returns how long to wait when there is none. */
  #take(object: string): number {
    const now = Date.now();
    const bucket = this.#buckets.get(object) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) / this.#refillMs);
    bucket.at = now;
    this.#buckets.set(object, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) * this.#refillMs);
  }

  #flush(series: Series): void {
    if (series.writing !== undefined || series.timer !== undefined || series.evicted || this.#stopping.signal.aborted) return;
    if (series.written === series.count) return;
    const wait = this.#take(series.object);
    if (wait > 0) {
      series.timer = setTimeout(() => {
        series.timer = undefined;
        this.#flush(series);
      }, wait);
      series.timer.unref();
      return;
    }
    series.writing = this.#write(series).finally(() => {
      series.writing = undefined;
      this.#flush(series);
    });
  }

  async #write(series: Series): Promise<void> {
    const { event } = series;
    const count = series.count;
    const namespace = event.regarding.namespace ?? CLUSTER_EVENTS_NAMESPACE;
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(WRITE_TIMEOUT_MS)]);
    const seriesField = count >= 2 ? { count, lastObservedTime: microTime(series.lastAt) } : undefined;
    try {
      if (series.name === undefined) {
        const created = await this.#api.createNamespacedEvent({ namespace, body: this.#body(series, namespace, seriesField) }, withSignal(signal));
        series.name = created.metadata?.name;
      } else {
        const body = { series: seriesField };
        await this.#api.patchNamespacedEvent({ name: series.name, namespace, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withSignal(signal)));
      }
      series.written = count;
      this.#warned = false;
    } catch (err) {
      if (series.name !== undefined && statusCode(err) === 404) {
        // Expired or deleted meanwhile: the next flush creates it again, with the count so far.
        series.name = undefined;
        series.written = 0;
        return;
      }
      // Given up: the next occurrence writes the count (a namespace gone takes its Events along).
      series.written = count;
      if (this.#stopping.signal.aborted) return;
      const fields = { reason: event.reason, regarding: `${event.regarding.kind} ${event.regarding.namespace ?? ''}/${event.regarding.name}`, code: statusCode(err), err: describe(err) };
      if (this.#warned || statusCode(err) === 404 || statusCode(err) === 403) {
        this.#log.debug(fields, 'Event not written');
      } else {
        this.#warned = true;
        this.#log.warn(fields, 'Event not written (further failures are logged at debug level until one succeeds)');
      }
    }
  }

  #body(series: Series, namespace: string, seriesField: EventsV1Event['series']): EventsV1Event {
    const { event } = series;
    const { regarding } = event;
    return {
      metadata: { name: `${regarding.name.slice(0, 200)}.${series.firstAt.toString(16)}${randomBytes(4).toString('hex')}`, namespace },
      eventTime: microTime(series.firstAt),
      reportingController: this.#controller,
      reportingInstance: this.#instance,
      action: event.action,
      reason: event.reason,
      type: event.type,
      note: event.note,
      regarding: { apiVersion: regarding.apiVersion, kind: regarding.kind, name: regarding.name, ...(regarding.namespace === undefined ? {} : { namespace: regarding.namespace }), ...(regarding.uid === '' ? {} : { uid: regarding.uid }) },
      ...(seriesField === undefined ? {} : { series: seriesField }),
    };
  }
}
