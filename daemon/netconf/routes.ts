/** `routes`: routes added in the pod through this interface, and reported in the result. */
import { shown } from '../cni-spec/errors.ts';
import { isObject } from '../cni-spec/json.ts';
import { familyOf, parseCidr } from '../lib/ip.ts';
import { bad } from './bad.ts';

const MAX_ROUTES = 32;

export interface ConfigRoute {
  dst: string;
  gw?: string;
}

export function validateRoutes(value: unknown): ConfigRoute[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ROUTES) throw bad('routes', `must be a list of up to ${MAX_ROUTES} {"dst": CIDR, "gw"?: address}`);
  return value.map((route: unknown, i) => {
    const field = `routes[${i}]`;
    if (!isObject(route)) throw bad(field, 'must be an object with dst and optional gw');
    const { dst, gw } = route;
    const cidr = typeof dst === 'string' ? parseCidr(dst) : undefined;
    if (typeof dst !== 'string' || cidr === undefined) throw bad(`${field}.dst`, 'must be a CIDR', shown(dst));
    if (gw === undefined) return { dst };
    if (typeof gw !== 'string' || familyOf(gw) !== cidr.family) throw bad(`${field}.gw`, 'must be an address of the same family as dst', shown(gw));
    return { dst, gw };
  });
}
