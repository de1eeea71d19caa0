/**
 * The IPPools of an ADD (both modes): the pools of the Networks that cover the switch, the ones
 * accepted (ipam/ip-pools.ts judgePools, the rule the controller's status shows), the one that
 * serves the pod (k8s/ippools.ts poolFor), and the settings the allocator and the static checks
 * then use (carve). Without Kubernetes, or without pools on the switch: the switch's settings.
 */
import type { LogicalSwitch } from '../ovn/switches.ts';
import { OwnerKeys } from '../ovn/ids.ts';
import { carve, judgePools, type CarvedSettings } from '../ipam/ip-pools.ts';
import type { IpamSettings } from '../ipam/pool.ts';
import { poolFor, type IpPool } from '../k8s/ippools.ts';
import { ApiServerUnreachableError, NamespaceNotFoundError, NetworkLookupError, PodLookupError, PodNotFoundError, PodUidMismatchError, PoolExhaustedError, UnknownContainerError } from '../errors.ts';
import type { Attacher } from './context.ts';
import type { NetworkRequest } from './network.ts';

export interface PodPools extends CarvedSettings {
  /** The pool that serves the pod, and the Network it divides. */
  pool: IpPool | undefined;
}

/** The port's external_ids with the pool it takes its addresses from. */
export function withPool(externalIds: ReadonlyMap<string, string>, pools: PodPools): ReadonlyMap<string, string> {
  return pools.pool === undefined ? externalIds : new Map([...externalIds, [OwnerKeys.ipPool, pools.pool.name]]);
}

/** An exhausted pool named, with its Network: code 102 as any exhausted subnet. */
export function poolError(err: unknown, pools: PodPools): unknown {
  if (!(err instanceof PoolExhaustedError) || pools.pool === undefined) return err;
  const { name, network } = pools.pool;
  return new PoolExhaustedError(`IPPool ${name} of network ${network} has no free address left`, { details: err.message, cause: err });
}

export async function podPools(ctx: Attacher, req: NetworkRequest, sw: LogicalSwitch, settings: IpamSettings, signal: AbortSignal): Promise<PodPools> {
  const unchanged: PodPools = { allocation: settings, statics: settings, pool: undefined };
  if (ctx.ipPools === undefined || ctx.networks === undefined) return unchanged;
  const { K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name, K8S_POD_UID: uid } = req.args;
  try {
    // Pools name Networks: a switch no Network covers has none (and needs no look at them).
    const covering = await ctx.networks.covering(sw.name, signal);
    const pools = covering.length === 0 ? [] : await ctx.ipPools.poolsOf(covering.map((n) => n.name), signal);
    if (pools.length === 0) return unchanged;
    const verdicts = judgePools(pools, settings.subnets);
    const accepted = pools.filter((p) => verdicts.get(p.name)?.accepted === true);
    let chosen: IpPool | undefined;
    const serving = accepted.filter((p) => !p.reserved);
    if (namespace !== undefined && namespace !== '' && serving.length > 0) {
      const namespaceLabels = await ctx.networks.namespaceLabels(namespace, signal);
      const needsPod = serving.some((p) => p.podSelector !== undefined) && ctx.pods !== undefined && name !== undefined && name !== '';
      const pod = needsPod ? await ctx.pods?.get({ namespace, name, uid: uid === '' ? undefined : uid }, signal) : undefined;
      chosen = poolFor(serving, namespaceLabels, pod?.labels ?? new Map());
    }
    return { ...carve(settings, accepted, chosen), pool: chosen };
  } catch (err) {
    if (err instanceof NetworkLookupError || err instanceof PodLookupError) throw new ApiServerUnreachableError(`network ${req.conf.name}: the Kubernetes API server is not reachable`, { details: err.message, cause: err });
    if (err instanceof NamespaceNotFoundError || err instanceof PodNotFoundError || err instanceof PodUidMismatchError) throw new UnknownContainerError(`CNI_ARGS: ${err.message}`, { field: 'CNI_ARGS', cause: err });
    throw err;
  }
}
