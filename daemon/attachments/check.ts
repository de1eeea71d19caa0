/**
 * CNI CHECK: the attachment is still what ADD made: logical switch port with its addresses and
 * port security, OVS port with the right iface-id and ovn-installed, host veth, and the pod
 * interface with its MAC, addresses, routes and link up (and the prevResult's addresses, when given).
 */
import { CheckFailedError } from '../errors.ts';
import type { NetConf } from '../netconf/parse.ts';
import type { ContainerId, IfName, NetnsPath } from '../cni-spec/env.ts';
import { hostVethName, logicalPortName } from '../cni-spec/names.ts';
import { findLink } from '../netlink/link.ts';
import { inspectPodInterface, inspectPodRoutes } from '../netlink/pod.ts';
import { findAttachmentPort, portEntry } from '../ovn/ports.ts';
import { findSwitch, switchOfPort } from '../ovn/switches.ts';
import { parsePortAddresses } from '../ovn/entries.ts';
import { parseIpPrefix } from '../lib/ip.ts';
import { findInterface } from '../ovs/bridge.ts';
import { openPodNetns, ensureConnected, type Attacher } from './context.ts';
import { servedSwitchName } from './network.ts';
import { qosProblems } from '../ovn/qos.ts';
import { podAddressRequest } from '../k8s/requests.ts';
import { missingRoutes, podRoutes, routeRequest } from './pod-routes.ts';

export interface CheckRequest {
  containerId: ContainerId;
  ifName: IfName;
  netns: NetnsPath;
  args: Record<string, string>;
  conf: NetConf;
}

export async function checkAttachment(ctx: Attacher, req: CheckRequest, signal: AbortSignal): Promise<void> {
  await ensureConnected(ctx, ctx.nb, signal);
  await ensureConnected(ctx, ctx.ovs, signal);
  const switchName = servedSwitchName(req.conf, ctx.node);
  await ctx.scope.serve(switchName, signal);
  const problems: string[] = [];
  const lspName = logicalPortName(req.containerId, req.ifName);
  const vethName = hostVethName(req.containerId, req.ifName);

  // Its own port, or the IPAMClaim's port it shares during a live migration (named after the
  // pod that made it): the iface-id names that port.
  const found = findAttachmentPort(ctx.nb, req.containerId, req.ifName);
  const port = found?.port;
  const ifaceId = port?.name ?? lspName;
  let mac: string | undefined;
  let ips: string[] = [];
  if (port === undefined) {
    problems.push(`logical switch port ${lspName} is missing`);
  } else {
    ({ mac, ips } = parsePortAddresses(portEntry(port)));
    const sw = switchOfPort(ctx.nb, port.uuid);
    if (sw === undefined || sw.uuid !== findSwitch(ctx.nb, switchName)?.uuid) problems.push(`logical switch port ${port.name} is not on logical switch ${switchName}`);
    if (req.conf.portSecurity && port.portSecurity.length === 0) problems.push(`logical switch port ${port.name} has no port security`);
    // A live migration's target shares the port, and its owner's limits (docs/bandwidth.md).
    if (sw !== undefined && found?.role === 'owner') problems.push(...qosProblems(ctx.nb, sw.uuid, port.name, req.conf.bandwidth));
  }

  const iface = findInterface(ctx.ovs, vethName);
  if (iface === undefined) problems.push(`OVS interface ${vethName} is missing from ${ctx.bridge}`);
  else {
    if (iface.externalIds.get('iface-id') !== ifaceId) problems.push(`OVS interface ${vethName} has iface-id ${iface.externalIds.get('iface-id') ?? '(none)'}, expected ${ifaceId}`);
    if (iface.externalIds.get('ovn-installed') !== 'true') problems.push(`OVS interface ${vethName} is not bound by ovn-controller (no ovn-installed)`);
    if (iface.error !== undefined && iface.error !== '') problems.push(`OVS interface ${vethName}: ${iface.error}`);
  }

  if ((await findLink(vethName, signal)) === undefined) problems.push(`host veth ${vethName} is missing`);

  // The routes ADD put there (none when a guest behind the interface takes its own by DHCP).
  const element = ctx.pods === undefined ? undefined : await podAddressRequest(ctx.pods, req.args, req.conf.name, req.ifName, signal);
  const routes = req.conf.dhcp?.guestAddresses === true ? [] : podRoutes(req.conf.routes, routeRequest(req.conf, element)).kernel;
  const netns = await openPodNetns(req.netns);
  try {
    const pod = await inspectPodInterface(netns, req.ifName, signal);
    if (pod === undefined) problems.push(`interface ${req.ifName} is missing in ${req.netns}`);
    else {
      if (!pod.up) problems.push(`interface ${req.ifName} is down`);
      if (mac !== undefined && pod.mac !== mac) problems.push(`interface ${req.ifName} has MAC ${pod.mac}, expected ${mac}`);
      for (const ip of ips) if (!pod.addresses.some((a) => a.address === ip)) problems.push(`interface ${req.ifName} lacks address ${ip}`);
      for (const route of missingRoutes(routes, routes.length === 0 ? [] : await inspectPodRoutes(netns, pod.index, signal))) problems.push(`interface ${req.ifName} lacks route ${route}`);
    }
  } finally {
    await netns.close();
  }

  for (const ip of req.conf.prevResult?.ips ?? []) {
    const address = parseIpPrefix(ip.address)?.address;
    if (address === undefined || !ips.includes(address)) problems.push(`prevResult address ${ip.address} is not on logical switch port ${lspName}`);
  }

  if (problems.length > 0) throw new CheckFailedError(`attachment ${req.ifName} is not as ADD made it`, { details: problems.join('; ') });
}
