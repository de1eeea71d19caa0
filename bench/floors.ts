/**
 * The floors of an ADD's phases, measured in-process with the daemon's own layers and nothing
 * around them: one NB transaction that creates a logical switch port (no address choice, no
 * guard), and the kernel's share of the pod's interface (veth pair made into the pod netns, pod
 * end configured, pair destroyed — the daemon's netlink layer, no OVS, no OVN). Together with the
 * executable's start (VERSION) and OVN's binding time (from the database logs), they say how
 * much of an ADD is the daemon's own work.
 */
import { randomBytes } from 'node:crypto';
import { OvsdbClient } from '../daemon/ovsdb/client.ts';
import { eq, insert, mutate, mutation } from '../daemon/ovsdb/ops.ts';
import { namedUuid } from '../daemon/ovsdb/notation.ts';
import { NB_MONITOR } from '../daemon/ovn/nb.ts';
import { deletePortOps } from '../daemon/ovn/ports.ts';
import { openNetns } from '../daemon/netlink/netns.ts';
import { createVethPair } from '../daemon/netlink/veth.ts';
import { configurePodInterface } from '../daemon/netlink/pod.ts';
import { deleteLink } from '../daemon/netlink/link.ts';
import type { Teardown } from '../test/helpers/netns.ts';
import { elapsedMs, stamp } from './clock.ts';
import type { Sample } from './method.ts';
import type { Pod } from './pods.ts';

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

function sample(start: ReturnType<typeof stamp>, ok: boolean, detail: string): Sample {
  const end = stamp();
  return { pod: undefined, ms: elapsedMs(start, end), start, end, ok, detail, steps: [] };
}

export interface NbFloor {
  /** Inserts one logical switch port on the switch (and times it), then deletes it (untimed). */
  commit(): Promise<Sample>;
}

/** A connected NB client as the daemon has one; closed by `cleanup`. */
export async function nbFloor(cleanup: Teardown, remote: string, switchName: string): Promise<NbFloor> {
  const nb = new OvsdbClient({ remotes: [remote], database: 'OVN_Northbound', monitor: NB_MONITOR });
  nb.start();
  cleanup.teardown(() => nb.close());
  await nb.waitConnected(signal());
  const switchUuid = [...nb.cache.table('Logical_Switch')].find(([, row]) => row['name'] === switchName)?.[0];
  if (switchUuid === undefined) throw new Error(`logical switch ${switchName} not in the NB cache`);
  return {
    async commit() {
      const name = `omb-floor-${randomBytes(4).toString('hex')}`;
      const start = stamp();
      try {
        const [result] = await nb.transact(
          [insert('Logical_Switch_Port', { name, addresses: ['dynamic'] }, 'port'), mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('ports', 'insert', [namedUuid('port')])])],
          signal(),
        );
        const done = sample(start, true, '');
        if (result?.uuid !== undefined) await nb.transact(deletePortOps(switchUuid, { uuid: result.uuid, name }), signal());
        return done;
      } catch (err) {
        return sample(start, false, `NB transaction: ${String(err)}`);
      }
    },
  };
}

/** Makes the pod's veth pair and configures its end as a fresh ADD does, then destroys it (untimed). */
export async function kernelFloor(pod: Pod): Promise<Sample> {
  const netns = await openNetns(pod.netns.path);
  const hostName = `ombf${randomBytes(5).toString('hex')}`;
  const start = stamp();
  try {
    const pair = await createVethPair({ hostName, podName: pod.ifName, podNetns: netns, mtu: 1400, signal: signal() });
    await configurePodInterface({
      podNetns: netns,
      podName: pod.ifName,
      podIndex: pair.podIndex,
      mac: '0a:58:0a:62:ff:01',
      addresses: [{ address: '10.98.255.1', prefixLength: 16 }],
      routes: [],
      disableTxChecksum: true,
      signal: signal(),
    });
    const done = sample(start, true, '');
    await deleteLink(hostName, signal());
    return done;
  } catch (err) {
    return sample(start, false, `veth + pod end: ${String(err)}`);
  } finally {
    await netns.close();
  }
}
