// A veth pair created by one RTM_NEWLINK: the host end in the host netns (up), the peer placed
// straight into the pod netns (IFLA_NET_NS_FD) with its final name and MTU, and its MAC when it is
// known already (left down).
import { constants } from 'node:os';
import { AttrStream, ifla, readU32, rt } from './codec.ts';
import { KernelError } from '../errors.ts';
import { getLinkRequest } from './link.ts';
import { formatMac, parseMac } from './mac.ts';
import type { NetnsHandle } from './netns.ts';
import { createFlags, Rtnl } from './rtnl.ts';

export interface VethPairOptions {
  /** Host end name, at most 15 bytes (the caller picks it). */
  hostName: string;
  podName: string;
  podNetns: NetnsHandle;
  /** The kernel picks a random one when absent (configurePodInterface sets the final one). */
  podMac?: string;
  /** Both ends; the kernel default (1500) when absent. */
  mtu?: number;
  signal: AbortSignal;
}

export interface VethPair {
  hostIndex: number;
  /** Index of the pod end inside the pod netns. */
  podIndex: number;
  hostMac: string;
}

/** Creates the pair; EEXIST (KernelError) when either name is taken. */
export async function createVethPair(opts: VethPairOptions): Promise<VethPair> {
  const mtu = opts.mtu === undefined ? {} : { mtu: opts.mtu };
  const address = opts.podMac === undefined ? {} : { address: parseMac(opts.podMac) };
  const peer = { ifname: opts.podName, netNsFd: opts.podNetns.fd, ...address, ...mtu };
  const attrs = { ifname: opts.hostName, linkinfo: vethLinkInfo(peer), ...mtu };
  const data = { flags: { up: true }, change: { up: true } } as const;
  const operation = `RTM_NEWLINK veth ${opts.hostName}/${opts.podName}`;
  // One trip: create the pair, then read the host end (its MAC, and its peer's index).
  const create = { type: rt.MessageType.NEWLINK, message: { kind: 'link', data, attrs }, flags: createFlags, operation } as const;
  const [, replies] = await Rtnl.host().batch([create, getLinkRequest(opts.hostName)], opts.signal);
  const host = replies?.[0];
  // IFLA_LINK of a veth end is the ifindex of its peer (here, in the pod netns).
  if (host?.kind !== 'link' || host.attrs.link === undefined) throw new KernelError(constants.errno.ENODEV, `RTM_GETLINK ${opts.hostName}`);
  return {
    hostIndex: host.data.index ?? 0,
    podIndex: readU32.call(host.attrs.link, 0),
    hostMac: formatMac(host.attrs.address ?? Buffer.alloc(0)),
  };
}

/** IFLA_LINKINFO { KIND "veth", DATA { VETH_INFO_PEER: ifinfomsg + peer attributes } }. */
export function vethLinkInfo(peer: ifla.LinkAttrs): Buffer {
  const peerMessage = new AttrStream();
  rt.formatLinkMessage({ kind: 'link', data: {}, attrs: peer }, peerMessage);
  const vethData = new AttrStream();
  vethData.emit(ifla.formatVethInfo({ peer: Buffer.concat(peerMessage.bufs) }));
  const info = new AttrStream();
  info.emit(ifla.formatInfo({ kind: 'veth', data: Buffer.concat(vethData.bufs) }));
  return Buffer.concat(info.bufs);
}
