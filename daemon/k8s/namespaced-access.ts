/**
 * What the daemon reads from NamespacedNetworks (namespaced.ts) for the access rule (access.ts):
 * each one whose spec the controller accepted for its current generation (its Accepted condition,
 * which only the controller writes: the status subresource) covers its derived switch, admits
 * its own namespace alone, and gives its definition with port security on and no DHCP. One being
 * deleted admits no new pod. The admin's --tenant-excluded-subnets are the controller's to check:
 * a spec it refused covers nothing here.
 */
import { isObject } from '../cni-spec/json.ts';
import { grantOf, type CoveringNetwork } from './access.ts';
import { acceptedNow, namespacedDefinitionOf } from './namespaced.ts';
import { NetworkSpecError } from '../errors.ts';

/** The switch a NamespacedNetwork covers, as the access rule sees it; undefined when it covers none yet (or any more). */
export function namespacedCovering(raw: unknown): CoveringNetwork | NetworkSpecError | undefined {
  if (!isObject(raw) || !isObject(raw['metadata'])) return undefined;
  const { name, namespace, deletionTimestamp } = raw['metadata'];
  if (typeof name !== 'string' || typeof namespace !== 'string' || deletionTimestamp !== undefined || !acceptedNow(raw)) return undefined;
  const spec = isObject(raw['spec']) ? raw['spec'] : {};
  try {
    const { conf } = namespacedDefinitionOf(namespace, name, spec);
    return { name, namespace, namespaceSelector: undefined, grant: grantOf(conf) };
  } catch (err) {
    if (err instanceof NetworkSpecError) return err;
    throw err;
  }
}
