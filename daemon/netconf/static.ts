/**
 * Static requests: runtimeConfig.ips and runtimeConfig.mac (the CNI capabilities `ips` and
 * `mac`, as Multus passes a pod's requested addresses and MAC), and `IP=`/`MAC=` in CNI_ARGS,
 * which Multus appends for a NAD that declares no capabilities.
 */
import { shown } from '../cni-spec/errors.ts';
import { macRefusal, parseIpPrefix } from '../lib/ip.ts';
import { InvalidEnvironmentError } from '../errors.ts';
import { bad } from './bad.ts';

/** How a validator refuses: code 7 for the config (bad), code 4 for CNI_ARGS. */
export type Refuse = (field: string, msg: string, details?: string) => Error;

const MAX_STATIC_IPS = 16;

/** A static address from runtimeConfig.ips: the address, and its prefix length when given. */
export interface RequestedAddress {
  address: string;
  prefixLength: number | undefined;
}

export function validateStaticIps(value: unknown, field = 'runtimeConfig.ips', refuse: Refuse = bad): RequestedAddress[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_STATIC_IPS) throw refuse(field, `must be a list of 1 to ${MAX_STATIC_IPS} addresses`);
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string') throw refuse(`${field}[${i}]`, 'must be a string');
    const parsed = parseIpPrefix(item);
    if (parsed === undefined) throw refuse(`${field}[${i}]`, 'must be an IP address, optionally with a prefix length', shown(item));
    const { address, prefixLength } = parsed;
    if (seen.has(address)) throw refuse(`${field}[${i}]`, 'is given twice', shown(item));
    seen.add(address);
    return { address, prefixLength };
  });
}

export function validateStaticMac(value: unknown, field = 'runtimeConfig.mac', refuse: Refuse = bad): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) throw refuse(field, 'must be a MAC address like 0a:58:0a:01:00:05', shown(value));
  const mac = value.toLowerCase();
  const refusal = macRefusal(mac);
  if (refusal !== undefined) throw refuse(field, `must be a unicast address, not ${refusal}`, shown(value));
  return mac;
}

const refuseArg: Refuse = (field, msg, details = '') => new InvalidEnvironmentError(`${field}: ${msg}`, { details, field: 'CNI_ARGS' });

/**
 * `IP=` (addresses, comma-separated, each optionally with a prefix length) and `MAC=` of
 * CNI_ARGS, checked as runtimeConfig's are; a bad one is code 4 naming the key. An empty value is
 * no request.
 */
export function cniArgsAddresses(args: Readonly<Record<string, string>>): { ips: RequestedAddress[] | undefined; mac: string | undefined } {
  const ip = args['IP'];
  const mac = args['MAC'];
  return {
    ips: ip === undefined || ip === '' ? undefined : validateStaticIps(ip.split(','), 'CNI_ARGS IP', refuseArg),
    mac: mac === undefined || mac === '' ? undefined : validateStaticMac(mac, 'CNI_ARGS MAC', refuseArg),
  };
}
