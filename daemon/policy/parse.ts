/**
 * A MultiNetworkPolicy object (k8s.cni.cncf.io v1beta1/v1beta2, the NetworkPolicy spec) → Policy,
 * validated as the API server validates a NetworkPolicy (apimachinery's ValidateNetworkPolicySpec),
 * so what the plan receives is well-formed. Every error is a PolicySpecError naming the field.
 *
 * `k8s.v1.cni.cncf.io/policy-for` is a comma-separated list of NetworkAttachmentDefinitions,
 * `namespace/name` or a bare `name`, which is in the policy's own namespace (not "default", not
 * the pod's). Absent or empty: the policy names no network and is left alone.
 */
import { isObject } from '../cni-spec/json.ts';
import { LabelSelectorError, PolicySpecError } from '../errors.ts';
import { parseLabelSelector, type LabelSelector } from '../k8s/labels.ts';
import { isDnsLabel, isDnsSubdomain } from '../k8s/names.ts';
import { canonicalCidr } from './match.ts';
import { isPolicyProtocol, POLICY_PROTOCOLS, type IpBlock, type NadRef, type Policy, type PolicyDirection, type PolicyPeer, type PolicyPort, type PolicyRule } from './model.ts';

export const POLICY_FOR_ANNOTATION = 'k8s.v1.cni.cncf.io/policy-for';

const DIRECTIONS: Readonly<Record<string, PolicyDirection>> = { Ingress: 'ingress', Egress: 'egress' };

/** IANA_SVC_NAME, as a container port's name: 1-15 of [a-z0-9-], a letter, no hyphen at an end or twice in a row. */
const isPortName = (v: string): boolean => v.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v) && /[a-z]/.test(v) && !v.includes('--');

const fail = (field: string, message: string): never => {
  throw new PolicySpecError(`${field}: ${message}`, { field });
};

/** A list field: absent or null is empty. */
function listOf(raw: unknown, field: string): unknown[] {
  if (raw === undefined || raw === null) return [];
  return Array.isArray(raw) ? raw : fail(field, 'must be a list');
}

function selectorOf(raw: unknown, field: string): LabelSelector | undefined {
  try {
    return parseLabelSelector(raw, field);
  } catch (err) {
    if (err instanceof LabelSelectorError) throw new PolicySpecError(err.message, { cause: err });
    throw err;
  }
}

/** `policy-for`: `ns/nad` or `nad` (in `namespace`), comma-separated; order kept, duplicates dropped. */
export function parsePolicyFor(text: string | undefined, namespace: string): NadRef[] {
  const field = `metadata.annotations[${POLICY_FOR_ANNOTATION}]`;
  const refs = new Map<string, NadRef>();
  for (const item of (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const parts = item.split('/');
    if (parts.length > 2) fail(field, `${JSON.stringify(item)}: must be "namespace/name" or "name"`);
    const [ns, name] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [namespace, item];
    if (!isDnsLabel(ns)) fail(field, `${JSON.stringify(item)}: ${JSON.stringify(ns)} is not a namespace name`);
    if (!isDnsSubdomain(name)) fail(field, `${JSON.stringify(item)}: ${JSON.stringify(name)} is not a NetworkAttachmentDefinition name`);
    refs.set(`${ns}/${name}`, { namespace: ns, name });
  }
  return [...refs.values()];
}

/** As the API server: an exception lies strictly inside its block (both canonical). */
function strictlyInside(inner: string, outer: string): boolean {
  const [address = '', innerLength] = inner.split('/');
  const outerLength = Number(outer.split('/')[1]);
  return Number(innerLength) > outerLength && canonicalCidr(`${address}/${outerLength}`)?.cidr === outer;
}

function parseIpBlock(raw: unknown, field: string): IpBlock {
  if (!isObject(raw)) return fail(field, 'must be an object');
  const cidrText = raw['cidr'];
  if (typeof cidrText !== 'string') return fail(`${field}.cidr`, 'required, a CIDR');
  const block = canonicalCidr(cidrText);
  if (block === undefined) return fail(`${field}.cidr`, `${JSON.stringify(cidrText)} is not a CIDR`);
  const except = listOf(raw['except'], `${field}.except`).map((e, i) => {
    const at = `${field}.except[${i}]`;
    if (typeof e !== 'string') return fail(at, 'must be a CIDR');
    const inner = canonicalCidr(e);
    if (inner === undefined) return fail(at, `${JSON.stringify(e)} is not a CIDR`);
    if (inner.family !== block.family) return fail(at, `${e} is not of the family of cidr ${cidrText}`);
    if (!strictlyInside(inner.cidr, block.cidr)) return fail(at, `${e} must be strictly within cidr ${cidrText}`);
    return inner.cidr;
  });
  return { cidr: block.cidr, except };
}

function parsePeer(raw: unknown, field: string): PolicyPeer {
  if (!isObject(raw)) return fail(field, 'must be an object');
  const podSelector = selectorOf(raw['podSelector'], `${field}.podSelector`);
  const namespaceSelector = selectorOf(raw['namespaceSelector'], `${field}.namespaceSelector`);
  const ipBlock = raw['ipBlock'];
  if (ipBlock !== undefined && ipBlock !== null) {
    if (podSelector !== undefined || namespaceSelector !== undefined) fail(field, 'ipBlock cannot be combined with podSelector or namespaceSelector');
    return { kind: 'ipBlock', ipBlock: parseIpBlock(ipBlock, `${field}.ipBlock`) };
  }
  if (podSelector !== undefined && namespaceSelector !== undefined) return { kind: 'pods-in-namespaces', podSelector, namespaceSelector };
  if (podSelector !== undefined) return { kind: 'pods', podSelector };
  if (namespaceSelector !== undefined) return { kind: 'namespaces', namespaceSelector };
  return fail(field, 'must set one of podSelector, namespaceSelector or ipBlock');
}

function portNumber(raw: unknown, field: string): number {
  return typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 65535 ? raw : fail(field, 'must be a port number 1-65535');
}

function parsePort(raw: unknown, field: string): PolicyPort {
  if (!isObject(raw)) return fail(field, 'must be an object');
  const protocol = raw['protocol'] ?? 'TCP';
  if (!isPolicyProtocol(protocol)) return fail(`${field}.protocol`, `must be one of ${POLICY_PROTOCOLS.join(', ')}`);
  const rawPort = raw['port'] ?? undefined;
  const rawEnd = raw['endPort'] ?? undefined;
  let port: number | string | undefined;
  if (typeof rawPort === 'string' && !/^\d+$/.test(rawPort)) {
    if (!isPortName(rawPort)) fail(`${field}.port`, `${JSON.stringify(rawPort)} is not a port name (IANA_SVC_NAME)`);
    port = rawPort;
  } else if (rawPort !== undefined) {
    // int-or-string: "8080" is a number written as a string.
    port = portNumber(typeof rawPort === 'string' ? Number(rawPort) : rawPort, `${field}.port`);
  }
  let endPort: number | undefined;
  if (rawEnd !== undefined) {
    if (typeof port !== 'number') fail(`${field}.endPort`, 'needs a numeric port');
    endPort = portNumber(rawEnd, `${field}.endPort`);
    if (typeof port === 'number' && endPort < port) fail(`${field}.endPort`, `must not be less than port ${port}`);
  }
  return { protocol, port, endPort };
}

function parseRule(raw: unknown, field: string, peersKey: 'from' | 'to'): PolicyRule {
  if (!isObject(raw)) return fail(field, 'must be an object');
  const peers = listOf(raw[peersKey], `${field}.${peersKey}`).map((p, i) => parsePeer(p, `${field}.${peersKey}[${i}]`));
  const ports = listOf(raw['ports'], `${field}.ports`).map((p, i) => parsePort(p, `${field}.ports[${i}]`));
  return { peers: peers.length === 0 ? 'any' : peers, ports: ports.length === 0 ? 'any' : ports };
}

/** Sorted (egress before ingress), without duplicates. */
function parsePolicyTypes(raw: unknown, hasEgress: boolean): PolicyDirection[] {
  const types = listOf(raw, 'spec.policyTypes').map((v, i) => {
    const direction = typeof v === 'string' ? DIRECTIONS[v] : undefined;
    return direction ?? fail(`spec.policyTypes[${i}]`, 'must be Ingress or Egress');
  });
  // Absent or empty: Ingress, and Egress when there are egress rules.
  if (types.length === 0) return hasEgress ? ['egress', 'ingress'] : ['ingress'];
  return [...new Set(types)].sort();
}

/** Throws PolicySpecError naming the field. */
export function parsePolicy(raw: unknown): Policy {
  if (!isObject(raw) || !isObject(raw['metadata'])) return fail('metadata', 'required');
  const meta = raw['metadata'];
  const { namespace, name, uid, generation } = meta;
  if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return fail('metadata', 'namespace, name and uid are required');
  const annotations = isObject(meta['annotations']) ? meta['annotations'] : {};
  const policyFor = annotations[POLICY_FOR_ANNOTATION];
  const spec = raw['spec'];
  if (!isObject(spec)) return fail('spec', 'required');
  const podSelector = selectorOf(spec['podSelector'], 'spec.podSelector') ?? fail('spec.podSelector', 'required ({} selects every pod of the namespace)');
  const ingress = listOf(spec['ingress'], 'spec.ingress').map((r, i) => parseRule(r, `spec.ingress[${i}]`, 'from'));
  const egress = listOf(spec['egress'], 'spec.egress').map((r, i) => parseRule(r, `spec.egress[${i}]`, 'to'));
  return {
    namespace,
    name,
    uid,
    generation: typeof generation === 'number' ? generation : 0,
    networks: parsePolicyFor(typeof policyFor === 'string' ? policyFor : undefined, namespace),
    podSelector,
    policyTypes: parsePolicyTypes(spec['policyTypes'], egress.length > 0),
    ingress,
    egress,
  };
}
