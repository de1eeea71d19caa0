/**
 * The two NB topologies the many-nodes bench measures in one run: a standalone NB that every node
 * connects to, and a 3-member raft cluster with R relays that every node connects to instead (its
 * `--nb-db` lists all relay remotes). Each is filled with K unrelated ports by the bench's own
 * writer, connected to the NB or to the raft leader, which also makes the switches the bench uses.
 */
import { NB_SCHEMA, startOvsdbCluster, startOvsdbServer } from '../test/helpers/ovsdb-server.ts';
import { startOvsdbRelays } from '../test/helpers/ovsdb-relay.ts';
import type { OvsdbClient } from '../daemon/ovsdb/client.ts';
import type { Uuid } from '../daemon/ovsdb/notation.ts';
import type { Teardown } from '../test/helpers/netns.ts';
import { elapsedMs, stamp } from './clock.ts';
import { createSwitches, insertPorts, nbWriter, unrelatedPort } from './nb-fill.ts';
import { serverPid, type ServerPid, type ServerRole } from './nodes-servers.ts';

export type TopologyKind = 'standalone' | 'relays';

/** Switches the unrelated ports are spread over. */
const UNRELATED_SWITCHES = 100;
/** The networks the real daemons and the simulated nodes first use (made empty at setup). */
export const DAEMONS_NETWORK = 'nodes-daemons';
export const SIMULATED_NETWORK = 'nodes-simulated';
const DAEMONS_SUBNET = '10.200.0.0/16';

export interface Topology {
  readonly kind: TopologyKind;
  readonly label: string;
  /** What every node connects to (its --nb-db). */
  readonly clientRemotes: readonly string[];
  /** The bench's writer: its monitor holds switch names only. */
  readonly writer: OvsdbClient;
  readonly servers: readonly ServerPid[];
  /** The roles of `servers`, in the order the report prints them. */
  readonly roles: readonly ServerRole[];
  /** The switch the timed commits go on: an unrelated one, which no node serves. */
  readonly unrelatedSwitch: Uuid;
  /** The switch the simulated nodes serve (the timed commits' second target). */
  readonly simulatedSwitch: Uuid;
  /** Seconds the K ports took to insert. */
  readonly fillSeconds: number;
}

export function topologyLabel(kind: TopologyKind, relays: number): string {
  return kind === 'standalone' ? 'standalone NB' : `raft ×3 + ${relays} relay${relays === 1 ? '' : 's'}`;
}

/** Starts the servers, fills the NB with `unrelated` ports, makes the bench's switches. */
export async function startTopology(cleanup: Teardown, kind: TopologyKind, opts: { unrelated: number; relays: number; progress: (msg: string) => void }): Promise<Topology> {
  let writerRemote: string;
  let servers: ServerPid[];
  /** What the nodes connect to: the NB itself, or the relays (then also servers to measure). */
  let front: { remotes: readonly string[]; servers: ServerPid[] };
  if (kind === 'standalone') {
    const { server } = await startOvsdbServer(cleanup, NB_SCHEMA);
    writerRemote = server.unixRemote;
    servers = [{ role: 'NB', pid: await serverPid(server) }];
    front = { remotes: [server.unixRemote], servers: [] };
  } else {
    const cluster = await startOvsdbCluster(cleanup, NB_SCHEMA, 3);
    const leader = await cluster.leader();
    writerRemote = cluster.members[leader]?.tcpRemote ?? '';
    servers = await Promise.all(cluster.members.map(async (member, i) => ({ role: i === leader ? ('leader' as const) : ('followers' as const), pid: await serverPid(member) })));
    // Relays before the fill, which reaches them as the cluster commits it: a relay started on a
    // full NB must load it all before it serves, longer than the helper waits here under load.
    const tier = await startOvsdbRelays(cleanup, cluster.database, cluster.remotes, opts.relays);
    front = { remotes: tier.remotes, servers: await Promise.all(tier.relays.map(async (relay) => ({ role: 'relays' as const, pid: await serverPid(relay) }))) };
  }
  const writer = await nbWriter(cleanup, writerRemote);
  const unrelated = await createSwitches(writer, Array.from({ length: UNRELATED_SWITCHES }, (_, i) => ({ name: `unrelated-${i}` })));
  const [, simulatedSwitch] = await createSwitches(writer, [
    { name: DAEMONS_NETWORK, otherConfig: new Map([['subnet', DAEMONS_SUBNET]]) },
    { name: SIMULATED_NETWORK },
  ]);
  const filling = stamp();
  await insertPorts(writer, unrelated, opts.unrelated, (i) => unrelatedPort(i, UNRELATED_SWITCHES), {
    progress: (done) => {
      if (done % 20_000 === 0) opts.progress(`${done} unrelated ports`);
    },
  });
  const fillSeconds = elapsedMs(filling, stamp()) / 1000;
  const [unrelatedSwitch] = unrelated;
  if (unrelatedSwitch === undefined || simulatedSwitch === undefined) throw new Error('the bench switches were not made');
  return {
    kind,
    label: topologyLabel(kind, opts.relays),
    clientRemotes: front.remotes,
    writer,
    servers: [...servers, ...front.servers],
    roles: kind === 'standalone' ? ['NB'] : ['leader', 'followers', 'relays'],
    unrelatedSwitch,
    simulatedSwitch,
    fillSeconds,
  };
}
