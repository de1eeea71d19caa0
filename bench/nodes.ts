/**
 * npm run bench:nodes (scripts/bench.sh --nodes): what many nodes' daemons cost the shared NB
 * (issue 20, items 2 and 5). One NB with K unrelated ports, measured as a standalone server and as
 * a raft cluster behind relays, in one run: N real daemons starting and first using a network at
 * once, then M simulated nodes (the daemon's own NB view, nodes-worker.ts) connecting, first using
 * a network everywhere, and one commit with all their monitors open against none. Markdown report
 * on stdout, progress on stderr. Exit 0 when it ran, targets met or not; 1 when a step broke or
 * cleanup left something behind. See README.md, "Many nodes".
 */
import { stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { DAEMON_BINARY, e2eSkipReason } from '../test/helpers/node.ts';
import { runBench } from './cleanup.ts';
import { readNodesConfig } from './nodes-config.ts';
import { renderNodesReport } from './nodes-report.ts';
import { runTopology, type TopologyFigures } from './nodes-run.ts';
import type { TopologyKind } from './nodes-topology.ts';

const progress = (msg: string): void => {
  process.stderr.write(`bench:nodes: ${msg}\n`);
};

const skip = e2eSkipReason();
if (skip !== false) {
  progress(`cannot run: ${skip}`);
  process.exit(1);
}
const cfg = readNodesConfig();
const code = await runBench(progress, async (cleanup) => {
  const started = Date.now();
  const loadBefore = loadavg();
  const binary = await stat(DAEMON_BINARY);
  const topologies: TopologyFigures[] = [];
  const failures: string[] = [];
  // A topology that breaks is reported as such; the other's figures still are.
  for (const kind of ['standalone', 'relays'] as const satisfies readonly TopologyKind[]) {
    try {
      topologies.push(await runTopology(cleanup, kind, cfg, progress));
    } catch (err) {
      progress(`${kind} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      failures.push(`${kind}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const text = renderNodesReport({
    cfg,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    loadBefore,
    loadAfter: loadavg(),
    build: `dist/ovn-multinetd of ${binary.mtime.toISOString()} (${binary.size.toLocaleString('en-US')} bytes)`,
    topologies,
    failures,
  });
  return { text, failed: failures.length > 0 };
});
process.exit(code);
