/**
 * What the operator commands can see only on the node they run on: the br-int interfaces of the
 * local Open_vSwitch database (their `ovn-installed`, which ovn-controller sets once the port's
 * flows are in, as the daemon's ADD waits for it: ovs/binding.ts) and the host veths in the
 * kernel. Looked at only when --ovs-db is given; attachments of other nodes show `-`.
 */
import { HOST_VETH_PREFIX } from '../cni-spec/names.ts';
import { createLogger } from '../lib/log.ts';
import { listHostLinks } from '../netlink/link.ts';
import { modelClient } from '../ovsdb/client.ts';
import { OvsTable, ovsModel } from '../ovsdb/models/vswitch.ts';
import { OpsFailedError } from '../errors.ts';
import { flagReader } from '../lib/flags.ts';

/** Where the local look happens (the node this runs on), as attachments and inspect take it. */
export interface LocalFlags {
  /** --ovs-db: the local Open_vSwitch database; without it nothing local is looked at. */
  ovsDb: string | undefined;
  /** --node-name: this node, as the daemon here names it. */
  nodeName: string;
}

export function localFlags(flags: Record<string, unknown>): LocalFlags {
  const { optional, str } = flagReader(flags);
  return { ovsDb: optional('ovsDb'), nodeName: str('nodeName') };
}

export interface LocalLook {
  /** The node looked at (--node-name). */
  node: string;
  /** Whether the br-int interface named so carries ovn-installed="true" (no such interface: false). */
  ovnInstalled(ifaceName: string): boolean;
  /** The host veths of ours that exist. */
  veths: ReadonlySet<string>;
}

const LOCAL_OVS_MONITOR = { Interface: ['name', 'external_ids'] } as const;

export async function lookLocally(flags: LocalFlags, timeoutMs: number): Promise<LocalLook | undefined> {
  if (flags.ovsDb === undefined) return undefined;
  const signal = AbortSignal.timeout(timeoutMs);
  const ovs = modelClient(ovsModel, LOCAL_OVS_MONITOR, { remotes: [flags.ovsDb], logger: createLogger('silent') });
  ovs.start();
  const installed = new Set<string>();
  try {
    try {
      await ovs.waitConnected(signal);
    } catch (err) {
      throw new OpsFailedError(`cannot reach the local Open_vSwitch database at ${flags.ovsDb} within ${timeoutMs} ms (--ovs-db, --timeout)`, { cause: err });
    }
    for (const row of ovs.cache.table(OvsTable.Interface).values()) if (row.external_ids.get('ovn-installed') === 'true') installed.add(row.name);
  } finally {
    await ovs.close();
  }
  const veths = new Set(await listHostLinks(HOST_VETH_PREFIX, signal));
  return { node: flags.nodeName, ovnInstalled: (name) => installed.has(name), veths };
}
