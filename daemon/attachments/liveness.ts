/**
 * Whether an attachment's container is still there, as the reconciler and GC's removal path
 * decide it.
 *
 * An attachment made by ovn-multinet as the plugin is alive while its host veth exists (the
 * kernel destroys a veth pair with the netns of either end; see reconcile.ts).
 *
 * An IPAM-only attachment (another plugin's interface, ipam-add.ts) has no veth of ours. It is
 * alive while both hold:
 * - the netns path CNI_NETNS named at ADD is still a network namespace, and the same one (its
 *   nsfs identity, recorded at ADD: a /proc/<pid>/ns/net path of a reused pid, or a path made
 *   again, names another namespace and does not count);
 * - the namespace has an interface named CNI_IFNAME: the calling plugin's (macvlan, ipvlan,
 *   bridge, host-device all make it before they call IPAM, and their DEL removes it just after).
 * So a pod whose netns was deleted without DEL, and one whose plugin's DEL removed the interface
 * while ovn-multinet's part of it failed (no daemon), are both freed after the grace period.
 * When the namespace cannot be looked at for another reason (permissions), it counts as alive:
 * an address is never freed on a guess. A recorded path that is not one of the netns path forms
 * (cni-spec/env.ts: a record written by hand or by an older daemon) is never opened, and one that
 * opens as the daemon's own netns is not a pod's: both count as gone, logged once.
 */
import { getLinkOn } from '../netlink/link.ts';
import { HostNetnsError, NetnsNotFoundError, NotANetnsError } from '../errors.ts';
import { isNetnsPath } from '../cni-spec/env.ts';
import { netnsId, openNetns, type NetnsHandle } from '../netlink/netns.ts';
import { Rtnl } from '../netlink/rtnl.ts';
import type { Logger } from '../lib/log.ts';

/** What an IPAM-only record says about its pod (ids.ts OwnerKeys.netns, netnsId, ifName). */
export interface IpamPod {
  netns: string;
  /** Absent on a record that lacks it: then any namespace at the path counts. */
  netnsId: string | undefined;
  ifName: string;
}

/** Refused recorded paths already logged; forgotten all at once past MAX_REFUSED_LOGGED. */
const refusedLogged = new Set<string>();
const MAX_REFUSED_LOGGED = 10_000;

function refusedOnce(log: Logger, netns: string, why: string): false {
  if (!refusedLogged.has(netns)) {
    if (refusedLogged.size >= MAX_REFUSED_LOGGED) refusedLogged.clear();
    refusedLogged.add(netns);
    log.warn({ netns }, `the recorded netns of an IPAM-only attachment ${why}; it counts as gone`);
  }
  return false;
}

export async function ipamPodAlive(pod: IpamPod, log: Logger, signal: AbortSignal): Promise<boolean> {
  if (!isNetnsPath(pod.netns)) return refusedOnce(log, pod.netns, 'is not a netns path (never opened)');
  let netns: NetnsHandle;
  try {
    netns = await openNetns(pod.netns);
  } catch (err) {
    if (err instanceof HostNetnsError) return refusedOnce(log, pod.netns, "is the daemon's own netns");
    if (err instanceof NetnsNotFoundError || err instanceof NotANetnsError) return false;
    log.warn({ err, netns: pod.netns }, 'cannot open the netns of an IPAM-only attachment; it counts as alive');
    return true;
  }
  try {
    if (pod.netnsId !== undefined && netnsId(netns) !== pod.netnsId) return false;
    return (await getLinkOn(Rtnl.in(netns), pod.ifName, signal)) !== undefined;
  } finally {
    await netns.close();
  }
}

/**
 * Whether the netns recorded at ADD is gone: no namespace at the path any more (or another one,
 * when its identity was recorded). A path that is no netns path is never opened and, like the
 * daemon's own netns, counts as gone, as for IPAM-only attachments above. One that cannot be
 * looked at for another reason is not gone.
 */
export async function netnsGone(path: string, id: string | undefined): Promise<boolean> {
  if (!isNetnsPath(path)) return true;
  let netns: NetnsHandle;
  try {
    netns = await openNetns(path);
  } catch (err) {
    return err instanceof NetnsNotFoundError || err instanceof NotANetnsError || err instanceof HostNetnsError;
  }
  try {
    return id !== undefined && netnsId(netns) !== id;
  } finally {
    await netns.close();
  }
}
