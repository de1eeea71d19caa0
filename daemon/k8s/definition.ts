/**
 * A Network's spec as the CNI config its NADs carry. spec.logicalSwitch (an existing switch, with
 * the admin's spec.portSecurity and spec.dhcp) and spec.config (a managed network: the CNI
 * config's keys, topology required) are exclusive. The config is validated by the plugin's own
 * parser (netconf/parse.ts) and, for a managed network, by the daemon's definition check
 * (daemon/ovn/managed.ts), so a Network is accepted exactly when an ADD with its NAD's config
 * would be. The controller writes the config into NADs; the daemon reads the parsed config to
 * decide what a pod may reach and set (k8s/access.ts).
 */
import { PLUGIN_TYPE } from '../netconf/fields.ts';
import { parseConfig, type NetConf } from '../netconf/parse.ts';
import { networkDefinition } from '../ovn/managed.ts';
import { isObject } from '../cni-spec/json.ts';
import { isTenantSwitch, TENANT_SWITCH_PREFIX } from './tenant-switch.ts';
import { IncompatibleVersionError, InvalidConfigError, NetworkDefinitionError, NetworkSpecError, UnsupportedFieldError } from '../errors.ts';

export const CNI_VERSION = '1.0.0';
/** Keys of spec.config the controller sets itself, or that make no sense in a NAD. */
const RESERVED = ['cniVersion', 'cniVersions', 'name', 'type', 'prevResult', 'runtimeConfig', 'cni.dev/valid-attachments'];
/** Multus passes a pod's requested ips/mac only to a NAD that declares these. */
export const CAPABILITIES = { ips: true, mac: true, bandwidth: true };

export interface Definition {
  /** The logical switch the network is. */
  switchName: string;
  /** A managed network: its canonical definition (as the switch's network-definition id). */
  managed: string | undefined;
  /** The NAD's spec.config. */
  config: string;
  /** That config, parsed: what the Network gives (portSecurity, dhcp, the managed definition). */
  conf: NetConf;
}

/** What the config parser throws: the message starts with the config key at fault. */
type ConfigError = IncompatibleVersionError | InvalidConfigError | UnsupportedFieldError;

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof InvalidConfigError || err instanceof UnsupportedFieldError || err instanceof IncompatibleVersionError;
}

export function fromConfigError(err: ConfigError, prefix: string): NetworkSpecError {
  const colon = err.message.indexOf(': ');
  const key = colon > 0 ? err.message.slice(0, colon) : '';
  const rest = colon > 0 ? err.message.slice(colon + 2) : err.message;
  const field = key === 'name' ? 'metadata.name' : key === '' ? prefix.replace(/\.$/, '') : `${prefix}${key}`;
  return new NetworkSpecError(field, err.details === undefined || err.details === '' ? rest : `${rest} (${err.details})`);
}

/** spec.allowPersistentIPs, for either form: VMs' IPAMClaims keep their addresses. */
function persistentIps(spec: Readonly<Record<string, unknown>>): Record<string, boolean> {
  const { allowPersistentIPs } = spec;
  if (allowPersistentIPs === undefined) return {};
  if (typeof allowPersistentIPs !== 'boolean') throw new NetworkSpecError('spec.allowPersistentIPs', 'must be a boolean');
  return { allowPersistentIPs };
}

/**
 * spec.portSecurity and spec.dhcp of the spec.logicalSwitch form: settings only a Network gives
 * (a managed network has them in spec.config). Validated by the config parser, as spec.<key>.
 */
function adminSettings(spec: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['portSecurity', 'dhcp']) if (spec[key] !== undefined) out[key] = spec[key];
  return out;
}

export function definitionOf(name: string, spec: Readonly<Record<string, unknown>>): Definition {
  const { logicalSwitch, config } = spec;
  if (logicalSwitch !== undefined && config !== undefined) throw new NetworkSpecError('spec', 'logicalSwitch (an existing switch) and config (a managed network) are exclusive');
  if (logicalSwitch === undefined && config === undefined) throw new NetworkSpecError('spec', 'needs logicalSwitch (an existing switch) or config (a managed network)');
  let cni: Record<string, unknown>;
  let prefix: string;
  if (logicalSwitch !== undefined) {
    if (typeof logicalSwitch !== 'string') throw new NetworkSpecError('spec.logicalSwitch', 'must be a string');
    cni = { cniVersion: CNI_VERSION, name, type: PLUGIN_TYPE, logicalSwitch, capabilities: CAPABILITIES, ...persistentIps(spec), ...adminSettings(spec) };
    prefix = 'spec.';
  } else {
    if (!isObject(config)) throw new NetworkSpecError('spec.config', 'must be an object');
    const misplaced = Object.keys(adminSettings(spec))[0];
    if (misplaced !== undefined) throw new NetworkSpecError(`spec.${misplaced}`, `goes in spec.config for a managed network (spec.config.${misplaced})`);
    for (const key of RESERVED) if (config[key] !== undefined) throw new NetworkSpecError(`spec.config.${key}`, 'is set by the controller');
    cni = { cniVersion: CNI_VERSION, name, type: PLUGIN_TYPE, capabilities: CAPABILITIES, ...persistentIps(spec), ...config };
    prefix = 'spec.config.';
  }
  let parsed;
  try {
    parsed = parseConfig(cni);
  } catch (err) {
    if (isConfigError(err)) throw fromConfigError(err, prefix);
    throw err;
  }
  if (isTenantSwitch(parsed.logicalSwitch)) {
    throw new NetworkSpecError(`${prefix}logicalSwitch`, `${TENANT_SWITCH_PREFIX} starts the switches of NamespacedNetworks; a Network never covers one`);
  }
  let managed: string | undefined;
  if (config !== undefined) {
    if (parsed.managed === undefined) throw new NetworkSpecError('spec.config.topology', 'is required (layer2, layer3 or localnet); spec.logicalSwitch exposes an existing switch');
    try {
      managed = JSON.stringify(networkDefinition(parsed.managed).definition);
    } catch (err) {
      if (err instanceof NetworkDefinitionError) throw new NetworkSpecError(`spec.config.${err.field}`, err.message.replace(/^[^:]*: /, ''));
      throw err;
    }
  }
  return { switchName: parsed.logicalSwitch, managed, config: JSON.stringify(cni), conf: parsed };
}
