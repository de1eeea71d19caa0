/**
 * Static requests: runtimeConfig.ips and runtimeConfig.mac (the CNI capabilities `ips` and
 * `mac`, as Multus passes a pod's requested addresses and MAC).
 */
import { shown } from '../cni-spec/errors.ts';
import { macRefusal, parseIpPrefix } from '../lib/ip.ts';
import { bad } from './bad.ts';

const MAX_STATIC_IPS = 16;

/** A static address from runtimeConfig.ips: the address, and its prefix length when given. */
export interface RequestedAddress {
  address: string;
  prefixLength: number | undefined;
}

export function validateStaticIps(value: unknown): RequestedAddress[] | undefined {
  const field = 'runtimeConfig.ips';
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_STATIC_IPS) throw bad(field, `must be a list of 1 to ${MAX_STATIC_IPS} addresses`);
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string') throw bad(`${field}[${i}]`, 'must be a string');
    const parsed = parseIpPrefix(item);
    if (parsed === undefined) throw bad(`${field}[${i}]`, 'must be an IP address, optionally with a prefix length', shown(item));
    const { address, prefixLength } = parsed;
    if (seen.has(address)) throw bad(`${field}[${i}]`, 'is given twice', shown(item));
    seen.add(address);
    return { address, prefixLength };
  });
}

export function validateStaticMac(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) throw bad('runtimeConfig.mac', 'must be a MAC address like 0a:58:0a:01:00:05', shown(value));
  const mac = value.toLowerCase();
  const refusal = macRefusal(mac);
  if (refusal !== undefined) throw bad('runtimeConfig.mac', `must be a unicast address, not ${refusal}`, shown(value));
  return mac;
}
