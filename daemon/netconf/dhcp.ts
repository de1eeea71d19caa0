/** `dhcp`: OVN answers DHCP on the port (a VM behind the pod's interface configures itself). */
import { shown } from '../cni-spec/errors.ts';
import { isObject } from '../cni-spec/json.ts';
import { familyOf } from '../lib/ip.ts';
import { bad } from './bad.ts';
import { isDomainName } from './dns.ts';

const LEASE_MIN = 60;
const LEASE_MAX = 2 ** 31 - 1;
const DHCP_SETTINGS = ['leaseTime', 'dnsServers', 'domainSearch', 'guestAddresses', 'routerAdvertisements'];

export interface DhcpConfig {
  /** Seconds. */
  leaseTime: number;
  dnsServers: string[];
  domainSearch: string[];
  /** The pod interface gets no addresses: the guest behind it takes them by DHCP. */
  guestAddresses: boolean;
  /** The router port that is an IPv6 subnet's gateway announces DHCPv6 (ipv6_ra_configs). */
  routerAdvertisements: boolean;
}

export function validateDhcp(value: unknown): DhcpConfig | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw bad('dhcp', `must be an object: {${DHCP_SETTINGS.map((key) => `"${key}"?`).join(', ')}}`, shown(value));
  for (const key of Object.keys(value)) {
    if (!DHCP_SETTINGS.includes(key)) throw bad(`dhcp.${key}`, `is not a DHCP setting (${DHCP_SETTINGS.join(', ')})`);
  }
  const { leaseTime, dnsServers, domainSearch, guestAddresses, routerAdvertisements } = value;
  if (leaseTime !== undefined && (typeof leaseTime !== 'number' || !Number.isInteger(leaseTime) || leaseTime < LEASE_MIN || leaseTime > LEASE_MAX)) {
    throw bad('dhcp.leaseTime', `must be an integer from ${LEASE_MIN} to ${LEASE_MAX} (seconds)`, shown(leaseTime));
  }
  const list = (items: unknown, field: string, valid: (item: string) => boolean, what: string): string[] => {
    if (items === undefined) return [];
    if (!Array.isArray(items) || items.length > 8) throw bad(field, `must be a list of up to 8 ${what}s`, shown(items));
    return items.map((item: unknown, i) => {
      if (typeof item !== 'string' || !valid(item)) throw bad(`${field}[${i}]`, `must be ${what === 'address' ? 'an IP address' : 'a domain name'}`, shown(item));
      return item;
    });
  };
  if (guestAddresses !== undefined && typeof guestAddresses !== 'boolean') throw bad('dhcp.guestAddresses', 'must be a boolean', shown(guestAddresses));
  if (routerAdvertisements !== undefined && typeof routerAdvertisements !== 'boolean') throw bad('dhcp.routerAdvertisements', 'must be a boolean', shown(routerAdvertisements));
  return {
    leaseTime: leaseTime ?? 3600,
    dnsServers: list(dnsServers, 'dhcp.dnsServers', (item) => familyOf(item) !== undefined, 'address'),
    domainSearch: list(domainSearch, 'dhcp.domainSearch', isDomainName, 'domain'),
    guestAddresses: guestAddresses ?? false,
    routerAdvertisements: routerAdvertisements ?? false,
  };
}
