/**
 * The routes an attachment puts in the pod through its interface: the config's `routes`, the
 * pod's own (`args.cni.routes` on stdin, else its network-selection element's `cni-args.routes`;
 * added to the config's), and a default route per family the element's `default-route` names,
 * which replaces the pod's default route of that family. Checked against the network before
 * anything is made; built once for ADD's kernel requests, its result, and CHECK.
 */
import { shown } from '../cni-spec/errors.ts';
import type { ResultRoute } from '../cni-spec/result.ts';
import type { PodAddressRequest } from '../k8s/requests.ts';
import { familyOf, ipToBigInt, parseCidr, parseSubnet, subnetContains, type Subnet } from '../lib/ip.ts';
import type { NetConf } from '../netconf/parse.ts';
import type { ConfigRoute } from '../netconf/routes.ts';
import type { RouteSpec } from '../netlink/route.ts';
import { InvalidConfigError } from '../errors.ts';

/** What the pod asks of its routes on this network, and where it asked (named in errors). */
export interface RouteRequest {
  /** Gateways, one per family at most. */
  defaultRoute: string[];
  defaultRouteField: string;
  routes: ConfigRoute[];
  routesField: string;
}

/**
 * The pod's request: `default-route` from its element; routes from stdin's `args.cni.routes`
 * when given (Multus puts the element's `cni-args` there, so it holds the same routes), else
 * from the element's `cni-args.routes`.
 */
export function routeRequest(conf: Pick<NetConf, 'argsRoutes'>, pod: PodAddressRequest | undefined): RouteRequest {
  const element = pod?.field ?? '';
  return {
    defaultRoute: pod?.defaultRoute ?? [],
    defaultRouteField: `${element} default-route`,
    routes: conf.argsRoutes ?? pod?.routes ?? [],
    routesField: conf.argsRoutes === undefined ? `${element} cni-args.routes` : 'args.cni.routes',
  };
}

/** What the network offers the request: its subnets, and the gateway of each. */
export interface RouteNetwork {
  name: string;
  ifName: string;
  subnets: readonly Subnet[];
  gatewayOf: (subnet: Subnet) => string | undefined;
}

const sameAddress = (a: string, b: string): boolean => familyOf(a) === familyOf(b) && ipToBigInt(a) === ipToBigInt(b);
const canonicalDst = (dst: string): string => parseSubnet(dst)?.cidr ?? dst;

/**
 * Code 7 unless each `default-route` gateway is the network's gateway of its family, each pod
 * route's `gw` is inside the network's subnets, and no pod route's `dst` is one the config
 * routes already.
 */
export function checkRouteRequest(request: RouteRequest, network: RouteNetwork, configRoutes: readonly ConfigRoute[]): void {
  const on = `network ${shown(network.name)} on ${network.ifName}`;
  request.defaultRoute.forEach((gw, i) => {
    const field = `${request.defaultRouteField}[${i}]`;
    const family = familyOf(gw);
    const subnet = network.subnets.find((s) => s.family === family);
    const gateway = subnet === undefined ? undefined : network.gatewayOf(subnet);
    if (gateway === undefined) {
      throw new InvalidConfigError(`${field}: ${on} has no IPv${family ?? ''} gateway`, { details: subnet === undefined ? `no IPv${family ?? ''} subnet` : `subnet ${subnet.cidr}`, field });
    }
    if (!sameAddress(gw, gateway)) throw new InvalidConfigError(`${field}: ${shown(gw)} is not the IPv${family ?? ''} gateway of ${on}`, { details: `its gateway is ${gateway}`, field });
  });
  const configured = new Set(configRoutes.map((r) => canonicalDst(r.dst)));
  request.routes.forEach((route, i) => {
    const field = `${request.routesField}[${i}]`;
    if (configured.has(route.dst)) throw new InvalidConfigError(`${field}.dst: ${route.dst} is routed by the config's routes already`, { field: `${field}.dst` });
    const { gw } = route;
    if (gw !== undefined && !network.subnets.some((s) => subnetContains(s, gw))) {
      const subnets = network.subnets.map((s) => s.cidr).join(', ');
      throw new InvalidConfigError(`${field}.gw: ${shown(gw)} is outside the subnets of ${on}`, { details: subnets === '' ? 'the network has no subnet' : subnets, field: `${field}.gw` });
    }
  });
}

/** The routes, for the kernel (default routes replace the pod's) and for the result. */
export function podRoutes(configRoutes: readonly ConfigRoute[], request: RouteRequest): { kernel: RouteSpec[]; result: ResultRoute[] } {
  // A family whose default route the element names takes it from there, not from the config.
  const families = new Set(request.defaultRoute.map((gw) => familyOf(gw)));
  const isReplaced = (r: ConfigRoute): boolean => {
    const cidr = parseCidr(r.dst);
    return cidr !== undefined && cidr.prefixLength === 0 && families.has(cidr.family);
  };
  const routes = [...configRoutes.filter((r) => !isReplaced(r)), ...request.routes];
  const defaults = request.defaultRoute.map((gw) => ({ dst: familyOf(gw) === 6 ? '::/0' : '0.0.0.0/0', gw }));
  const spec = (r: ConfigRoute): RouteSpec => (r.gw === undefined ? { destination: r.dst } : { destination: r.dst, gateway: r.gw });
  return {
    kernel: [...routes.map(spec), ...defaults.map((r) => ({ ...spec(r), replace: true }))],
    result: [...routes, ...defaults].map((r) => ({ ...r })),
  };
}

/** The routes of `wanted` that `present` (the interface's, from the kernel) lacks, as text. */
export function missingRoutes(wanted: readonly RouteSpec[], present: readonly RouteSpec[]): string[] {
  return wanted
    .filter((w) => !present.some((p) => p.destination === canonicalDst(w.destination) && (w.gateway === undefined ? p.gateway === undefined : p.gateway !== undefined && sameAddress(p.gateway, w.gateway))))
    .map((w) => `${w.destination}${w.gateway === undefined ? '' : ` via ${w.gateway}`}`);
}
