/**
 * Everything an ADD could make on a node, as sorted lists: logical switches (with their
 * external_ids, so address guards show), logical switch ports, br-int ports, and the links of the
 * node's namespace (host veth ends). Two snapshots around a refused ADD must be equal.
 */
import type { Sandbox } from './sandbox.ts';

const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();

export async function nodeState(sandbox: Sandbox): Promise<Record<string, string[]>> {
  return {
    switches: lines(await sandbox.nbctl(['--bare', '--columns=name,external_ids', 'list', 'Logical_Switch'])),
    ports: lines(await sandbox.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch_Port'])),
    bridge: lines(await sandbox.vsctl(['list-ports', 'br-int'])),
    links: lines(await sandbox.exec(['ls', '/sys/class/net'])),
  };
}
