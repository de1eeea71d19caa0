/**
 * The pod annotation `k8s.v1.cni.cncf.io/networks` (Multus, NPWG "Kubernetes Network Custom
 * Resource Definition De-facto Standard" v1.2, §4.1.2): either a comma-separated list of
 * `[namespace/]name[@interface]` or a JSON list of network-selection elements. Pure: parses the
 * value once into typed elements and picks the one a CNI call is for.
 */
import type { RequestedAddress } from '../netconf/static.ts';
import { validatePodRoutes, type ConfigRoute } from '../netconf/routes.ts';
import { isObject } from '../cni-spec/json.ts';
import { familyOf, macRefusal, parseIpPrefix } from '../lib/ip.ts';
import { isDnsLabel, isDnsSubdomain } from './names.ts';
import { NetworkSelectionError } from '../errors.ts';

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
/** Multus's annotation of what each network gave the pod. */
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';

/** One network-selection element, as far as ovn-multinet uses it. */
export interface NetworkSelection {
  /** The NetworkAttachmentDefinition's name. */
  name: string;
  /** Its namespace: the element's, else the pod's. */
  namespace: string;
  /** The interface name asked for, if any (Multus uses net1, net2... by position otherwise). */
  interface: string | undefined;
  ips: RequestedAddress[] | undefined;
  mac: string | undefined;
  ipamClaimReference: string | undefined;
  /** `default-route`: the gateways of the pod's default routes, at most one per family; an empty list is none. */
  defaultRoute: string[] | undefined;
  /** `cni-args.routes` (what Multus passes on as the config's `args.cni`). */
  routes: ConfigRoute[] | undefined;
}

/** Kubernetes object names (DNS-1123 subdomain) and namespaces (DNS-1123 label). */
/** The kernel's limit (IFNAMSIZ - 1) and the characters it refuses. */
const IFNAME = /^[^\s/:]{1,15}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const MAX_ELEMENTS = 64;
const MAX_IPS = 16;
const MAX_ANNOTATION = 64 * 1024;


function checkName(path: string, value: string): string {
  if (!isDnsSubdomain(value)) throw new NetworkSelectionError(path, `${JSON.stringify(value)} is not a valid object name`);
  return value;
}

function checkNamespace(path: string, value: string): string {
  if (!isDnsLabel(value)) throw new NetworkSelectionError(path, `${JSON.stringify(value)} is not a valid namespace`);
  return value;
}

function checkInterface(path: string, value: string): string {
  if (!IFNAME.test(value) || value === '.' || value === '..') throw new NetworkSelectionError(path, `${JSON.stringify(value)} is not a valid interface name`);
  return value;
}

function optionalString(element: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = element[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new NetworkSelectionError(`${path}.${key}`, 'must be a string');
  return v;
}

/** An address with an optional prefix length, as runtimeConfig.ips takes them. */
function parseIps(value: unknown, path: string): RequestedAddress[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_IPS) throw new NetworkSelectionError(path, `must be a list of 1 to ${MAX_IPS} addresses`);
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof item !== 'string') throw new NetworkSelectionError(at, 'must be a string');
    const parsed = parseIpPrefix(item);
    if (parsed === undefined) throw new NetworkSelectionError(at, `${JSON.stringify(item)} is not an IP address with an optional prefix length`);
    const { address, prefixLength } = parsed;
    if (seen.has(address)) throw new NetworkSelectionError(at, `${address} is given twice`);
    seen.add(address);
    return { address, prefixLength };
  });
}

/** `default-route` (NPWG v1.2 §4.1.2.1.9): a list of gateway addresses, one per family at most. */
function parseDefaultRoute(value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 2) throw new NetworkSelectionError(path, 'must be a list of up to two gateway addresses (one IPv4, one IPv6)');
  const gateways = value.map((item: unknown, i) => {
    if (typeof item !== 'string' || familyOf(item) === undefined) throw new NetworkSelectionError(`${path}[${i}]`, `${JSON.stringify(item)} is not an IP address`);
    return item;
  });
  if (gateways.length === 2 && familyOf(gateways[0] ?? '') === familyOf(gateways[1] ?? '')) throw new NetworkSelectionError(path, 'at most one gateway per family');
  return gateways.length === 0 ? undefined : gateways;
}

/** `cni-args`: an object; its `routes` are ovn-multinet's (the other keys are other plugins'). */
function parseCniArgsRoutes(value: unknown, path: string): ConfigRoute[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new NetworkSelectionError(path, 'must be an object');
  if (value['routes'] === undefined) return undefined;
  return validatePodRoutes(value['routes'], `${path}.routes`, (field, msg, details) => new NetworkSelectionError(field, details === undefined || details === '' ? msg : `${msg} (${details})`));
}

function parseMac(value: string | undefined, path: string): string | undefined {
  if (value === undefined) return undefined;
  const mac = value.toLowerCase();
  const refusal = MAC.test(mac) ? macRefusal(mac) : 'not a MAC address';
  if (refusal !== undefined) throw new NetworkSelectionError(path, `${JSON.stringify(value)} is not a unicast MAC address (${refusal})`);
  return mac;
}

function parseElement(raw: unknown, i: number, podNamespace: string): NetworkSelection {
  const path = `[${i}]`;
  if (!isObject(raw)) throw new NetworkSelectionError(path, 'must be an object');
  const name = optionalString(raw, 'name', path);
  if (name === undefined || name === '') throw new NetworkSelectionError(`${path}.name`, 'is required');
  const namespace = optionalString(raw, 'namespace', path);
  const iface = optionalString(raw, 'interface', path);
  const claim = optionalString(raw, 'ipam-claim-reference', path);
  return {
    name: checkName(`${path}.name`, name),
    namespace: namespace === undefined || namespace === '' ? podNamespace : checkNamespace(`${path}.namespace`, namespace),
    interface: iface === undefined || iface === '' ? undefined : checkInterface(`${path}.interface`, iface),
    ips: parseIps(raw['ips'], `${path}.ips`),
    mac: parseMac(optionalString(raw, 'mac', path), `${path}.mac`),
    ipamClaimReference: claim === undefined || claim === '' ? undefined : checkName(`${path}.ipam-claim-reference`, claim),
    defaultRoute: parseDefaultRoute(raw['default-route'], `${path}.default-route`),
    routes: parseCniArgsRoutes(raw['cni-args'], `${path}.cni-args`),
  };
}

/** `[namespace/]name[@interface]`, as Multus parses each item of the short form. */
function parseShort(item: string, i: number, podNamespace: string): NetworkSelection {
  const path = `[${i}]`;
  const at = item.split('@');
  if (at.length > 2) throw new NetworkSelectionError(path, `${JSON.stringify(item)} has more than one "@"`);
  const [ref = '', iface] = at;
  const slash = ref.split('/');
  if (slash.length > 2) throw new NetworkSelectionError(path, `${JSON.stringify(item)} has more than one "/"`);
  const [namespace, name] = slash.length === 2 ? slash : [undefined, slash[0]];
  if (name === undefined || name === '') throw new NetworkSelectionError(path, `${JSON.stringify(item)} names no network`);
  return {
    name: checkName(`${path}.name`, name),
    namespace: namespace === undefined ? podNamespace : checkNamespace(`${path}.namespace`, namespace),
    interface: iface === undefined ? undefined : checkInterface(`${path}.interface`, iface),
    ips: undefined,
    mac: undefined,
    ipamClaimReference: undefined,
    defaultRoute: undefined,
    routes: undefined,
  };
}

/** Every element of the annotation, in order; throws NetworkSelectionError for anything invalid. */
export function parseNetworkSelections(value: string, podNamespace: string): NetworkSelection[] {
  if (value.length > MAX_ANNOTATION) throw new NetworkSelectionError('value', `longer than ${MAX_ANNOTATION} characters`);
  const trimmed = value.trim();
  if (trimmed === '') return [];
  let elements: NetworkSelection[];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new NetworkSelectionError('value', `not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw new NetworkSelectionError('value', 'must be a JSON list');
    elements = parsed.map((raw: unknown, i) => parseElement(raw, i, podNamespace));
  } else if (trimmed.startsWith('{')) {
    throw new NetworkSelectionError('value', 'must be a JSON list of network-selection elements, not an object');
  } else {
    elements = trimmed.split(',').map((item, i) => parseShort(item.trim(), i, podNamespace));
  }
  if (elements.length > MAX_ELEMENTS) throw new NetworkSelectionError('value', `more than ${MAX_ELEMENTS} elements`);
  return elements;
}

/**
 * The element a CNI call is for: the network `name` (the NAD's name, which is the CNI config's
 * name), and the interface CNI_IFNAME. An element with `interface` matches only that interface;
 * one without gets Multus's name for it, `net<position+1>`. When the network appears once and
 * that does not decide it, its only element is taken. None: the pod asks nothing for this call.
 */
export function selectNetwork(elements: readonly NetworkSelection[], network: string, ifName: string): NetworkSelection | undefined {
  const candidates = elements.map((element, i) => ({ element, implied: `net${i + 1}` })).filter(({ element }) => element.name === network);
  const exact = candidates.find(({ element }) => element.interface === ifName);
  if (exact !== undefined) return exact.element;
  const byPosition = candidates.find(({ element, implied }) => element.interface === undefined && implied === ifName);
  if (byPosition !== undefined) return byPosition.element;
  const unnamed = candidates.filter(({ element }) => element.interface === undefined);
  return candidates.length === 1 && unnamed.length === 1 ? unnamed[0]?.element : undefined;
}
