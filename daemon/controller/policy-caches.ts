/**
 * What the MultiNetworkPolicy loop reads besides the other caches: every pod (narrowed to its
 * labels and named ports as it arrives) and every MultiNetworkPolicy. Kept apart from
 * ControllerCaches' `synced` and `onChange`, so the other loops neither wait for the policy CRD
 * nor run on pod churn; and only a change that can alter a plan wakes the policy loop (a pod's
 * status updates do not).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { isObject } from '../cni-spec/json.ts';
import { WatchedCache } from '../k8s/watch.ts';
import type { Logger } from '../lib/log.ts';
import { isPolicyProtocol, type PolicyPod, type PolicyProtocol } from '../policy/model.ts';
import { asList } from './api.ts';

export const POLICY_GROUP = 'k8s.cni.cncf.io';
export const POLICY_VERSION = 'v1beta1';
export const POLICY_PLURAL = 'multi-networkpolicies';


/** A pod as policies see it; undefined when malformed or finished (Succeeded/Failed: its ports are gone). */
export function toPolicyPod(raw: unknown): PolicyPod | undefined {
  if (!isObject(raw) || !isObject(raw['metadata'])) return undefined;
  const { namespace, name, uid, labels } = raw['metadata'];
  if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return undefined;
  const phase = isObject(raw['status']) ? raw['status']['phase'] : undefined;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const labelMap = new Map<string, string>();
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') labelMap.set(k, v);
  const namedPorts = new Map<string, { protocol: PolicyProtocol; port: number }>();
  const containers = isObject(raw['spec']) && Array.isArray(raw['spec']['containers']) ? raw['spec']['containers'] : [];
  for (const container of containers) {
    const ports = isObject(container) && Array.isArray(container['ports']) ? container['ports'] : [];
    for (const port of ports) {
      if (!isObject(port) || typeof port['name'] !== 'string' || typeof port['containerPort'] !== 'number') continue;
      const protocol = port['protocol'] ?? 'TCP';
      // The first container that names a port wins, as kube-proxy and NetworkPolicy resolve it.
      if (isPolicyProtocol(protocol) && !namedPorts.has(port['name'])) {
        namedPorts.set(port['name'], { protocol, port: port['containerPort'] });
      }
    }
  }
  return { namespace, name, uid, labels: labelMap, namedPorts };
}

/** What of a pod a plan depends on, as one string. */
const fingerprint = (pod: PolicyPod | undefined): string =>
  pod === undefined ? '' : JSON.stringify([pod.namespace, pod.name, [...pod.labels], [...pod.namedPorts]]);

function uidOf(object: KubernetesObject): string | undefined {
  return object.metadata?.uid;
}

export class PolicyCaches {
  readonly #pods: WatchedCache<KubernetesObject>;
  readonly #policies: WatchedCache<KubernetesObject>;
  /** uid → the narrowed pod, updated as events arrive. */
  readonly #narrowed = new Map<string, PolicyPod>();
  readonly #listeners = new Set<() => void>();
  #podsSyncedSeen = false;

  constructor(kubeConfig: KubeConfig, log: Logger, retryMs = 1000) {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const base = { kubeConfig, log: log.child({ component: 'policy-cache' }), retryMs };
    this.#pods = new WatchedCache({
      ...base,
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
      onObject: (event, object) => this.#podEvent(event, object),
    });
    this.#policies = new WatchedCache({
      ...base,
      path: `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_PLURAL}`,
      list: async () => asList(await custom.listCustomObjectForAllNamespaces({ group: POLICY_GROUP, version: POLICY_VERSION, plural: POLICY_PLURAL }), 'MultiNetworkPolicy'),
    });
    this.#policies.onChange(() => this.#notify());
    // The first list of pods wakes once, whatever it held.
    this.#pods.onChange(() => {
      if (!this.#podsSyncedSeen && this.#pods.synced) {
        this.#podsSyncedSeen = true;
        this.#notify();
      }
    });
  }

  #podEvent(event: 'add' | 'update' | 'delete', object: KubernetesObject): void {
    const uid = uidOf(object);
    if (uid === undefined) return;
    const before = this.#narrowed.get(uid);
    const after = event === 'delete' ? undefined : toPolicyPod(object);
    if (after === undefined) this.#narrowed.delete(uid);
    else this.#narrowed.set(uid, after);
    if (fingerprint(before) !== fingerprint(after)) this.#notify();
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  start(): void {
    this.#pods.start();
    this.#policies.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#pods.stop(), this.#policies.stop()]);
  }

  /** Whether both first lists have arrived. */
  get synced(): boolean {
    return this.#pods.synced && this.#policies.synced;
  }

  /** Calls `listener` when a policy changes or a pod's labels, named ports or existence do. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  pods(): PolicyPod[] {
    return [...this.#narrowed.values()];
  }

  /** One MultiNetworkPolicy as the API server last sent it. */
  policy(namespace: string, name: string): unknown {
    return this.#policies.get(name, namespace);
  }

  /** The MultiNetworkPolicy objects as listed (policy/parse.ts validates them). */
  policies(): readonly unknown[] {
    return this.#policies.list();
  }
}
