/**
 * `routes`: routes added in the pod through this interface, and reported in the result. The
 * same shape comes from the pod (`args.cni.routes` on stdin, the network-selection element's
 * `cni-args.routes`): one parser, and for those a few more rules (podRoutes).
 */
import { shown } from '../cni-spec/errors.ts';
import { isObject } from '../cni-spec/json.ts';
import { familyOf, parseCidr, parseSubnet } from '../lib/ip.ts';
import { bad } from './bad.ts';
import type { Refuse } from './static.ts';

const MAX_ROUTES = 32;

export interface ConfigRoute {
  dst: string;
  gw?: string;
}

export function validateRoutes(value: unknown, field = 'routes', refuse: Refuse = bad): ConfigRoute[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ROUTES) throw refuse(field, `must be a list of up to ${MAX_ROUTES} {"dst": CIDR, "gw"?: address}`);
  return value.map((route: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(route)) throw refuse(at, 'must be an object with dst and optional gw');
    const { dst, gw } = route;
    const cidr = typeof dst === 'string' ? parseCidr(dst) : undefined;
    if (typeof dst !== 'string' || cidr === undefined) throw refuse(`${at}.dst`, 'must be a CIDR', shown(dst));
    if (gw === undefined) return { dst };
    if (typeof gw !== 'string' || familyOf(gw) !== cidr.family) throw refuse(`${at}.gw`, 'must be an address of the same family as dst', shown(gw));
    return { dst, gw };
  });
}

/**
 * The pod's own routes (`args.cni.routes`, `cni-args.routes`): as `routes`, and each `dst` a
 * subnet (zero host bits) given once, never a default route (that is `default-route`'s).
 * Canonical `dst` (10.9.0.0/16, fd00:9::/64), so duplicates with the config's show.
 */
export function validatePodRoutes(value: unknown, field: string, refuse: Refuse): ConfigRoute[] {
  const seen = new Set<string>();
  return validateRoutes(value, field, refuse).map((route, i) => {
    const subnet = parseSubnet(route.dst);
    if (subnet === undefined) throw refuse(`${field}[${i}].dst`, 'must be a subnet address (host bits zero)', shown(route.dst));
    if (subnet.prefixLength === 0) throw refuse(`${field}[${i}].dst`, 'a default route is set by the network-selection element\'s "default-route"', shown(route.dst));
    if (seen.has(subnet.cidr)) throw refuse(`${field}[${i}].dst`, 'is given twice', shown(route.dst));
    seen.add(subnet.cidr);
    return route.gw === undefined ? { dst: subnet.cidr } : { dst: subnet.cidr, gw: route.gw };
  });
}

/**
 * `args.cni.routes` (CNI CONVENTIONS.md, args in the network config): where Multus puts the
 * network-selection element's `cni-args`; undefined when not given.
 */
export function validateArgsRoutes(args: unknown): ConfigRoute[] | undefined {
  const cni = isObject(args) ? args['cni'] : undefined;
  const routes = isObject(cni) ? cni['routes'] : undefined;
  return routes === undefined ? undefined : validatePodRoutes(routes, 'args.cni.routes', bad);
}
