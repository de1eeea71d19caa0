/**
 * Which logical switch a pod may reach, and with what, decided by the admin's Network objects
 * (pure; the cache in networks.ts feeds it, as controller/plan.ts beside sync.ts):
 * - A Network covers the switch its definition names (definition.ts): spec.logicalSwitch, or
 *   spec.config's logicalSwitch (default: the Network's name). Several may cover one switch.
 * - It admits the namespaces its namespaceSelector selects ({} every one; absent or invalid none).
 *   A NamespacedNetwork (namespaced.ts) covers its derived switch and admits its own namespace alone.
 * - A config reaches switch S for a pod of namespace N only through a Network that covers S and
 *   admits N, and only with what such a Network gives: a managed definition (topology, subnets,
 *   excludeSubnets, gateway, physicalNetworkName, vlanID, hostSubnetLength(V6)) equal to the Network's, field by field;
 *   `portSecurity: false` only when the Network's config has it; `dhcp` only equal to the
 *   Network's. Anything else in the config (mtu, routes, static requests...) concerns the pod
 *   alone. Any one covering, admitting Network that gives everything grants the ADD.
 */
import { shown } from '../cni-spec/errors.ts';
import { fieldOf, type NetConf } from '../netconf/parse.ts';
import type { DhcpConfig } from '../netconf/dhcp.ts';
import { networkDefinition } from '../ovn/managed.ts';
import { selectorMatches, type LabelSelector } from './labels.ts';
import { LabelSelectorError, NetworkAccessDeniedError, NetworkDefinitionError } from '../errors.ts';

/** A managed network's definition in the stable form the switch records (ovn/managed.ts). */
type CanonicalDefinition = ReturnType<typeof networkDefinition>['definition'];

/** The fields of a managed definition, in the order a refusal names the first that differs. */
const DEFINITION_FIELDS = ['topology', 'subnets', 'excludeSubnets', 'gateway', 'physicalNetworkName', 'vlanID', 'hostSubnetLength', 'hostSubnetLengthV6'] as const satisfies ReadonlyArray<keyof CanonicalDefinition>;
const DHCP_FIELDS = ['leaseTime', 'dnsServers', 'domainSearch', 'guestAddresses', 'routerAdvertisements'] as const satisfies ReadonlyArray<keyof DhcpConfig>;

/** What a Network gives to the namespaces it admits, read once from its parsed config. */
export interface Grant {
  switchName: string;
  /** Its managed network's definition; undefined for spec.logicalSwitch (an existing switch). */
  definition: CanonicalDefinition | undefined;
  portSecurity: boolean;
  dhcp: DhcpConfig | undefined;
}

/** A Network that covers a switch, as the decision needs it. */
export interface CoveringNetwork {
  name: string;
  /** A NamespacedNetwork's namespace (namespaced.ts): it admits that namespace alone, whatever its selector says. */
  namespace?: string;
  /** undefined: absent (selects no namespace); an Error: invalid (selects none either). */
  namespaceSelector: LabelSelector | undefined | LabelSelectorError;
  grant: Grant;
}

/** The grant of a Network whose spec definition.ts accepted (its config parsed, definition checked). */
export function grantOf(conf: NetConf): Grant {
  return {
    switchName: conf.logicalSwitch,
    definition: conf.managed === undefined ? undefined : networkDefinition(conf.managed).definition,
    portSecurity: conf.portSecurity,
    dhcp: conf.dhcp,
  };
}

/** How refusals name it: `Network red`, `NamespacedNetwork team-a/red`. */
const covererName = (network: CoveringNetwork): string => (network.namespace === undefined ? `Network ${network.name}` : `NamespacedNetwork ${network.namespace}/${network.name}`);

/** Why `network` does not admit namespace `namespace` with these labels; undefined when it does. */
export function notAdmitted(network: CoveringNetwork, labels: ReadonlyMap<string, string>, namespace?: string): string | undefined {
  if (network.namespace !== undefined) return network.namespace === namespace ? undefined : `it admits its own namespace ${network.namespace} alone`;
  const selector = network.namespaceSelector;
  if (selector instanceof LabelSelectorError) return `its namespaceSelector is invalid (${selector.message})`;
  if (selector === undefined) return 'it has no namespaceSelector (selects no namespace)';
  return selectorMatches(selector, labels) ? undefined : 'its namespaceSelector does not select the namespace';
}

const text = (value: unknown): string => (value === undefined ? 'none' : JSON.stringify(value));

/** The first admin-only setting of `conf` that `grant` does not give: its config key, and why. */
export function firstDifference(conf: NetConf, grant: Grant): { key: string; why: string } | undefined {
  if (conf.managed !== undefined) {
    if (grant.definition === undefined) return { key: 'topology', why: 'it exposes an existing switch (spec.logicalSwitch); a managed definition comes only from a Network\'s spec.config' };
    let mine: CanonicalDefinition;
    try {
      mine = networkDefinition(conf.managed).definition;
    } catch (err) {
      if (err instanceof NetworkDefinitionError) return { key: err.field, why: `this config's definition is invalid (${err.message}); the Network's is ${JSON.stringify(grant.definition)}` };
      throw err;
    }
    for (const key of DEFINITION_FIELDS) {
      if (text(mine[key]) !== text(grant.definition[key])) return { key, why: `the Network has ${text(grant.definition[key])}, this config ${text(mine[key])}` };
    }
  }
  if (conf.mode === 'attach' && !conf.portSecurity && grant.portSecurity) return { key: 'portSecurity', why: 'the Network keeps port security on' };
  if (conf.dhcp !== undefined) {
    if (grant.dhcp === undefined) return { key: 'dhcp', why: 'the Network gives no DHCP' };
    for (const key of DHCP_FIELDS) {
      if (text(conf.dhcp[key]) !== text(grant.dhcp[key])) return { key: `dhcp.${key}`, why: `the Network has ${text(grant.dhcp[key])}, this config ${text(conf.dhcp[key])}` };
    }
  }
  return undefined;
}

export interface AccessRequest {
  conf: NetConf;
  /** The pod's namespace (K8S_POD_NAMESPACE) and its labels. */
  namespace: string;
  labels: ReadonlyMap<string, string>;
}

/**
 * Throws NetworkAccessDeniedError (naming the field, the switch, the namespace; the Networks
 * considered in `details`) unless one of `covering`, the Networks that cover the config's switch,
 * admits the namespace and gives every admin-only setting the config has.
 */
export function checkAccess(request: AccessRequest, covering: readonly CoveringNetwork[]): void {
  const { conf, namespace, labels } = request;
  const switchField = fieldOf(conf, 'logicalSwitch');
  const target = `namespace ${namespace} on logical switch ${shown(conf.logicalSwitch)}`;
  const sorted = [...covering].sort((a, b) => a.name.localeCompare(b.name));
  if (sorted.length === 0) {
    throw new NetworkAccessDeniedError(`${switchField}: no Network admits ${target}`, { field: switchField, details: 'no Network covers the switch (spec.logicalSwitch, or spec.config naming it): in a cluster only an admin\'s Network grants access' });
  }
  const admitting = sorted.filter((network) => notAdmitted(network, labels, namespace) === undefined);
  if (admitting.length === 0) {
    const why = sorted.map((network) => `${covererName(network)}: ${notAdmitted(network, labels, namespace) ?? ''}`);
    throw new NetworkAccessDeniedError(`${switchField}: no Network admits ${target}`, { field: switchField, details: `${why.join('; ')}; namespace labels: ${JSON.stringify(Object.fromEntries(labels))}` });
  }
  const differences: Array<{ network: string; key: string; why: string }> = [];
  for (const network of admitting) {
    const difference = firstDifference(conf, network.grant);
    if (difference === undefined) return;
    differences.push({ network: covererName(network), ...difference });
  }
  const first = differences[0];
  const field = fieldOf(conf, first?.key ?? 'logicalSwitch');
  throw new NetworkAccessDeniedError(`${field}: not given to ${target} by any Network admitting it (only a Network sets it)`, {
    field,
    details: differences.map((d) => `${d.network}: ${fieldOf(conf, d.key)}: ${d.why}`).join('; '),
  });
}
