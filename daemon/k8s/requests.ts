/**
 * What a pod asks for on one network: the `ips`/`mac`/`ipam-claim-reference`, `default-route` and `cni-args.routes` of its
 * network-selection element for this CNI call, read from the pod cache. Every failure becomes a request error of daemon/errors.ts here, so ADD only has to
 * choose between these and runtimeConfig's.
 */
import type { RequestedAddress } from '../netconf/static.ts';
import type { ConfigRoute } from '../netconf/routes.ts';
import { NETWORKS_ANNOTATION, parseNetworkSelections, selectNetwork } from './selection.ts';
import { type PodSource } from './pods.ts';
import { ApiServerUnreachableError, InvalidConfigError, NetworkSelectionError, PodLookupError, PodNotFoundError, PodUidMismatchError, UnknownContainerError } from '../errors.ts';

export interface PodAddressRequest {
  ips: RequestedAddress[] | undefined;
  mac: string | undefined;
  /** The IPAMClaim's name (in the pod's namespace). */
  ipamClaim: string | undefined;
  /** `default-route`: the gateways of the pod's default routes through this interface. */
  defaultRoute: string[] | undefined;
  /** `cni-args.routes`. */
  routes: ConfigRoute[] | undefined;
  /** Names the source in errors: the annotation and the element. */
  field: string;
}

/**
 * The request of the pod named in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID) for
 * network `network` on interface `ifName`; undefined when the call names no pod or the pod asks
 * nothing of this network.
 */
export async function podAddressRequest(
  pods: PodSource,
  args: Readonly<Record<string, string>>,
  network: string,
  ifName: string,
  signal: AbortSignal,
): Promise<PodAddressRequest | undefined> {
  const { K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name, K8S_POD_UID: uid } = args;
  if (namespace === undefined || namespace === '' || name === undefined || name === '') return undefined;
  const who = `pod ${namespace}/${name}`;
  let pod;
  try {
    pod = await pods.get({ namespace, name, uid: uid === '' ? undefined : uid }, signal);
  } catch (err) {
    if (err instanceof PodUidMismatchError) throw new UnknownContainerError(`CNI_ARGS: K8S_POD_UID ${uid ?? ''} is not the UID of ${who}`, { details: `the pod has UID ${err.found}`, field: 'CNI_ARGS', cause: err });
    if (err instanceof PodNotFoundError) throw new UnknownContainerError(`CNI_ARGS: ${who} does not exist`, { field: 'CNI_ARGS', cause: err });
    if (err instanceof PodLookupError) throw new ApiServerUnreachableError(`${who}: the Kubernetes API server is not reachable`, { details: err.message, cause: err });
    throw err;
  }
  const annotation = pod.annotations.get(NETWORKS_ANNOTATION);
  if (annotation === undefined) return undefined;
  let selected;
  try {
    selected = selectNetwork(parseNetworkSelections(annotation, namespace), network, ifName);
  } catch (err) {
    if (err instanceof NetworkSelectionError) throw new InvalidConfigError(`${who}: annotation ${NETWORKS_ANNOTATION} is invalid at ${err.path}`, { details: err.message, cause: err });
    throw err;
  }
  if (selected === undefined) return undefined;
  const { ips, mac, ipamClaimReference, defaultRoute, routes } = selected;
  if ([ips, mac, ipamClaimReference, defaultRoute, routes].every((asked) => asked === undefined)) return undefined;
  return { ips, mac, ipamClaim: ipamClaimReference, defaultRoute, routes, field: `${who}: annotation ${NETWORKS_ANNOTATION} (network ${selected.namespace}/${selected.name})` };
}
