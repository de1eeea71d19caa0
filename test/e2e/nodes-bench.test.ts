// The many-nodes bench (npm run bench:nodes, bench/nodes.ts) in small: an NB of 5,000 unrelated
// ports, standalone and as a 3-member raft cluster behind 2 relays; 4 real daemons started at once
// and first using a network at once, 40 simulated nodes (the daemon's own NB view, in worker
// processes) connecting and serving one switch everywhere. Everything connects, every ADD
// succeeds, every node holds the switch, no connection drops, and every figure of the report is
// there and computed from the run. Speeds are printed, never asserted.
import t, { type Test } from 'tap';
import { e2eSkipReason } from '../helpers/node.ts';
import { NODES_DEFAULTS, type NodesConfig } from '../../bench/nodes-config.ts';
import { nodesTargets, renderNodesReport } from '../../bench/nodes-report.ts';
import { runTopology, type TopologyFigures } from '../../bench/nodes-run.ts';
import type { RoleCpu, ServerRole } from '../../bench/nodes-servers.ts';

const skip = e2eSkipReason();
const cfg: NodesConfig = { ...NODES_DEFAULTS, unrelated: 5000, daemons: 4, simulated: 40, relays: 2, workers: 2, commits: 10 };

/** A CPU reading for every role of the topology, each a number of seconds ≥ 0. */
function cpuSane(t: Test, cpu: RoleCpu, roles: readonly ServerRole[], what: string): void {
  t.same([...cpu.keys()].sort(), [...roles].sort(), `${what}: a CPU figure for each server role`);
  t.ok([...cpu.values()].every((s) => Number.isFinite(s) && s >= 0), `${what}: CPU seconds ≥ 0`);
}

const positive = (x: number | undefined): boolean => x !== undefined && Number.isFinite(x) && x > 0;

t.test('bench:nodes, reduced: 4 daemons and 40 simulated nodes on 5,000 ports, standalone and behind relays', { skip }, async (t) => {
  const topologies: TopologyFigures[] = [];
  for (const kind of ['standalone', 'relays'] as const) {
    const figures = await runTopology(t, kind, cfg, (msg) => t.comment(msg));
    topologies.push(figures);
    const { daemons, simulated } = figures;
    t.ok(positive(figures.fillSeconds) && positive(figures.baselineCommitMs) && positive(figures.baselineServedCommitMs) && positive(figures.baselineServedForeignCommitMs), `${kind}: fill and baseline commits timed`);

    if (daemons === undefined) throw new Error(`${kind}: no daemon figures`);
    t.equal(daemons.started, cfg.daemons, `${kind}: every daemon started`);
    t.ok(positive(daemons.startWallMs) && positive(daemons.startP50Ms) && daemons.startP50Ms <= daemons.startWallMs, `${kind}: start times`);
    const { use } = daemons;
    if (use === undefined) throw new Error(`${kind}: the daemons' first use was not reached`);
    t.same([...use.adds.failures], [], `${kind}: every first-use ADD succeeds`);
    t.equal(use.adds.ms.length, cfg.daemons, `${kind}: one ADD per daemon`);
    t.ok(positive(use.adds.wallMs) && use.adds.ms.every(positive), `${kind}: ADD times`);
    t.notOk(use.idle.timedOut, `${kind}: the NB is idle again after the ADDs`);
    t.equal(daemons.dropped, 0, `${kind}: no daemon lost its NB connection`);
    cpuSane(t, daemons.startCpu, figures.roles, `${kind} daemons' start`);
    cpuSane(t, use.cpu, figures.roles, `${kind} first use`);

    if (simulated === undefined) throw new Error(`${kind}: no simulated-node figures`);
    t.equal(simulated.connected, cfg.simulated, `${kind}: every simulated node connected`);
    const { rest } = simulated;
    if (rest === undefined) throw new Error(`${kind}: the simulated nodes' first use was not reached`);
    t.equal(rest.inView, cfg.simulated, `${kind}: every simulated node holds the switch it served`);
    t.same(rest.failed, [], `${kind}: no serve failed`);
    t.equal(simulated.dropped, 0, `${kind}: no simulated node lost its NB connection`);
    t.ok(positive(simulated.connectWallMs) && positive(rest.serveWallMs) && positive(rest.commitMs) && positive(rest.servedCommitMs) && positive(rest.servedForeignCommitMs), `${kind}: simulated nodes' figures`);
    cpuSane(t, simulated.connectCpu, figures.roles, `${kind} connecting`);
    cpuSane(t, rest.serveCpu, figures.roles, `${kind} serving`);
  }

  const targets = nodesTargets(topologies);
  t.equal(targets.length, 7, 'the seven targets of issue 20');
  t.ok(targets.every((target) => target.cells.length === 2 && target.cells.every((c) => c.met !== undefined && c.measured !== '–')), 'every target measured in both topologies');
  const report = renderNodesReport({ cfg, startedAt: new Date().toISOString(), seconds: 1, loadBefore: [0, 0, 0], loadAfter: [0, 0, 0], build: 'test', topologies, failures: [] });
  for (const figures of topologies) {
    const ratio = (figures.simulated?.rest?.commitMs ?? Number.NaN) / figures.baselineCommitMs;
    t.ok(report.includes(`${ratio.toFixed(2)}×`), `${figures.kind}: the report holds the commit ratio computed from the run`);
  }
  t.comment(report);
});
