/**
 * The controller's view of the cluster: Networks, Namespaces, NetworkAttachmentDefinitions and NamespacedNetworks,
 * each a list+watch cache (daemon/k8s/watch.ts), and the policy loop's pods and
 * MultiNetworkPolicies (`policy`, policy-caches.ts, with their own `synced` and `onChange`). They
 * run on every replica, leader or not, so a new leader starts from warm caches. Reads narrow the
 * objects (objects.ts).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import { NETWORK_GROUP, NETWORK_PLURAL, NETWORK_VERSION } from '../k8s/networks.ts';
import { WatchedCache } from '../k8s/watch.ts';
import { NAD_GROUP, NAD_PLURAL, NAD_VERSION, toNadObject, toNamespaceObject, toNetworkObject, type NadObject, type NamespaceObject, type NetworkObject } from './objects.ts';
import { asList, statusCode } from './api.ts';
import { NAMESPACED_NETWORK_PLURAL } from '../k8s/namespaced.ts';
import { toNamespacedNetworkObject, type NamespacedNetworkObject } from './tenant-objects.ts';
import { PolicyCaches } from './policy-caches.ts';

const defined = <T>(items: ReadonlyArray<T | undefined>): T[] => items.filter((i): i is T => i !== undefined);

export class ControllerCaches {
  readonly #networks: WatchedCache<KubernetesObject>;
  readonly #namespaces: WatchedCache<KubernetesObject>;
  readonly #nads: WatchedCache<KubernetesObject>;
  readonly #namespaced: WatchedCache<KubernetesObject>;
  readonly policy: PolicyCaches;

  constructor(kubeConfig: KubeConfig, log: Logger, retryMs = 1000) {
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const base = { kubeConfig, log: log.child({ component: 'controller-cache' }), retryMs };
    this.#networks = new WatchedCache({
      ...base,
      path: `/apis/${NETWORK_GROUP}/${NETWORK_VERSION}/${NETWORK_PLURAL}`,
      list: async () => asList(await custom.listClusterCustomObject({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NETWORK_PLURAL }), 'Network'),
    });
    this.#namespaces = new WatchedCache({ ...base, path: '/api/v1/namespaces', list: () => core.listNamespace() });
    this.#nads = new WatchedCache({
      ...base,
      path: `/apis/${NAD_GROUP}/${NAD_VERSION}/${NAD_PLURAL}`,
      list: async () => asList(await custom.listCustomObjectForAllNamespaces({ group: NAD_GROUP, version: NAD_VERSION, plural: NAD_PLURAL }), 'NetworkAttachmentDefinition'),
    });
    this.#namespaced = new WatchedCache({
      ...base,
      path: `/apis/${NETWORK_GROUP}/${NETWORK_VERSION}/${NAMESPACED_NETWORK_PLURAL}`,
      list: async () => {
        try {
          return asList(await custom.listCustomObjectForAllNamespaces({ group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NAMESPACED_NETWORK_PLURAL }), 'NamespacedNetwork');
        } catch (err) {
          // Its CRD is optional: without it there are none.
          if (statusCode(err) !== 404) throw err;
          return { metadata: { resourceVersion: '' }, items: [] };
        }
      },
    });
    this.policy = new PolicyCaches(kubeConfig, log, retryMs);
  }

  start(): void {
    for (const cache of this.#all()) cache.start();
    this.policy.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#all().map((c) => c.stop()), this.policy.stop()]);
  }

  #all(): Array<WatchedCache<KubernetesObject>> {
    return [this.#networks, this.#namespaces, this.#nads, this.#namespaced];
  }

  /** Whether every first list has arrived: before that, a missing object cannot be told from a late one. */
  get synced(): boolean {
    return this.#all().every((c) => c.synced);
  }

  /** Calls `listener` on every change of any of them; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    const offs = this.#all().map((c) => c.onChange(listener));
    return () => offs.forEach((off) => off());
  }

  networks(): NetworkObject[] {
    return defined(this.#networks.list().map(toNetworkObject));
  }

  network(name: string): NetworkObject | undefined {
    return toNetworkObject(this.#networks.get(name));
  }

  namespaces(): NamespaceObject[] {
    return defined(this.#namespaces.list().map(toNamespaceObject));
  }

  namespacedNetworks(): NamespacedNetworkObject[] {
    return defined(this.#namespaced.list().map(toNamespacedNetworkObject));
  }

  nads(): NadObject[] {
    return defined(this.#nads.list().map(toNadObject));
  }

  nad(namespace: string, name: string): NadObject | undefined {
    return toNadObject(this.#nads.get(name, namespace));
  }
}
