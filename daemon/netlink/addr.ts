// Interface addresses (RTM_NEWADDR / RTM_GETADDR) on a socket of the interface's netns.
import { rt } from './codec.ts';
import { AF_INET6, encodePrefix, formatIp } from './ip-bytes.ts';
import { createFlags, type Rtnl, type RtnlRequest } from './rtnl.ts';

export interface IpAddress {
  address: string;
  prefixLength: number;
}

/** RTM_NEWADDR for interface `index`; IPv6 addresses get IFA_F_NODAD so they are usable at once (never tentative). */
export function addressRequest(index: number, { address, prefixLength }: IpAddress): RtnlRequest {
  const { family, bytes } = encodePrefix(address, prefixLength);
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
    return msg.kind === 'address' && bytes !== undefined ? [{ address: formatIp(bytes), prefixLength: msg.data.prefixlen ?? 0 }] : [];
  });
}
