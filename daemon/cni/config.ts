/**
 * The network configuration on stdin: the user-facing contract. Decoded once into a typed value;
 * every error names the field.
 */
import { isIP } from 'node:net';
import { shown } from './errors.ts';
import { DecodeFailureError, InvalidConfigError, UnsupportedFieldError } from '../errors.ts';
import { negotiateVersion, type CniVersion } from './version.ts';
import { parseResult, type Result, type ResultDns } from './result.ts';
import { illFormedKey, isObject } from './json.ts';

export const DEFAULT_SOCKET = '/run/ovn-multinet/cni.sock';
/** The plugin's `type`, as a runtime (or another plugin, for IPAM) execs it. */
export const PLUGIN_TYPE = 'ovn-multinet';
/** A network config is small; prevResult of a long chain stays far below this. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_NAME = 253;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
const MTU_MIN = 68;
const MTU_MAX = 65535;
const MAX_VALID_ATTACHMENTS = 100_000;

/** A static address from runtimeConfig.ips: the address, and its prefix length when given. */
export interface RequestedAddress {
  address: string;
  prefixLength: number | undefined;
}

export interface Attachment {
  containerId: string;
  ifName: string;
}

/**
 * `attach`: ovn-multinet is the plugin (veth, logical switch port, port security).
 * `ipam`: another plugin (macvlan, ipvlan, bridge, host-device) execs ovn-multinet as its IPAM
 * plugin (see ipamSection): only addresses, recorded in the NB, and an IPAM result.
 */
export type ConfMode = 'attach' | 'ipam';

export interface NetConf {
  mode: ConfMode;
  cniVersion: CniVersion;
  name: string;
  type: string;
  logicalSwitch: string;
  socket: string;
  mtu: number | undefined;
  portSecurity: boolean;
  prevResult: Result | undefined;
  /** Only for GC: attachments the runtime still uses. */
  validAttachments: Attachment[] | undefined;
  /** runtimeConfig.ips (CNI capability `ips`, as Multus passes a pod's requested addresses). */
  staticIps: RequestedAddress[] | undefined;
  /** runtimeConfig.mac (CNI capability `mac`). */
  staticMac: string | undefined;
  /** A network ovn-multinet creates (layer2, localnet) rather than a switch that must exist. */
  managed: ManagedNetwork | undefined;
  /** Routes added in the pod through this interface, and reported in the result. */
  routes: ConfigRoute[];
  /** A pod's IPAMClaim (ipam-claim-reference) keeps its addresses across pods (KubeVirt VMs). */
  allowPersistentIPs: boolean;
  /** OVN answers DHCP on the port (a VM behind the pod's interface configures itself). */
  dhcp: DhcpConfig | undefined;
  /** IPAM mode: the `dns` section of `ipam`, returned in the result as it is. */
  dns: ResultDns;
}

/**
 * The name of a network setting in errors: in IPAM mode the settings live in the `ipam`
 * section, so `logicalSwitch` is `ipam.logicalSwitch` there.
 */
export function fieldOf(conf: Pick<NetConf, 'mode'>, key: string): string {
  return conf.mode === 'ipam' ? `ipam.${key}` : key;
}

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

const LEASE_MIN = 60;
const LEASE_MAX = 2 ** 31 - 1;
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface ConfigRoute {
  dst: string;
  gw?: string;
}

export interface ManagedNetwork {
  topology: 'layer2' | 'localnet';
  /** CIDRs as written (the daemon canonicalizes them); at most one IPv4 and one IPv6. */
  subnets: string[];
  excludeSubnets: string[];
  /** localnet: the name in the node's ovn-bridge-mappings, and the VLAN to use on it. */
  physicalNetworkName: string | undefined;
  vlanId: number | undefined;
  /** Gateway addresses (one per family at most), inside the subnets, never handed out. */
  gateways: string[];
}


function bad(field: string, msg: string, details = ''): InvalidConfigError {
  return new InvalidConfigError(`${field}: ${msg}`, { details, field });
}

/** Parses stdin as JSON; anything that is not a JSON object is code 6. */
export function decodeConfig(stdin: string): Record<string, unknown> {
  if (Buffer.byteLength(stdin) > MAX_CONFIG_BYTES) {
    throw new DecodeFailureError(`network configuration is larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(stdin);
  } catch (err) {
    throw new DecodeFailureError('network configuration is not valid JSON', { details: (err as Error).message });
  }
  // A lone UTF-16 surrogate ("\ud800") is valid JSON but not Unicode text: ovsdb-server drops a
  // connection whose JSON carries one, so no such string may get as far as a database.
  const illFormed = illFormedKey(value);
  if (illFormed !== undefined) {
    throw new DecodeFailureError('network configuration is not Unicode text', { details: `a lone UTF-16 surrogate at ${illFormed === '' ? 'the top' : `key ${shown(illFormed.toWellFormed())}`}` });
  }
  if (!isObject(value)) throw new DecodeFailureError('network configuration must be a JSON object');
  return value;
}

/** The version a config asks for, for printing errors before the rest is validated. */
export function requestedVersion(raw: Record<string, unknown>): CniVersion {
  return negotiateVersion(raw['cniVersion'], raw['cniVersions']);
}

function optionalString(raw: Record<string, unknown>, field: string): string | undefined {
  const v = raw[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(field, `must be a string, got ${typeof v}`);
  return v;
}

/** cni libcni ValidateNetworkName: the name is part of file paths and OVN names. */
function validateName(value: unknown): string {
  if (value === undefined) throw bad('name', 'is required');
  if (typeof value !== 'string') throw bad('name', `must be a string, got ${typeof value}`);
  if (value === '' || value.length > MAX_NAME || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(value)) {
    throw bad('name', `must be 1-${MAX_NAME} letters, digits, "_", "." or "-", starting with a letter or digit`, shown(value));
  }
  return value;
}

function validateLogicalSwitch(value: string | undefined, name: string): string {
  if (value === undefined) return name;
  if (value === '' || value.length > MAX_NAME || /[\s\0]/.test(value)) {
    throw bad('logicalSwitch', `must be 1-${MAX_NAME} characters without whitespace`, shown(value));
  }
  return value;
}

function validateSocket(value: string | undefined): string {
  if (value === undefined) return DEFAULT_SOCKET;
  if (!value.startsWith('/') || value.includes('\0')) throw bad('socket', 'must be an absolute path', shown(value));
  if (Buffer.byteLength(value) > MAX_SOCKET_PATH) throw bad('socket', `longer than ${MAX_SOCKET_PATH} bytes`);
  return value;
}

function validateMtu(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MTU_MIN || value > MTU_MAX) {
    throw bad('mtu', `must be an integer from ${MTU_MIN} to ${MTU_MAX}`, shown(value));
  }
  return value;
}

function validateValidAttachments(value: unknown): Attachment[] | undefined {
  const field = 'cni.dev/valid-attachments';
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw bad(field, 'must be a list');
  if (value.length > MAX_VALID_ATTACHMENTS) throw bad(field, `more than ${MAX_VALID_ATTACHMENTS} entries`);
  return value.map((entry: unknown, i) => {
    if (!isObject(entry) || typeof entry['containerID'] !== 'string' || typeof entry['ifname'] !== 'string') {
      throw bad(`${field}[${i}]`, 'must be an object with string containerID and ifname');
    }
    return { containerId: entry['containerID'], ifName: entry['ifname'] };
  });
}

const MAX_STATIC_IPS = 16;

function validateStaticIps(value: unknown): RequestedAddress[] | undefined {
  const field = 'runtimeConfig.ips';
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_STATIC_IPS) throw bad(field, `must be a list of 1 to ${MAX_STATIC_IPS} addresses`);
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string') throw bad(`${field}[${i}]`, 'must be a string');
    const [address = '', length, ...rest] = item.split('/');
    const family = isIP(address);
    const prefixLength = length === undefined ? undefined : Number(length);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || rest.length > 0 || (prefixLength !== undefined && (!/^\d{1,3}$/.test(length ?? '') || prefixLength > max))) {
      throw bad(`${field}[${i}]`, 'must be an IP address, optionally with a prefix length', shown(item));
    }
    if (seen.has(address)) throw bad(`${field}[${i}]`, 'is given twice', shown(item));
    seen.add(address);
    return { address, prefixLength };
  });
}

function validateStaticMac(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) throw bad('runtimeConfig.mac', 'must be a MAC address like 0a:58:0a:01:00:05', shown(value));
  const mac = value.toLowerCase();
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) throw bad('runtimeConfig.mac', 'must be a unicast address', shown(value));
  if (mac === '00:00:00:00:00:00') throw bad('runtimeConfig.mac', 'must not be all zeros');
  return mac;
}

const TOPOLOGIES = ['layer2', 'localnet'] as const;

/** A list of CIDRs, as a JSON list or a comma-separated string (as OVN-Kubernetes NADs write it). */
function cidrList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  const items: unknown[] = typeof value === 'string' ? value.split(',').map((c) => c.trim()).filter((c) => c !== '') : Array.isArray(value) ? value : [];
  if (typeof value !== 'string' && !Array.isArray(value)) throw bad(field, 'must be a list of CIDRs or a comma-separated string');
  if (items.length > 16) throw bad(field, 'at most 16 entries');
  return items.map((item, i) => {
    const [address = '', length = ''] = typeof item === 'string' ? item.split('/') : [];
    const max = isIP(address) === 6 ? 128 : 32;
    if (typeof item !== 'string' || isIP(address) === 0 || !/^\d{1,3}$/.test(length) || Number(length) > max) throw bad(`${field}[${i}]`, 'must be a CIDR like 10.1.0.0/24 or fd00::/64', shown(item));
    return item;
  });
}

/** `gateway`: an address or a list of up to one per family. */
function gatewayList(value: unknown): string[] {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (items === undefined || items.length > 2) throw bad('gateway', 'must be an address or a list of up to two (one IPv4, one IPv6)');
  const out = items.map((item: unknown, i) => {
    if (typeof item !== 'string' || isIP(item) === 0) throw bad(`gateway[${i}]`, 'must be an IP address', shown(item));
    return item;
  });
  if (out.length === 2 && isIP(out[0] ?? '') === isIP(out[1] ?? '')) throw bad('gateway', 'at most one address per family');
  return out;
}

function validateRoutes(value: unknown): ConfigRoute[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 32) throw bad('routes', 'must be a list of up to 32 {"dst": CIDR, "gw"?: address}');
  return value.map((route: unknown, i) => {
    const field = `routes[${i}]`;
    if (!isObject(route)) throw bad(field, 'must be an object with dst and optional gw');
    const { dst, gw } = route;
    const [address = '', length = ''] = typeof dst === 'string' ? dst.split('/') : [];
    const family = isIP(address);
    if (typeof dst !== 'string' || family === 0 || !/^\d{1,3}$/.test(length) || Number(length) > (family === 6 ? 128 : 32)) throw bad(`${field}.dst`, 'must be a CIDR', shown(dst));
    if (gw === undefined) return { dst };
    if (typeof gw !== 'string' || isIP(gw) !== family) throw bad(`${field}.gw`, 'must be an address of the same family as dst', shown(gw));
    return { dst, gw };
  });
}

function validateManaged(raw: Record<string, unknown>): ManagedNetwork | undefined {
  const topology = raw['topology'];
  const localnetKeys = ['physicalNetworkName', 'vlanID'].filter((k) => raw[k] !== undefined);
  if (topology === undefined) {
    for (const key of ['subnets', 'excludeSubnets', 'gateway', ...localnetKeys]) if (raw[key] !== undefined) throw bad(key, 'needs "topology" (layer2 or localnet)');
    return undefined;
  }
  if (typeof topology !== 'string' || !(TOPOLOGIES as readonly string[]).includes(topology)) throw bad('topology', `must be one of ${TOPOLOGIES.join(', ')}`, shown(topology));
  const subnets = cidrList(raw['subnets'], 'subnets');
  for (const family of [4, 6]) {
    if (subnets.filter((c) => isIP(c.split('/')[0] ?? '') === family).length > 1) throw bad('subnets', `at most one IPv${family} subnet`);
  }
  const excludeSubnets = cidrList(raw['excludeSubnets'], 'excludeSubnets');
  if (excludeSubnets.length > 0 && subnets.length === 0) throw bad('excludeSubnets', 'needs subnets');
  let physicalNetworkName: string | undefined;
  let vlanId: number | undefined;
  if (topology === 'localnet') {
    const name = raw['physicalNetworkName'];
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw bad('physicalNetworkName', 'is required for localnet: 1-64 letters, digits, "_", "." or "-"', shown(name));
    physicalNetworkName = name;
    const vlan = raw['vlanID'];
    if (vlan !== undefined && (typeof vlan !== 'number' || !Number.isInteger(vlan) || vlan < 1 || vlan > 4094)) throw bad('vlanID', 'must be an integer from 1 to 4094', shown(vlan));
    vlanId = vlan;
  } else if (localnetKeys.length > 0) {
    throw bad(localnetKeys[0] ?? 'topology', 'only for topology localnet');
  }
  const gateways = gatewayList(raw['gateway']);
  return { topology: topology as ManagedNetwork['topology'], subnets, excludeSubnets, physicalNetworkName, vlanId, gateways };
}

const DHCP_SETTINGS = ['leaseTime', 'dnsServers', 'domainSearch', 'guestAddresses', 'routerAdvertisements'];

function validateDhcp(value: unknown): DhcpConfig | undefined {
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
    dnsServers: list(dnsServers, 'dhcp.dnsServers', (item) => isIP(item) !== 0, 'address'),
    domainSearch: list(domainSearch, 'dhcp.domainSearch', (item) => DOMAIN.test(item), 'domain'),
    guestAddresses: guestAddresses ?? false,
    routerAdvertisements: routerAdvertisements ?? false,
  };
}

/**
 * The `ipam` section when ovn-multinet runs as another plugin's IPAM plugin. A reference plugin
 * (macvlan, ipvlan, bridge, host-device) execs its IPAM plugin with its own environment and the
 * whole network configuration on stdin: the top-level `type` is that plugin's, and `ipam.type`
 * names us. When the top-level `type` is ours, ovn-multinet is the plugin and an `ipam` section is
 * refused (addresses come from the logical switch).
 */
export function ipamSection(raw: Record<string, unknown>): Record<string, unknown> | undefined {
  const ipam = raw['ipam'];
  if (raw['type'] === PLUGIN_TYPE || !isObject(ipam) || ipam['type'] !== PLUGIN_TYPE) return undefined;
  return ipam;
}

/** Settings of the plugin that make no sense for addresses alone: refused rather than ignored. */
const NOT_IN_IPAM = ['mtu', 'portSecurity', 'dhcp', 'allowPersistentIPs'];

/**
 * Runs `parse` over the ipam section's settings: the validators name fields as the plugin's
 * config has them, so their errors get the section's name in front (once, here).
 */
function inIpamSection<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new InvalidConfigError(`ipam.${err.message}`, { details: err.details, field: err.field === undefined ? undefined : `ipam.${err.field}`, cause: err.cause });
    throw err;
  }
}

function validateDns(value: unknown): ResultDns {
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
  if (domain !== undefined && (typeof domain !== 'string' || !DOMAIN.test(domain))) throw bad('dns.domain', 'must be a domain name', shown(domain));
  const nameservers = strings('nameservers', (item) => isIP(item) !== 0, 'IP addresses');
  const search = strings('search', (item) => DOMAIN.test(item), 'domain names');
  const options = strings('options', (item) => item !== '' && item.length <= 255 && !/[\s\0]/.test(item), 'resolver options');
  return {
    ...(nameservers === undefined ? {} : { nameservers }),
    ...(domain === undefined ? {} : { domain }),
    ...(search === undefined ? {} : { search }),
    ...(options === undefined ? {} : { options }),
  };
}

/** What both modes read first from the top level of the config. */
function header(raw: Record<string, unknown>): Pick<NetConf, 'cniVersion' | 'name' | 'type'> {
  const cniVersion = requestedVersion(raw);
  const name = validateName(raw['name']);
  const type = optionalString(raw, 'type');
  if (type === undefined || type === '') throw bad('type', 'is required');
  return { cniVersion, name, type };
}

function validatePrevResult(value: unknown): Result | undefined {
  if (value === undefined) return undefined;
  const prevResult = parseResult(value);
  if (prevResult === undefined) throw bad('prevResult', 'is not a CNI result');
  return prevResult;
}

function validateRuntimeConfig(value: unknown): Record<string, unknown> | undefined {
  if (value !== undefined && !isObject(value)) throw bad('runtimeConfig', 'must be an object');
  return value;
}

/**
 * IPAM mode: the network is chosen by the same settings as the plugin's (`logicalSwitch`, or a
 * managed network's `topology`, `subnets`, ...), read from the ipam section; `socket` too (the
 * executable reads it there). Static addresses come from the top-level runtimeConfig.ips (the
 * `ips` capability), which the calling plugin passes on untouched.
 */
function parseIpamConfig(raw: Record<string, unknown>, ipam: Record<string, unknown>): NetConf {
  const top = header(raw);
  const prevResult = validatePrevResult(raw['prevResult']);
  const runtimeConfig = validateRuntimeConfig(raw['runtimeConfig']);
  const settings = inIpamSection(() => {
    for (const key of NOT_IN_IPAM) if (ipam[key] !== undefined) throw bad(key, `is a setting of the ovn-multinet plugin, not of its IPAM (the ${shown(top.type)} plugin makes the interface)`);
    return {
      logicalSwitch: validateLogicalSwitch(optionalString(ipam, 'logicalSwitch'), top.name),
      socket: validateSocket(optionalString(ipam, 'socket')),
      managed: validateManaged(ipam),
      routes: validateRoutes(ipam['routes']),
      dns: validateDns(ipam['dns']),
    };
  });
  return {
    mode: 'ipam',
    ...top,
    prevResult,
    validAttachments: validateValidAttachments(raw['cni.dev/valid-attachments']),
    ...settings,
    mtu: undefined,
    portSecurity: false,
    staticIps: validateStaticIps(runtimeConfig?.['ips']),
    // The calling plugin owns the interface and its MAC (runtimeConfig.mac is its business).
    staticMac: undefined,
    allowPersistentIPs: false,
    dhcp: undefined,
  };
}

/** Validates a decoded config; in plugin mode `ipam` is refused because addresses come from the OVN switch. */
export function parseConfig(raw: Record<string, unknown>): NetConf {
  const ipam = ipamSection(raw);
  if (ipam !== undefined) return parseIpamConfig(raw, ipam);
  const top = header(raw);
  if (raw['ipam'] !== undefined) {
    throw new UnsupportedFieldError('ipam: not supported, addresses come from the OVN logical switch', { details: 'remove the "ipam" section', field: 'ipam' });
  }
  const portSecurity = raw['portSecurity'];
  if (portSecurity !== undefined && typeof portSecurity !== 'boolean') throw bad('portSecurity', 'must be a boolean');
  const prevResult = validatePrevResult(raw['prevResult']);
  const runtimeConfig = validateRuntimeConfig(raw['runtimeConfig']);
  const allowPersistentIPs = raw['allowPersistentIPs'];
  if (allowPersistentIPs !== undefined && typeof allowPersistentIPs !== 'boolean') throw bad('allowPersistentIPs', 'must be a boolean', shown(allowPersistentIPs));
  return {
    mode: 'attach',
    ...top,
    logicalSwitch: validateLogicalSwitch(optionalString(raw, 'logicalSwitch'), top.name),
    socket: validateSocket(optionalString(raw, 'socket')),
    mtu: validateMtu(raw['mtu']),
    portSecurity: portSecurity ?? true,
    prevResult,
    validAttachments: validateValidAttachments(raw['cni.dev/valid-attachments']),
    staticIps: validateStaticIps(runtimeConfig?.['ips']),
    staticMac: validateStaticMac(runtimeConfig?.['mac']),
    managed: validateManaged(raw),
    routes: validateRoutes(raw['routes']),
    allowPersistentIPs: allowPersistentIPs ?? false,
    dhcp: validateDhcp(raw['dhcp']),
    dns: {},
  };
}
