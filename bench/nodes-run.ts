/**
 * One topology of the many-nodes bench, its phases in order, each figure beside its baseline from
 * the same topology: the NB filled; one commit with no monitors; N real daemons started at once,
 * then a network's first use on all of them at once; then M simulated nodes connecting, serving
 * one new switch everywhere, and one commit with all their monitors open. Everything it starts is
 * undone before it returns (its own cleanup), so the next topology runs on a quiet machine.
 */
import type { Teardown } from '../test/helpers/netns.ts';
import { createCleanup } from './cleanup.ts';
import type { NodesConfig } from './nodes-config.ts';
import { commitP50 } from './nodes-commit.ts';
import { droppedConnections, firstUse, prepareNodes, startDaemons, stopDaemons, type FirstUse } from './nodes-daemons.ts';
import { withServerCpu, type RoleCpu, type ServerPid, type ServerRole } from './nodes-servers.ts';
import { startWorkers } from './nodes-simulated.ts';
import { DAEMONS_NETWORK, SIMULATED_NETWORK, startTopology, type TopologyKind } from './nodes-topology.ts';
import { waitQuiet, type Quiet } from './proc.ts';
import { summarize } from './stats.ts';

/** Idle: the NB servers together below this share of one CPU over one window of IDLE_WINDOW_MS. */
export const IDLE_SHARE = 0.05;
export const IDLE_WINDOW_MS = 500;
/** Waiting for idle gives up after this long (the report then says "not idle"). */
export const IDLE_LIMIT_MS = 60_000;

export interface DaemonFigures {
  readonly count: number;
  /** Daemons whose STATUS answered ok within NODES_LIMIT. */
  readonly started: number;
  /** Spawn of all → the last daemon's STATUS ok (the limit when some never answered), ms; and each started daemon's own spawn → STATUS ok, p50. */
  readonly startWallMs: number;
  readonly startP50Ms: number;
  readonly startCpu: RoleCpu;
  /** The first use on every daemon; undefined when some never started. */
  readonly use:
    | {
        readonly adds: FirstUse;
        readonly cpu: RoleCpu;
        /** From the last ADD's answer until the NB servers were idle. */
        readonly idle: Quiet;
      }
    | undefined;
  /** NB connections the started daemons' clients saw drop, from their start to the end of the idle wait. */
  readonly dropped: number;
}

export interface SimulatedFigures {
  readonly count: number;
  readonly workers: number;
  /** Nodes connected (monitor loaded) within the limit, and the wall time until the last did or the limit. */
  readonly connected: number;
  readonly connectWallMs: number;
  readonly connectCpu: RoleCpu;
  /** What follows once every node connected; undefined when some never did. */
  readonly rest:
    | {
        readonly serveWallMs: number;
        readonly serveCpu: RoleCpu;
        /** Nodes that held the switch in view once serve() resolved. */
        readonly inView: number;
        readonly failed: readonly string[];
        /** One commit's p50 with every node connected and serving SIMULATED_NETWORK, ms. */
        readonly commitMs: number;
        /** The servers' CPU over those commits (on the unrelated switch). */
        readonly commitCpu: RoleCpu;
        /** On the switch every node serves: another node's ovn-multinet port, and someone else's. */
        readonly servedCommitMs: number;
        readonly servedForeignCommitMs: number;
      }
    | undefined;
  /** NB connections the nodes' clients saw drop, from their start to their close. */
  readonly dropped: number;
}

export interface TopologyFigures {
  readonly kind: TopologyKind;
  readonly label: string;
  readonly roles: readonly ServerRole[];
  readonly fillSeconds: number;
  /** One commit's p50 with no node connected: on an unrelated switch, and on the switch the simulated nodes will serve. */
  readonly baselineCommitMs: number;
  readonly baselineCommitCpu: RoleCpu;
  readonly baselineServedCommitMs: number;
  readonly baselineServedForeignCommitMs: number;
  readonly daemons: DaemonFigures | undefined;
  readonly simulated: SimulatedFigures | undefined;
}

const quiet = (servers: readonly ServerPid[]): Promise<Quiet> =>
  waitQuiet(
    servers.map((s) => s.pid),
    { windowMs: IDLE_WINDOW_MS, windows: 1, maxShare: IDLE_SHARE, maxMs: IDLE_LIMIT_MS },
  );

export async function runTopology(parent: Teardown, kind: TopologyKind, cfg: NodesConfig, progress: (msg: string) => void): Promise<TopologyFigures> {
  const cleanup = createCleanup();
  parent.teardown(() => cleanup.run());
  let figures: TopologyFigures;
  let left = 0;
  try {
    figures = await phases(cleanup, kind, cfg, progress);
  } finally {
    const errors = await cleanup.run();
    if (errors.length > 0) progress(`${kind}: cleanup failed: ${errors.map((e) => e.message).join('; ')}`);
    left = errors.length;
  }
  if (left > 0) throw new Error(`${kind}: cleanup left something behind`);
  return figures;
}

async function phases(cleanup: Teardown, kind: TopologyKind, cfg: NodesConfig, progress: (msg: string) => void): Promise<TopologyFigures> {
  const say = (msg: string): void => progress(`${kind}: ${msg}`);
  say(`NB with ${cfg.unrelated} unrelated ports`);
  const topo = await startTopology(cleanup, kind, { unrelated: cfg.unrelated, relays: cfg.relays, progress: say });
  await quiet(topo.servers);
  const { result: baselineCommitMs, cpu: baselineCommitCpu } = await withServerCpu(topo.servers, () => commitP50(topo.writer, topo.unrelatedSwitch, cfg.commits));
  const baselineServedCommitMs = await commitP50(topo.writer, topo.simulatedSwitch, cfg.commits, 'ovn-multinet');
  const baselineServedForeignCommitMs = await commitP50(topo.writer, topo.simulatedSwitch, cfg.commits);

  let daemons: DaemonFigures | undefined;
  if (cfg.daemons > 0) {
    say(`${cfg.daemons} daemons: preparing their Open_vSwitch databases and pods`);
    const prepared = await prepareNodes(cleanup, cfg.daemons);
    await quiet(topo.servers);
    say(`${cfg.daemons} daemons: starting`);
    const limitMs = cfg.limitSeconds * 1000;
    const start = await withServerCpu(topo.servers, () => startDaemons(cleanup, prepared, topo.clientRemotes, limitMs));
    const { running: nodes, late } = start.result;
    // With some never answering, the phase lasted the limit (or the last answer, polled just after it).
    const startWallMs = Math.max(late > 0 ? limitMs : 0, ...nodes.map((n) => n.statusOkMs));
    say(`${nodes.length}/${cfg.daemons} daemons answer STATUS ${(startWallMs / 1000).toFixed(1)} s after their spawn`);
    // A first use on some nodes only would not be the storm measured: not reached.
    let use: DaemonFigures['use'];
    if (late === 0) {
      await quiet(topo.servers);
      say(`${cfg.daemons} daemons: first use of ${DAEMONS_NETWORK}`);
      const adds = await withServerCpu(topo.servers, () => firstUse(nodes, DAEMONS_NETWORK));
      const idle = await quiet(topo.servers);
      say(`first use: ${[...adds.result.failures.values()].reduce((a, b) => a + b, 0)} of ${nodes.length} ADDs failed, the last answered after ${(adds.result.wallMs / 1000).toFixed(1)} s, the NB idle ${(idle.ms / 1000).toFixed(1)} s later`);
      use = { adds: adds.result, cpu: adds.cpu, idle };
    }
    const dropped = droppedConnections(nodes);
    await stopDaemons(nodes);
    daemons = {
      count: cfg.daemons,
      started: nodes.length,
      startWallMs,
      startP50Ms: summarize(nodes.map((n) => n.statusOkMs)).p50,
      startCpu: start.cpu,
      use,
      dropped,
    };
  }

  let simulated: SimulatedFigures | undefined;
  if (cfg.simulated > 0) {
    const workers = Math.min(cfg.workers, cfg.simulated);
    const sim = await startWorkers(cleanup, workers);
    await quiet(topo.servers);
    say(`${cfg.simulated} simulated nodes: connecting`);
    const names = Array.from({ length: cfg.simulated }, (_, i) => `sim-${i}`);
    const limitMs = cfg.limitSeconds * 1000;
    const connect = await withServerCpu(topo.servers, () => sim.connect(topo.clientRemotes, names, limitMs));
    say(`${connect.result.result}/${cfg.simulated} simulated nodes connected in ${(connect.result.wallMs / 1000).toFixed(1)} s`);
    // Nodes that never connected (an NB that drops them faster than it loads them) leave nothing
    // to measure beyond: the rest is reported as not reached.
    let rest: SimulatedFigures['rest'];
    if (connect.result.result === cfg.simulated) {
      await quiet(topo.servers);
      say(`${cfg.simulated} simulated nodes: first use of ${SIMULATED_NETWORK}`);
      const serve = await withServerCpu(topo.servers, () => sim.serve(SIMULATED_NETWORK, limitMs));
      say(`${serve.result.result.inView}/${cfg.simulated} simulated nodes serve ${SIMULATED_NETWORK} after ${(serve.result.wallMs / 1000).toFixed(1)} s`);
      await quiet(topo.servers);
      say(`${cfg.simulated} simulated nodes: ${cfg.commits} commits, twice`);
      const { result: commitMs, cpu: commitCpu } = await withServerCpu(topo.servers, () => commitP50(topo.writer, topo.unrelatedSwitch, cfg.commits));
      const servedCommitMs = await commitP50(topo.writer, topo.simulatedSwitch, cfg.commits, 'ovn-multinet');
      const servedForeignCommitMs = await commitP50(topo.writer, topo.simulatedSwitch, cfg.commits);
      rest = { serveWallMs: serve.result.wallMs, serveCpu: serve.cpu, ...serve.result.result, commitMs, commitCpu, servedCommitMs, servedForeignCommitMs };
    }
    const dropped = await sim.close();
    simulated = { count: cfg.simulated, workers, connected: connect.result.result, connectWallMs: connect.result.wallMs, connectCpu: connect.cpu, rest, dropped };
  }
  return { kind, label: topo.label, roles: topo.roles, fillSeconds: topo.fillSeconds, baselineCommitMs, baselineCommitCpu, baselineServedCommitMs, baselineServedForeignCommitMs, daemons, simulated };
}
