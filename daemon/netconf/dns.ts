/** IPAM mode's `dns` section, returned in the result as it is; and what a domain name is. */
import { shown } from '../cni-spec/errors.ts';
import { isObject } from '../cni-spec/json.ts';
import type { ResultDns } from '../cni-spec/result.ts';
import { familyOf } from '../lib/ip.ts';
import { bad } from './bad.ts';

const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A DNS domain name: dot-separated labels of letters, digits and inner "-", 253 characters at most. */
export const isDomainName = (text: string): boolean => DOMAIN.test(text);

export function validateDns(value: unknown): ResultDns {
  if (value === undefined) return {};
  if (!isObject(value)) throw bad('dns', 'must be an object: {"nameservers"?, "domain"?, "search"?, "options"?}', shown(value));
  const strings = (key: string, valid: (item: string) => boolean, what: string): string[] | undefined => {
    const items = value[key];
    if (items === undefined) return undefined;
    if (!Array.isArray(items) || items.length > 8) throw bad(`dns.${key}`, `must be a list of up to 8 ${what}`, shown(items));
    return items.map((item: unknown, i) => {
      if (typeof item !== 'string' || !valid(item)) throw bad(`dns.${key}[${i}]`, `must be ${what}`, shown(item));
      return item;
    });
  };
  const domain = value['domain'];
  if (domain !== undefined && (typeof domain !== 'string' || !isDomainName(domain))) throw bad('dns.domain', 'must be a domain name', shown(domain));
  const nameservers = strings('nameservers', (item) => familyOf(item) !== undefined, 'IP addresses');
  const search = strings('search', isDomainName, 'domain names');
  const options = strings('options', (item) => item !== '' && item.length <= 255 && !/[\s\0]/.test(item), 'resolver options');
  return {
    ...(nameservers === undefined ? {} : { nameservers }),
    ...(domain === undefined ? {} : { domain }),
    ...(search === undefined ? {} : { search }),
    ...(options === undefined ? {} : { options }),
  };
}
