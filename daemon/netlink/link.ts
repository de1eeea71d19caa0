// Links by name: find, bring up, delete, list. Host-netns functions send to the host netns; the
// `*On` variants send where the caller's Rtnl points (e.g. a pod netns).
import { rt } from './codec.ts';
import { isErrno } from '../errors.ts';
import { formatMac, parseMac } from './mac.ts';
import type { NetnsHandle } from './netns.ts';
import { Rtnl, type RtnlRequest } from './rtnl.ts';

export interface LinkState {
  index: number;
  mac: string;
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
}

/** The state of a link as reported in an RTM_NEWLINK message. */
export function linkState({ data, attrs }: rt.LinkMessage): LinkState {
  return {
    index: data.index ?? 0,
    mac: attrs.address === undefined ? '' : formatMac(attrs.address),
    mtu: attrs.mtu ?? 0,
    up: data.flags?.up === true,
  };
}

/** RTM_GETLINK by name. */
export function getLinkRequest(name: string): RtnlRequest {
  return { type: rt.MessageType.GETLINK, message: { kind: 'link', data: {}, attrs: { ifname: name } }, flags: 0, operation: `RTM_GETLINK ${name}` };
}

/** RTM_GETLINK by name; undefined when there is no such link (ENODEV). */
export async function getLinkOn(sock: Rtnl, name: string, signal: AbortSignal): Promise<rt.LinkMessage | undefined> {
  try {
    const [reply] = await sock.request(getLinkRequest(name), signal);
    return reply?.kind === 'link' ? reply : undefined;
  } catch (err) {
    if (isErrno(err, 'ENODEV')) return undefined;
    throw err;
  }
}

/**
 * RTM_NEWLINK setting IFF_UP on the link with this index, and its MAC first when given (the
 * kernel applies IFLA_ADDRESS before the flags, so the link comes up with it).
 */
export function linkUpRequest(index: number, mac?: string): RtnlRequest {
  const data = { index, flags: { up: true }, change: { up: true } } as const;
  const attrs = mac === undefined ? {} : { address: parseMac(mac) };
  return { type: rt.MessageType.NEWLINK, message: { kind: 'link', data, attrs }, flags: 0, operation: `RTM_NEWLINK up${mac === undefined ? '' : ` address ${mac}`} dev ${index}` };
}

/** RTM_DELLINK by name; false when it did not exist. Deleting either end of a veth removes both. */
export async function deleteLinkOn(sock: Rtnl, name: string, signal: AbortSignal): Promise<boolean> {
  try {
    const message = { kind: 'link', data: {}, attrs: { ifname: name } } as const;
    await sock.request({ type: rt.MessageType.DELLINK, message, flags: 0, operation: `RTM_DELLINK ${name}` }, signal);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENODEV')) return false;
    throw err;
  }
}

/** A link of the host netns, or undefined. */
export async function findLink(name: string, signal: AbortSignal): Promise<LinkState | undefined> {
  const link = await getLinkOn(Rtnl.host(), name, signal);
  return link === undefined ? undefined : linkState(link);
}

/**
 * Deletes a host link; false when it did not exist. The kernel destroys a veth pair inside the
 * request (~20 ms, an RCU grace period), off the event loop (see rtnl.ts); once sent it cannot
 * be aborted, so `signal` only stops it from starting.
 */
export function deleteLink(name: string, signal: AbortSignal): Promise<boolean> {
  return deleteLinkOn(Rtnl.host(), name, signal);
}

/** Deletes a link inside `netns`; false when it did not exist. */
export function deleteLinkInNetns(netns: NetnsHandle, name: string, signal: AbortSignal): Promise<boolean> {
  return deleteLinkOn(Rtnl.in(netns), name, signal);
}

/** Names of the host-netns links that start with `prefix` (for garbage collection). */
export async function listHostLinks(prefix: string, signal: AbortSignal): Promise<string[]> {
  const links = await Rtnl.host().dump(rt.MessageType.GETLINK, { kind: 'link', data: {}, attrs: {} }, signal);
  return links.flatMap((msg) => (msg.kind === 'link' && msg.attrs.ifname?.startsWith(prefix) === true ? [msg.attrs.ifname] : []));
}
