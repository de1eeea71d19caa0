// Routes (RTM_NEWROUTE) in the main table, through one interface.
import { rt } from './codec.ts';
import { bytesOf, parseSubnet } from '../lib/ip.ts';
import { InvalidAddressError } from '../errors.ts';
import { encodeIp } from './addr.ts';
import { createFlags, type RtnlRequest } from './rtnl.ts';

const RT_TABLE_MAIN = 254;

export interface RouteSpec {
  /** CIDR with zero host bits, e.g. `0.0.0.0/0` or `fd00:10::/64`. */
  destination: string;
  /** Next hop; a direct (scope link) route when absent. */
  gateway?: string;
}

/** RTM_NEWROUTE out of interface `index`; the kernel answers EEXIST when the same route exists. */
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
    flags: createFlags,
    operation: `RTM_NEWROUTE ${route.destination}${via} dev ${index}`,
  };
}
