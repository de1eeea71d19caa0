/**
 * npm run bench:nodes (scripts/bench.sh --nodes): what many nodes' daemons cost the shared NB
 * (issue 20, items 2 and 5). One NB with K unrelated ports, measured as a standalone server and as
 * a raft cluster behind relays, in one run: N real daemons starting and first using a network at
 * once, then M simulated nodes (the daemon's own NB view, nodes-worker.ts) connecting, first using
 * a network everywhere, and one commit with all their monitors open against none. Markdown report
 * on stdout, progress on stderr. Exit 0 when it ran, targets met or not; 1 when a step broke or
 * cleanup left something behind. See README.md, "Many nodes".
 */
import { benchEntry, failureOf } from './entry.ts';
import { readNodesConfig } from './nodes-config.ts';
import { renderNodesReport } from './nodes-report.ts';
import { runTopology, type TopologyFigures } from './nodes-run.ts';
import type { TopologyKind } from './nodes-topology.ts';

const cfg = readNodesConfig();
await benchEntry('bench:nodes', async (cleanup, progress, facts) => {
  const topologies: TopologyFigures[] = [];
  const failures: string[] = [];
  // A topology that breaks is reported as such; the other's figures still are.
  for (const kind of ['standalone', 'relays'] as const satisfies readonly TopologyKind[]) {
    try {
      topologies.push(await runTopology(cleanup, kind, cfg, progress));
    } catch (err) {
      failures.push(`${kind}: ${failureOf(err, progress, kind)}`);
    }
  }
  return { text: renderNodesReport({ cfg, ...facts(), topologies, failures }), failed: failures.length > 0 };
});
