/** Small helpers for the controller's API calls: lists, error codes, messages, bounded parallelism. */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { isObject } from '../cni-spec/json.ts';
import { MalformedListError } from '../errors.ts';
import { statusCode } from '../k8s/api-errors.ts';

export { describe, statusCode } from '../k8s/api-errors.ts';

/** A custom-object list as client-node returns it (untyped), checked for its items. */
export function asList(raw: unknown, what: string): KubernetesListObject<KubernetesObject> {
  if (!isObject(raw) || !Array.isArray(raw['items'])) throw new MalformedListError(`the API server sent a malformed ${what} list`);
  return raw as unknown as KubernetesListObject<KubernetesObject>;
}

/** 409 (conflict, already exists) and 404 (gone meanwhile): the cache is behind; try again soon. */
export const inFlux = (err: unknown): boolean => statusCode(err) === 409 || statusCode(err) === 404;

/** Runs `fn` over `items`, at most `limit` at once. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
