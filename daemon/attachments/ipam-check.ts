/**
 * CNI CHECK in IPAM mode: the record ADD made still holds the addresses on the network's switch,
 * and the prevResult's addresses are among them. The interface is the calling plugin's to check.
 */
import { CheckFailedError } from '../errors.ts';
import { logicalPortName } from '../cni-spec/names.ts';
import { findAttachmentPort, ipamOnlyIps } from '../ovn/ports.ts';
import { findSwitch, switchOfPort } from '../ovn/switches.ts';
import { parseIpPrefix } from '../lib/ip.ts';
import { ensureConnected, type Attacher } from './context.ts';
import type { CheckRequest } from './check.ts';

export async function checkIpamAttachment(ctx: Attacher, req: CheckRequest, signal: AbortSignal): Promise<void> {
  await ensureConnected(ctx, ctx.nb, signal);
  await ctx.scope.serve(req.conf.logicalSwitch, signal);
  const lspName = logicalPortName(req.containerId, req.ifName);
  const port = findAttachmentPort(ctx.nb, req.containerId, req.ifName)?.port;
  const held = port === undefined ? undefined : ipamOnlyIps(port.externalIds);
  const problems: string[] = [];
  if (port === undefined || held === undefined) {
    problems.push(`no IPAM record ${lspName} for this attachment`);
  } else {
    const sw = switchOfPort(ctx.nb, port.uuid);
    if (sw === undefined || sw.uuid !== findSwitch(ctx.nb, req.conf.logicalSwitch)?.uuid) problems.push(`IPAM record ${lspName} is not on logical switch ${req.conf.logicalSwitch}`);
    for (const ip of req.conf.prevResult?.ips ?? []) {
      const address = parseIpPrefix(ip.address)?.address;
      if (address === undefined || !held.includes(address)) problems.push(`prevResult address ${ip.address} is not held by IPAM record ${lspName}`);
    }
  }
  if (problems.length > 0) throw new CheckFailedError(`IPAM addresses of ${req.ifName} are not as ADD gave them`, { details: problems.join('; ') });
}
