/**
 * The "MAC IP IP" entries of a logical switch port's `addresses`, `dynamic_addresses` and
 * `port_security` columns.
 */
import { familyOf, parseIpPrefix } from '../lib/ip.ts';

/** "MAC IP IP": an entry as a port of ours gets it. */
export function addressEntry(mac: string, ips: readonly string[]): string {
  return [mac, ...ips].join(' ');
}

/**
 * The addresses an entry uses: "MAC IP...", "dynamic", "router", "unknown". Returns the MAC
 * (lowercase) and the IPs (prefix lengths dropped).
 */
export function parsePortAddresses(entry: string): { mac: string | undefined; ips: string[] } {
  const words = entry.trim().split(/\s+/);
  const [first, ...rest] = words;
  if (first === undefined || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(first)) return { mac: undefined, ips: [] };
  const ips = rest.flatMap((w) => parseIpPrefix(w)?.address ?? []);
  return { mac: first.toLowerCase(), ips };
}

/** The IPs of an IPAM-only record's entry (OwnerKeys.ipamOnly: "IP IP", no MAC). */
export function parseHeldIps(entry: string): string[] {
  return entry.split(' ').filter((ip) => familyOf(ip) !== undefined);
}
