/**
 * Names derived from an attachment's identity (container ID + interface name), so that ADD, a
 * retried ADD and DEL all find the same objects without any stored state.
 */
import { createHash } from 'node:crypto';

function attachmentHash(containerId: string, ifName: string): string {
  return createHash('sha256').update(`${containerId}/${ifName}`).digest('hex');
}

/** Host end of the veth: `omn` + 12 hex characters = 15, the kernel's limit. */
export function hostVethName(containerId: string, ifName: string): string {
  return `omn${attachmentHash(containerId, ifName).slice(0, 12)}`;
}

/** Logical switch port name (also the OVS iface-id): shares its first 12 hex characters with the veth. */
export function logicalPortName(containerId: string, ifName: string): string {
  return `omn-${attachmentHash(containerId, ifName).slice(0, 24)}`;
}

export const HOST_VETH_PREFIX = 'omn';

/** Whether a link's name has hostVethName()'s form (the prefix, then 12 hex characters). */
export function isHostVethName(name: string): boolean {
  return name.startsWith(HOST_VETH_PREFIX) && /^[0-9a-f]{12}$/.test(name.slice(HOST_VETH_PREFIX.length));
}
