/**
 * The pods of this node, cached from a list+watch (client-node's ListWatch, field selector
 * `spec.nodeName=<node>`), so an ADD needs no API call when the cache has its pod. An ADD can
 * arrive before the watch event of its pod: it then waits for the cache (bounded), then falls
 * back to one GET. A pod is identified by namespace/name, and by UID when the runtime gives one.
 */
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { WatchedCache } from './watch.ts';
import { withSignal } from './signal.ts';
import type { Logger } from '../lib/log.ts';
import { isObject } from '../cni-spec/json.ts';
import { KubeConfigError, PodNotFoundError, PodUidMismatchError, PodLookupError } from '../errors.ts';

/** What ovn-multinet reads from a pod, narrowed once at the boundary. */
export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  annotations: ReadonlyMap<string, string>;
  /** Its labels (IPPools' podSelector); absent: none known. */
  labels?: ReadonlyMap<string, string>;
}

export interface PodRef {
  namespace: string;
  name: string;
  /** K8S_POD_UID: a pod with the same name and another UID is another pod. */
  uid: string | undefined;
}

/** Where a pod comes from; the fake in unit tests satisfies it too. */
export interface PodSource {
  get(ref: PodRef, signal: AbortSignal): Promise<PodInfo>;
  stop(): Promise<void>;
}


/** A pod object as the API server sent it, narrowed to what is used; undefined when malformed. */
export function toPodInfo(raw: unknown): PodInfo | undefined {
  if (!isObject(raw) || !isObject(raw['metadata'])) return undefined;
  const { namespace, name, uid, annotations, labels } = raw['metadata'];
  if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return undefined;
  const map = new Map<string, string>();
  if (isObject(annotations)) for (const [k, v] of Object.entries(annotations)) if (typeof v === 'string') map.set(k, v);
  const labelMap = new Map<string, string>();
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') labelMap.set(k, v);
  return { namespace, name, uid, annotations: map, labels: labelMap };
}

export interface PodCacheOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  log: Logger;
  /** How long an ADD waits for its pod to reach the cache before one GET (default 2 s). */
  waitMs?: number;
  /** First delay before restarting a failed list/watch; doubles up to 30 s (default 1 s). */
  retryMs?: number;
}

export class PodCache implements PodSource {
  readonly #api: CoreV1Api;
  readonly #pods: WatchedCache<V1Pod>;
  readonly #log: Logger;
  readonly #waitMs: number;

  constructor(options: PodCacheOptions) {
    this.#log = options.log.child({ component: 'pod-cache' });
    this.#waitMs = options.waitMs ?? 2000;
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
    const fieldSelector = `spec.nodeName=${options.nodeName}`;
    this.#pods = new WatchedCache<V1Pod>({
      kubeConfig: options.kubeConfig,
      path: '/api/v1/pods',
      list: () => this.#api.listPodForAllNamespaces({ fieldSelector }),
      fieldSelector,
      log: this.#log,
      retryMs: options.retryMs ?? 1000,
    });
  }

  /** Starts the list+watch; does not wait for it (ADDs wait per pod instead). */
  start(): void {
    this.#pods.start();
  }

  stop(): Promise<void> {
    return this.#pods.stop();
  }

  /** The cached pod when it is the one asked for (same UID when one is given). */
  #cached(ref: PodRef): PodInfo | undefined {
    const pod = toPodInfo(this.#pods.get(ref.name, ref.namespace));
    return pod !== undefined && (ref.uid === undefined || pod.uid === ref.uid) ? pod : undefined;
  }

  async get(ref: PodRef, signal: AbortSignal): Promise<PodInfo> {
    const cached = await this.#pods.waitFor(() => this.#cached(ref), this.#waitMs, signal);
    if (cached !== undefined) return cached;
    this.#log.debug({ pod: `${ref.namespace}/${ref.name}` }, 'pod not in the cache; asking the API server');
    const pod = await this.#read(ref, signal);
    if (ref.uid !== undefined && pod.uid !== ref.uid) {
      throw new PodUidMismatchError(`pod ${ref.namespace}/${ref.name} has UID ${pod.uid}, not ${ref.uid}`, pod.uid);
    }
    return pod;
  }

  async #read(ref: PodRef, signal: AbortSignal): Promise<PodInfo> {
    let raw: V1Pod;
    try {
      raw = await this.#api.readNamespacedPod({ name: ref.name, namespace: ref.namespace }, withSignal(signal));
    } catch (err) {
      signal.throwIfAborted();
      const code = isObject(err) ? err['code'] : undefined;
      if (code === 404) throw new PodNotFoundError(`pod ${ref.namespace}/${ref.name} does not exist`, { cause: err });
      throw new PodLookupError(`cannot read pod ${ref.namespace}/${ref.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const pod = toPodInfo(raw);
    if (pod === undefined) throw new PodLookupError(`pod ${ref.namespace}/${ref.name}: the API server sent a malformed object`);
    return pod;
  }
}

/** --kubeconfig FILE, else in-cluster config when KUBERNETES_SERVICE_HOST is set, else none. */
export function loadKubeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig | undefined {
  if (file === undefined && (env['KUBERNETES_SERVICE_HOST'] ?? '') === '') return undefined;
  const kc = new KubeConfig();
  if (file !== undefined) kc.loadFromFile(file);
  else kc.loadFromCluster();
  if (kc.getCurrentCluster() === null) throw new KubeConfigError(`${file ?? 'in-cluster config'}: no current cluster`);
  return kc;
}
