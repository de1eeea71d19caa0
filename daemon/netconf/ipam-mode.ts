/**
 * The `ipam` section when ovn-multinet runs as another plugin's IPAM plugin. A reference plugin
 * (macvlan, ipvlan, bridge, host-device) execs its IPAM plugin with its own environment and the
 * whole network configuration on stdin: the top-level `type` is that plugin's, and `ipam.type`
 * names us. When the top-level `type` is ours, ovn-multinet is the plugin and an `ipam` section is
 * refused (addresses come from the logical switch).
 */
import { shown } from '../cni-spec/errors.ts';
import { InvalidConfigError } from '../errors.ts';
import { isObject } from '../cni-spec/json.ts';
import type { ResultDns } from '../cni-spec/result.ts';
import { bad } from './bad.ts';
import { validateDns } from './dns.ts';
import { PLUGIN_TYPE, optionalString, validateLogicalSwitch, validateSocket } from './fields.ts';
import { validateManaged, type ManagedNetwork } from './managed.ts';
import { validateRoutes, type ConfigRoute } from './routes.ts';

/** Settings of the plugin that make no sense for addresses alone: refused rather than ignored. */
const NOT_IN_IPAM = ['mtu', 'portSecurity', 'dhcp', 'allowPersistentIPs'];

/** The section that makes a config IPAM mode, or undefined when ovn-multinet is the plugin. */
export function ipamSection(raw: Record<string, unknown>): Record<string, unknown> | undefined {
  const ipam = raw['ipam'];
  if (raw['type'] === PLUGIN_TYPE || !isObject(ipam) || ipam['type'] !== PLUGIN_TYPE) return undefined;
  return ipam;
}

/** What the ipam section chooses: the network (as the plugin's settings do), the socket, routes, DNS. */
interface IpamSectionSettings {
  logicalSwitch: string;
  socket: string;
  managed: ManagedNetwork | undefined;
  routes: ConfigRoute[];
  dns: ResultDns;
}

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

/**
 * The network is chosen by the same settings as the plugin's (`logicalSwitch`, or a managed
 * network's `topology`, `subnets`, ...), read from the ipam section; `socket` too (the
 * executable reads it there). `callerType` is the plugin that execs us, named in errors.
 */
export function ipamSettings(ipam: Record<string, unknown>, name: string, callerType: string): IpamSectionSettings {
  return inIpamSection(() => {
    for (const key of NOT_IN_IPAM) if (ipam[key] !== undefined) throw bad(key, `is a setting of the ovn-multinet plugin, not of its IPAM (the ${shown(callerType)} plugin makes the interface)`);
    // A layer3 pod needs its node's gateway and the route to the cluster subnets on its own interface.
    if (ipam['topology'] === 'layer3') throw bad('topology', 'layer3 is for the ovn-multinet plugin only, not as another plugin\'s IPAM');
    return {
      logicalSwitch: validateLogicalSwitch(optionalString(ipam, 'logicalSwitch'), name),
      socket: validateSocket(optionalString(ipam, 'socket')),
      managed: validateManaged(ipam),
      routes: validateRoutes(ipam['routes']),
      dns: validateDns(ipam['dns']),
    };
  });
}
