// Routes (RTM_NEWROUTE) in the main table, through one interface.
import { FlagsNew, rt } from './codec.ts';
import { AF_INET6, bitsOf, bytesOf, parseSubnet } from '../lib/ip.ts';
import { InvalidAddressError } from '../errors.ts';
import { decodeIp, encodeIp } from './addr.ts';
import { createFlags, type Rtnl, type RtnlRequest } from './rtnl.ts';

const RT_TABLE_MAIN = 254;

export interface RouteSpec {
  /** CIDR with zero host bits, e.g. `0.0.0.0/0` or `fd00:10::/64`. */
  destination: string;
  /** Next hop; a direct (scope link) route when absent. */
  gateway?: string;
  /**
   * NLM_F_REPLACE: takes the place of the table's route to the same destination (and metric),
   * whichever interface it went through, instead of failing with EEXIST.
   */
  replace?: boolean;
}

/** RTM_NEWROUTE out of interface `index`; the kernel answers EEXIST when the same route exists (unless `replace`). */
export function routeRequest(index: number, route: RouteSpec): RtnlRequest {
  const subnet = parseSubnet(route.destination);
  if (subnet === undefined) throw new InvalidAddressError(route.destination, 'expected address/prefix with zero host bits');
  const dst = { ...bytesOf(subnet.network, subnet.family), prefixLength: subnet.prefixLength };
  const gateway = route.gateway === undefined ? undefined : encodeIp(route.gateway);
  if (gateway !== undefined && gateway.family !== dst.family) {
    throw new InvalidAddressError(route.gateway ?? '', `gateway family differs from ${route.destination}`);
  }
  const data = {
    family: dst.family,
    dstLen: dst.prefixLength,
    table: RT_TABLE_MAIN,
    protocol: rt.RouteProtocol.BOOT,
    scope: gateway === undefined ? rt.RouteScope.LINK : rt.RouteScope.UNIVERSE,
    type: rt.RouteType.UNICAST,
  };
  const attrs = {
    oif: index,
    ...(dst.prefixLength === 0 ? {} : { dst: dst.bytes }),
    ...(gateway === undefined ? {} : { gateway: gateway.bytes }),
  };
  const via = route.gateway === undefined ? '' : ` via ${route.gateway}`;
  return {
    type: rt.MessageType.NEWROUTE,
    message: { kind: 'route', data, attrs },
    flags: route.replace === true ? FlagsNew.CREATE | FlagsNew.REPLACE : createFlags,
    operation: `RTM_NEWROUTE ${route.destination}${via} dev ${index}${route.replace === true ? ' (replace)' : ''}`,
  };
}

/** The parser gives enum members by name. */
const isUnicast = (type: rt.RouteMessage['data']['type']): boolean => type === rt.RouteType.UNICAST || type === 'UNICAST';

/** The main table's unicast routes out of interface `index`, both families (destinations canonical). */
export async function listRoutesOn(sock: Rtnl, index: number, signal: AbortSignal): Promise<RouteSpec[]> {
  const replies = await sock.dump(rt.MessageType.GETROUTE, { kind: 'route', data: {}, attrs: {} }, signal);
  return replies.flatMap((msg) => {
    if (msg.kind !== 'route' || msg.attrs.oif !== index || (msg.attrs.table ?? msg.data.table) !== RT_TABLE_MAIN || !isUnicast(msg.data.type)) return [];
    const family = msg.data.family === AF_INET6 ? 6 : 4;
    const network = msg.attrs.dst === undefined ? (family === 4 ? '0.0.0.0' : '::') : decodeIp(msg.attrs.dst);
    const subnet = parseSubnet(`${network}/${msg.data.dstLen ?? bitsOf(family)}`);
    if (subnet === undefined) return [];
    return [{ destination: subnet.cidr, ...(msg.attrs.gateway === undefined ? {} : { gateway: decodeIp(msg.attrs.gateway) }) }];
  });
}
