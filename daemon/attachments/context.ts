/** What every CNI command handler needs: the clients, waiting for a database, opening CNI_NETNS. */
import type { NbScope } from '../ovn/scope.ts';
import type { NbClient } from '../ovn/nb.ts';
import type { OvsClient } from '../ovs/bridge.ts';
import { DatabaseUnreachableError, InvalidEnvironmentError, OvsdbNotConnectedError } from '../errors.ts';
import { openNetns, type NetnsHandle } from '../netlink/netns.ts';
import type { Logger } from '../lib/log.ts';
import type { PodSource } from '../k8s/pods.ts';
import type { NetworkAccessMode, NetworkSource } from '../k8s/networks.ts';
import type { ClaimSource } from '../k8s/ipamclaims.ts';
import type { IpPoolSource } from '../k8s/ippools.ts';
import type { DaemonMetrics } from '../metrics/hooks.ts';
import type { PodEvents } from '../k8s/pod-events.ts';

export interface Attacher {
  nb: NbClient;
  /** What of the NB the daemon monitors; a request serves its switch before looking at it. */
  scope: NbScope;
  ovs: OvsClient;
  /** Recorded as the owner of this node's attachments. */
  node: string;
  /** This boot of the node (/proc/sys/kernel/random/boot_id), recorded on each attachment. */
  bootId: string;
  /** The OVS integration bridge, normally br-int. */
  bridge: string;
  /** MTU of pod interfaces when the network config has none. */
  defaultMtu: number;
  /** How long a request waits for a lost database connection to come back (within its deadline). */
  dbWaitMs: number;
  log: Logger;
  /** What the metrics record (NO_METRICS when the listener is off). */
  metrics: DaemonMetrics;
  /** With Kubernetes on: this node's pods, whose network-selection elements may ask for ips/mac. */
  pods?: PodSource;
  /** With Kubernetes on: Network objects, which decide what a pod's config may reach. */
  networks?: NetworkSource;
  /** How they decide (--network-access); strict when unset. */
  networkAccess?: NetworkAccessMode;
  /** With Kubernetes on: IPAMClaims, which keep a VM's addresses across its pods. */
  claims?: ClaimSource;
  /** With Kubernetes on: IPPools, which carve a Network's switch into ranges for selected pods. */
  ipPools?: IpPoolSource;
  /** With Kubernetes on: Events on pods (a failed ADD, an attachment the reconciler removed). */
  events?: PodEvents;
}

/** Cleanup after a failed or timed-out request gets its own short deadline. */
export const CLEANUP_TIMEOUT_MS = 10_000;

function describe(ctx: Attacher, client: NbClient | OvsClient): string {
  return client === ctx.nb ? 'OVN Northbound database' : 'local Open_vSwitch database';
}

/**
 * Waits for a lost connection to come back, as after a raft leader change, until dbWaitMs after
 * `since` (the request's arrival: a request that already waited for a hung database does not
 * wait the whole time again), within the request's deadline; then gives up with code 11 so the
 * runtime retries. A database whose session is being set up then is there but slow (a busy NB
 * answers a new session's monitor late): that one is waited for within the request's deadline.
 */
export async function ensureConnected(ctx: Attacher, client: NbClient | OvsClient, signal: AbortSignal, since = performance.now()): Promise<void> {
  if (client.connected) return;
  const left = Math.max(0, Math.ceil(since + ctx.dbWaitMs - performance.now()));
  try {
    await client.waitConnected(AbortSignal.any([signal, AbortSignal.timeout(left)]));
    return;
  } catch {
    signal.throwIfAborted();
  }
  if (await client.waitSettingUp(signal)) return;
  throw new DatabaseUnreachableError(`${describe(ctx, client)} is not reachable`, { details: `no connection within ${ctx.dbWaitMs} ms of the request` });
}

/** Sessions a request's NB work may lose before its answer is code 11 anyway. */
const MAX_SESSIONS = 3;

/**
 * Runs NB work that is safe to run again (it judges the cache afresh, its writes are guarded)
 * and, when the session drops under it, waits for the next (ensureConnected: --db-wait from
 * `since`) and runs it again, as after a raft leader change.
 */
export async function acrossReconnects<T>(ctx: Attacher, signal: AbortSignal, since: number, work: () => Promise<T>): Promise<T> {
  for (let session = 1; ; session++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof OvsdbNotConnectedError) || session >= MAX_SESSIONS) throw err;
      await ensureConnected(ctx, ctx.nb, signal, since);
    }
  }
}

/** open() failures that say the path is unusable, not that the daemon is broken. */
const OPEN_ERRORS = new Set(['ELOOP', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'EISDIR', 'ENXIO', 'ENODEV']);

/**
 * Opens CNI_NETNS. A missing path (NetnsNotFoundError) is an unknown container, anything but a
 * netns (NotANetnsError) or a path that cannot be opened is bad env.
 */
export async function openPodNetns(path: string): Promise<NetnsHandle> {
  try {
    return await openNetns(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && OPEN_ERRORS.has(code)) throw new InvalidEnvironmentError(`CNI_NETNS: cannot be opened (${code})`, { details: path, field: 'CNI_NETNS', cause: err });
    throw err;
  }
}
