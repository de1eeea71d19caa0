// Interface addresses (RTM_NEWADDR / RTM_GETADDR) on a socket of the interface's netns.
import { rt } from './codec.ts';
import { AF_INET6, ipBytes, ipOfBytes, type IpBytes } from '../lib/ip.ts';
import { InvalidAddressError } from '../errors.ts';
import { createFlags, type Rtnl, type RtnlRequest } from './rtnl.ts';

export interface IpAddress {
  address: string;
  prefixLength: number;
}

/** An IPv4 or IPv6 text address as rtnetlink carries it. */
export function encodeIp(text: string): IpBytes {
  const ip = ipBytes(text);
  if (ip === undefined) throw new InvalidAddressError(text, 'not an IPv4 or IPv6 address');
  return ip;
}

/** 4 or 16 network-order bytes from the kernel as text (IPv6 in RFC 5952 form). */
export function decodeIp(bytes: Uint8Array): string {
  const ip = ipOfBytes(bytes);
  if (ip === undefined) throw new InvalidAddressError(Buffer.from(bytes).toString('hex'), 'expected 4 or 16 bytes');
  return ip;
}

/**
 * RTM_NEWADDR for interface `index` (host bits allowed); IPv6 addresses get IFA_F_NODAD so they
 * are usable at once (never tentative).
 */
export function addressRequest(index: number, { address, prefixLength }: IpAddress): RtnlRequest {
  const { family, bytes } = encodeIp(address);
  const maxLength = bytes.length * 8;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > maxLength) {
    throw new InvalidAddressError(`${address}/${prefixLength}`, `prefix length must be 0..${maxLength}`);
  }
  const flags = family === AF_INET6 ? ({ nodad: true } as const) : {};
  return {
    type: rt.MessageType.NEWADDR,
    message: { kind: 'address', data: { family, prefixlen: prefixLength, flags, index }, attrs: { local: bytes, address: bytes, flags } },
    flags: createFlags,
    operation: `RTM_NEWADDR ${address}/${prefixLength} dev ${index}`,
  };
}

/** All addresses of the interface, both families, link-local ones included. */
export async function listAddressesOn(sock: Rtnl, index: number, signal: AbortSignal): Promise<IpAddress[]> {
  const replies = await sock.dump(rt.MessageType.GETADDR, { kind: 'address', data: {}, attrs: {} }, signal);
  return replies.flatMap((msg) => {
    const bytes = msg.kind === 'address' && msg.data.index === index ? msg.attrs.local ?? msg.attrs.address : undefined;
    return msg.kind === 'address' && bytes !== undefined ? [{ address: decodeIp(bytes), prefixLength: msg.data.prefixlen ?? 0 }] : [];
  });
}
