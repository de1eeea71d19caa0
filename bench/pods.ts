/**
 * Fresh pod network namespaces, created before a phase and never timed: one per attachment, so
 * every ADD starts from an empty netns as it would for a new pod.
 */
import { createNetns, type Netns, type Teardown } from '../test/helpers/netns.ts';

export interface Pod {
  readonly index: number;
  readonly netns: Netns;
  /** Unique per pod (the netns name), so every attachment has its own names in OVS and OVN. */
  readonly containerId: string;
  readonly ifName: string;
}

/** Runs fn over items with at most `limit` at a time, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** `count` new netns with lo up; each is also registered with `cleanup`. */
export async function createPods(cleanup: Teardown, count: number, ifName = 'net1'): Promise<Pod[]> {
  const spaces = await mapLimit(Array.from({ length: count }, (_, i) => i), 8, () => createNetns(cleanup, 'omb'));
  return spaces.map((netns, index) => ({ index, netns, containerId: netns.name, ifName }));
}

/** Deletes the pods' netns (and so any interface left inside). */
export async function removePods(pods: readonly Pod[]): Promise<void> {
  await mapLimit(pods, 8, (pod) => pod.netns.remove());
}
