/**
 * The network configuration on stdin, the user-facing contract: a decoded config validated once
 * into a typed NetConf, in either mode; every error names the field.
 */
import { shown } from '../cni-spec/errors.ts';
import { UnsupportedFieldError } from '../errors.ts';
import type { Result, ResultDns } from '../cni-spec/result.ts';
import type { CniVersion } from '../cni-spec/version.ts';
import { bad } from './bad.ts';
import { validateBandwidth, type Bandwidth } from './bandwidth.ts';
import { validateDhcp, type DhcpConfig } from './dhcp.ts';
import { header, optionalString, requestedVersion, validateLogicalSwitch, validateMtu, validatePrevResult, validateRuntimeConfig, validateSocket, validateValidAttachments, type Attachment } from './fields.ts';
import { ipamSection, ipamSettings } from './ipam-mode.ts';
import { validateManaged, type ManagedNetwork } from './managed.ts';
import { validateArgsRoutes, validateRoutes, type ConfigRoute } from './routes.ts';
import { validateStaticIps, validateStaticMac, type RequestedAddress } from './static.ts';

/**
 * `attach`: ovn-multinet is the plugin (veth, logical switch port, port security).
 * `ipam`: another plugin (macvlan, ipvlan, bridge, host-device) execs ovn-multinet as its IPAM
 * plugin (see ipam-mode.ts): only addresses, recorded in the NB, and an IPAM result.
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
  /** runtimeConfig.bandwidth (CNI capability `bandwidth`): OVN QoS on the port. */
  bandwidth: Bandwidth | undefined;
  /** A network ovn-multinet creates (layer2, localnet) rather than a switch that must exist. */
  managed: ManagedNetwork | undefined;
  /** Routes added in the pod through this interface, and reported in the result. */
  routes: ConfigRoute[];
  /** `args.cni.routes`: the pod's own routes (a network-selection element's `cni-args`, as Multus passes them). */
  argsRoutes: ConfigRoute[] | undefined;
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

/**
 * IPAM mode: the network settings come from the ipam section. Static addresses come from the
 * top-level runtimeConfig.ips (the `ips` capability), which the calling plugin passes on untouched.
 */
function parseIpamConfig(raw: Record<string, unknown>, ipam: Record<string, unknown>, cniVersion: CniVersion): NetConf {
  const top = header(raw, cniVersion);
  const prevResult = validatePrevResult(raw['prevResult']);
  const runtimeConfig = validateRuntimeConfig(raw['runtimeConfig']);
  const settings = ipamSettings(ipam, top.name, top.type);
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
    argsRoutes: undefined,
    // The calling plugin owns the interface: shaping it is its business (or a chained plugin's).
    bandwidth: undefined,
    allowPersistentIPs: false,
    dhcp: undefined,
  };
}

/**
 * Validates a decoded config, in the version already negotiated for it when the caller has one
 * (else negotiated here, first); in plugin mode `ipam` is refused because addresses come from the
 * OVN switch.
 */
export function parseConfig(raw: Record<string, unknown>, cniVersion: CniVersion = requestedVersion(raw)): NetConf {
  const ipam = ipamSection(raw);
  if (ipam !== undefined) return parseIpamConfig(raw, ipam, cniVersion);
  const top = header(raw, cniVersion);
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
    bandwidth: validateBandwidth(runtimeConfig?.['bandwidth']),
    managed: validateManaged(raw),
    routes: validateRoutes(raw['routes']),
    argsRoutes: validateArgsRoutes(raw['args']),
    allowPersistentIPs: allowPersistentIPs ?? false,
    dhcp: validateDhcp(raw['dhcp']),
    dns: {},
  };
}
