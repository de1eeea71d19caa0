// The pod end of a veth, configured and inspected from a socket bound to the pod netns.
import { constants } from 'node:os';
import { addressRequest, listAddressesOn, type IpAddress } from './addr.ts';
import { KernelError } from '../errors.ts';
import { getTxChecksum } from './ethtool.ts';
import { getLinkOn, linkState, linkUpRequest, type LinkState } from './link.ts';
import type { NetnsHandle } from './netns.ts';
import { listRoutesOn, routeRequest, type RouteSpec } from './route.ts';
import { Rtnl } from './rtnl.ts';

export interface PodInterfaceConfig {
  podNetns: NetnsHandle;
  podName: string;
  /** Set before the link comes up, when the veth was made before the MAC was known. */
  mac?: string;
  /** The interface's index in the pod netns, when known (createVethPair returns it). */
  podIndex?: number;
  /** IPv4 and IPv6 addresses; IPv6 ones are added without DAD. */
  addresses: readonly IpAddress[];
  /** Added after the addresses, so gateways are already on-link. */
  routes: readonly RouteSpec[];
  /** Turn off TX checksum offload (needed with the OVS userspace datapath). */
  disableTxChecksum: boolean;
  signal: AbortSignal;
}

export interface PodInterfaceState extends LinkState {
  addresses: IpAddress[];
  /** Absent when the driver does not report it. */
  txChecksum?: boolean;
}

/**
 * In the pod netns, in one trip to a pool thread (rtnl.ts): TX checksum off (if asked), MAC (if
 * given) and link up, addresses, routes. Without `podIndex` the link is looked up first.
 */
export async function configurePodInterface(config: PodInterfaceConfig): Promise<void> {
  const { podNetns, podName, signal } = config;
  const sock = Rtnl.in(podNetns);
  const index = config.podIndex ?? (await getLinkOn(sock, podName, signal))?.data.index;
  if (index === undefined) throw new KernelError(constants.errno.ENODEV, `RTM_GETLINK ${podName}`);
  // Built (and validated) before anything is changed; sent in order, each seeing the ones before.
  const requests = [linkUpRequest(index, config.mac), ...config.addresses.map((address) => addressRequest(index, address)), ...config.routes.map((route) => routeRequest(index, route))];
  await sock.batch(requests, signal, config.disableTxChecksum ? { disableTxChecksumOf: podName } : {});
}

/** The pod interface as the kernel sees it, or undefined when it does not exist. */
export async function inspectPodInterface(podNetns: NetnsHandle, podName: string, signal: AbortSignal): Promise<PodInterfaceState | undefined> {
  const sock = Rtnl.in(podNetns);
  const link = await getLinkOn(sock, podName, signal);
  if (link === undefined) return undefined;
  const state = linkState(link);
  const addresses = await listAddressesOn(sock, state.index, signal);
  const txChecksum = getTxChecksum(podNetns, podName);
  return { ...state, addresses, ...(txChecksum === undefined ? {} : { txChecksum }) };
}

/** The main table's routes out of the pod interface `index`. */
export function inspectPodRoutes(podNetns: NetnsHandle, index: number, signal: AbortSignal): Promise<RouteSpec[]> {
  return listRoutesOn(Rtnl.in(podNetns), index, signal);
}
