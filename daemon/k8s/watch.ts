/**
 * A list+watch cache (client-node's ListWatch) that ADDs can wait on: restarts
 * with backoff after errors (ListWatch itself stops on anything but 410), knows when its first
 * list has arrived, and wakes waiters on every event.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import { isObject } from '../cni-spec/json.ts';

const MAX_RETRY_MS = 30_000;

/**
 * A custom resource's list, for a WatchedCache: empty while its CRD is not installed (404: there
 * are no such objects); `malformed` makes the error for an answer that is not a list.
 */
export function customList(list: () => Promise<unknown>, malformed: () => Error): () => Promise<KubernetesListObject<KubernetesObject>> {
  return async () => {
    let raw: unknown;
    try {
      raw = await list();
    } catch (err) {
      if (!isObject(err) || err['code'] !== 404) throw err;
      return { metadata: { resourceVersion: '' }, items: [] };
    }
    if (!isObject(raw) || !Array.isArray(raw['items'])) throw malformed();
    return raw as unknown as KubernetesListObject<KubernetesObject>;
  };
}

export interface WatchedOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The API path watched, e.g. /api/v1/namespaces. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  log: Logger;
  /** First delay before restarting a failed list/watch; doubles up to 30 s. */
  retryMs: number;
  /** Restricts list and watch, e.g. spec.nodeName=<node>. */
  fieldSelector?: string;
  /** Called with each object added, updated (the new one) or deleted (relists included), before waiters wake. */
  onObject?: (event: 'add' | 'update' | 'delete', object: T) => void;
}

export class WatchedCache<T extends KubernetesObject> {
  readonly #informer: ListWatch<T>;
  readonly #log: Logger;
  readonly #retryMs: number;
  readonly #path: string;
  readonly #waiters = new Set<() => void>();
  #retryDelay: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #synced = false;

  constructor(options: WatchedOptions<T>) {
    const { path } = options;
    this.#path = path;
    this.#log = options.log;
    this.#retryMs = options.retryMs;
    this.#retryDelay = this.#retryMs;
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await options.list();
      // ListWatch stores the items right after this resolves, in the same continuation.
      setImmediate(() => {
        this.#synced = true;
        this.#wake();
      });
      return result;
    };
    this.#informer = new ListWatch<T>(path, new Watch(options.kubeConfig), list, false, undefined, options.fieldSelector);
    const changed = (event: 'add' | 'update' | 'delete') => (object: T): void => {
      options.onObject?.(event, object);
      this.#retryDelay = this.#retryMs;
      this.#wake();
    };
    this.#informer.on('add', changed('add'));
    this.#informer.on('update', changed('update'));
    this.#informer.on('delete', changed('delete'));
    this.#informer.on('error', (err: unknown) => this.#retryLater(err));
    this.#informer.on('connect', () => this.#log.debug({ path }, 'watching'));
  }

  /** After a failed list or watch (ListWatch gives up on its own): starts again after a backoff. */
  #retryLater(err: unknown): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    this.#log.warn({ err, path: this.#path, retryMs: this.#retryDelay }, 'list/watch failed; retrying');
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.start();
    }, this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, MAX_RETRY_MS);
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Whether the first list has arrived (the cache then holds every object, maybe stale). */
  get synced(): boolean {
    return this.#synced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  /** Every cached object, of `namespace` or of all namespaces. */
  list(namespace?: string): readonly T[] {
    return this.#informer.list(namespace);
  }

  /** Calls `listener` after the first list and every event (and once on stop); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#waiters.add(listener);
    return () => this.#waiters.delete(listener);
  }

  /** Lists, then watches; an API server that cannot be reached now is tried again with backoff. */
  start(): void {
    if (this.#stopped) return;
    this.#informer.start().catch((err: unknown) => this.#retryLater(err));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#wake();
    await this.#informer.stop();
  }

  /**
   * Resolves once `ready()` returns something other than undefined (checked now, without waiting,
   * and on every event), or with undefined after `waitMs` or on stop; throws when `signal` aborts.
   */
  async waitFor<R>(ready: () => R | undefined, waitMs: number, signal: AbortSignal): Promise<R | undefined> {
    signal.throwIfAborted();
    const now = ready();
    if (now !== undefined) return now;
    const found = Promise.withResolvers<R | undefined>();
    const check = (): void => {
      const value = ready();
      if (value !== undefined || this.#stopped || signal.aborted) found.resolve(value);
    };
    const timer = setTimeout(() => found.resolve(undefined), waitMs);
    this.#waiters.add(check);
    signal.addEventListener('abort', check, { once: true });
    try {
      check();
      const value = await found.promise;
      signal.throwIfAborted();
      return value;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(check);
      signal.removeEventListener('abort', check);
    }
  }
}
