/**
 * The CNI result, built once in the newest shape and converted only when printed
 * (cf. cni pkg/types/internal/convert.go).
 */
import { resultHasInterfaceMtu, resultHasIpVersion, type CniVersion } from './version.ts';
import { isObject } from './json.ts';
import { parseIpPrefix } from '../lib/ip.ts';

export interface ResultInterface {
  name: string;
  mac: string;
  mtu?: number;
  sandbox?: string;
}

export interface ResultIp {
  /** CIDR notation: the address with the prefix length of its subnet. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; absent in an IPAM plugin's result, which has no interfaces. */
  interface?: number;
}

export interface ResultRoute {
  dst: string;
  gw?: string;
}

/** SPEC.md "DNS": what an IPAM result may carry (ovn-multinet's own results carry none). */
export interface ResultDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface Result {
  /** Empty in an IPAM plugin's result (SPEC.md: IPAM plugins return no interfaces), and then not printed. */
  interfaces: ResultInterface[];
  ips: ResultIp[];
  routes: ResultRoute[];
  dns: ResultDns;
}

export type PrintedResult = { cniVersion: CniVersion } & Record<string, unknown>;

/** Converts the newest result to the shape of `version`. */
export function convertResult(result: Result, version: CniVersion): PrintedResult {
  const interfaces = result.interfaces.map((i) => {
    const { mtu, ...rest } = i;
    return resultHasInterfaceMtu(version) && mtu !== undefined ? { ...rest, mtu } : rest;
  });
  const ips = result.ips.map((ip) =>
    resultHasIpVersion(version) ? { version: parseIpPrefix(ip.address)?.family === 6 ? '6' : '4', ...ip } : { ...ip },
  );
  // An IPAM result has no interfaces: the key is left out, as the reference IPAM plugins print it.
  return { cniVersion: version, ...(interfaces.length === 0 ? {} : { interfaces }), ips, routes: result.routes, dns: result.dns };
}


/** Narrows a result received over the daemon socket (or a prevResult) to the newest shape. */
export function parseResult(value: unknown): Result | undefined {
  if (!isObject(value)) return undefined;
  const { interfaces = [], ips = [], routes = [] } = value;
  if (!Array.isArray(interfaces) || !Array.isArray(ips) || !Array.isArray(routes)) return undefined;
  const outInterfaces: ResultInterface[] = [];
  for (const i of interfaces) {
    if (!isObject(i) || typeof i['name'] !== 'string') return undefined;
    const entry: ResultInterface = { name: i['name'], mac: typeof i['mac'] === 'string' ? i['mac'] : '' };
    if (typeof i['mtu'] === 'number') entry.mtu = i['mtu'];
    if (typeof i['sandbox'] === 'string') entry.sandbox = i['sandbox'];
    outInterfaces.push(entry);
  }
  const outIps: ResultIp[] = [];
  for (const ip of ips) {
    if (!isObject(ip) || typeof ip['address'] !== 'string') return undefined;
    const entry: ResultIp = { address: ip['address'] };
    if (typeof ip['interface'] === 'number') entry.interface = ip['interface'];
    if (typeof ip['gateway'] === 'string') entry.gateway = ip['gateway'];
    outIps.push(entry);
  }
  const outRoutes: ResultRoute[] = [];
  for (const r of routes) {
    if (!isObject(r) || typeof r['dst'] !== 'string') return undefined;
    outRoutes.push(typeof r['gw'] === 'string' ? { dst: r['dst'], gw: r['gw'] } : { dst: r['dst'] });
  }
  return { interfaces: outInterfaces, ips: outIps, routes: outRoutes, dns: {} };
}
