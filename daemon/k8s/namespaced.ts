/**
 * NamespacedNetwork objects (CRD namespacednetworks.ovn-multinet.io/v1, namespaced,
 * manifests/crd-namespacednetwork.yaml): a namespace owner's own managed network. Its spec is the
 * definition alone (topology, subnets, excludeSubnets, gateway, mtu); its switch is derived from
 * its namespace and name (tenant-switch.ts); it admits its own namespace only. The spec is
 * validated by the plugin's own parser (netconf/parse.ts) and definition check (ovn/managed.ts),
 * as a Network's spec.config is (definition.ts); `localnet` is refused (a physical network is the
 * admin's), and so are subnets that overlap the admin's --tenant-excluded-subnets.
 */
import { PLUGIN_TYPE } from '../netconf/fields.ts';
import { parseConfig, type NetConf } from '../netconf/parse.ts';
import { networkDefinition } from '../ovn/managed.ts';
import { isObject } from '../cni-spec/json.ts';
import { parseSubnet, type Subnet } from '../lib/ip.ts';
import { isDnsLabel } from './names.ts';
import { CAPABILITIES, CNI_VERSION, fromConfigError, isConfigError, type Definition } from './definition.ts';
import { tenantSwitchName } from './tenant-switch.ts';
import { NetworkDefinitionError, NetworkSpecError } from '../errors.ts';

export const NAMESPACED_NETWORK_PLURAL = 'namespacednetworks';
export const NAMESPACED_NETWORK_KIND = 'NamespacedNetwork';
/** On NamespacedNetworks: the controller deletes the switch (once no port is left) before the object goes. */
export const SWITCH_FINALIZER = 'ovn-multinet.io/logical-switch';

/** What a namespace owner may set; everything else in the CNI config is the controller's or the admin's. */
const SPEC_KEYS = ['topology', 'subnets', 'excludeSubnets', 'gateway', 'hostSubnetLength', 'hostSubnetLengthV6', 'mtu'];

const overlaps = (a: Subnet, b: Subnet): boolean => a.family === b.family && a.network <= b.last && b.network <= a.last;

/** The spec as the NAD's CNI config, parsed and checked; throws NetworkSpecError naming the field. */
export function namespacedDefinitionOf(namespace: string, name: string, spec: Readonly<Record<string, unknown>>): Definition {
  if (!isDnsLabel(name)) throw new NetworkSpecError('metadata.name', 'must be a DNS-1123 label (at most 63 lowercase letters, digits or "-"): it names the logical switch');
  const unknown = Object.keys(spec).find((key) => !SPEC_KEYS.includes(key));
  if (unknown !== undefined) throw new NetworkSpecError(`spec.${unknown}`, `is not a setting of a NamespacedNetwork (${SPEC_KEYS.join(', ')})`);
  if (spec['topology'] === undefined) throw new NetworkSpecError('spec.topology', 'is required');
  if (spec['topology'] === 'localnet') throw new NetworkSpecError('spec.topology', 'localnet reaches a physical network: only a cluster admin\'s Network gives one');
  const cni: Record<string, unknown> = { cniVersion: CNI_VERSION, name, type: PLUGIN_TYPE, capabilities: CAPABILITIES, logicalSwitch: tenantSwitchName(namespace, name), ...spec };
  let conf: NetConf;
  try {
    conf = parseConfig(cni);
  } catch (err) {
    if (isConfigError(err)) throw fromConfigError(err, 'spec.');
    throw err;
  }
  if (conf.managed === undefined) throw new NetworkSpecError('spec.topology', 'is required');
  let managed: string;
  try {
    managed = JSON.stringify(networkDefinition(conf.managed).definition);
  } catch (err) {
    if (err instanceof NetworkDefinitionError) throw new NetworkSpecError(`spec.${err.field}`, err.message.replace(/^[^:]*: /, ''));
    throw err;
  }
  return { switchName: conf.logicalSwitch, managed, config: JSON.stringify(cni), conf };
}

/**
 * The first of the definition's subnets (spec.subnets, as written) that overlaps a subnet the
 * admin keeps from NamespacedNetworks (--tenant-excluded-subnets), as the error to report.
 */
export function excludedSubnet(definition: Definition, excluded: readonly Subnet[]): NetworkSpecError | undefined {
  const subnets = definition.conf.managed?.subnets ?? [];
  for (const [i, cidr] of subnets.entries()) {
    const subnet = parseSubnet(cidr);
    const hit = subnet === undefined ? undefined : excluded.find((ex) => overlaps(subnet, ex));
    if (hit !== undefined) return new NetworkSpecError(`spec.subnets[${i}]`, `${cidr} overlaps ${hit.cidr}, which the cluster admin keeps from NamespacedNetworks (--tenant-excluded-subnets)`);
  }
  return undefined;
}

/** metadata.generation, and whether the status's Accepted condition is True for it (the controller's word). */
export function acceptedNow(raw: Readonly<Record<string, unknown>>): boolean {
  const meta = isObject(raw['metadata']) ? raw['metadata'] : {};
  const status = isObject(raw['status']) ? raw['status'] : {};
  const conditions = Array.isArray(status['conditions']) ? status['conditions'] : [];
  return conditions.some((c: unknown) => isObject(c) && c['type'] === 'Accepted' && c['status'] === 'True' && c['observedGeneration'] === meta['generation']);
}
