/**
 * npm run bench:metrics (scripts/bench.sh --metrics): only npm run bench's metrics-cost phase
 * (metrics-cost.ts), on a sandbox node of its own, to re-run that figure in well under a minute.
 * Markdown on stdout, progress on stderr; exit 1 when a call or scrape failed (see README.md).
 */
import { loadavg } from 'node:os';
import { e2eSkipReason, startNode } from '../test/helpers/node.ts';
import { runBench } from './cleanup.ts';
import { readConfig, ENV_NAMES } from './config.ts';
import { DAEMON_ARGS, metricsCost } from './metrics-cost.ts';
import { addNetwork, NETWORK } from './ovn-multinet.ts';
import { failuresSection, metricsCostSection, runLines } from './report.ts';

const progress = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};

async function main(): Promise<number> {
  const cfg = readConfig();
  const skip = e2eSkipReason();
  if (skip !== false) {
    progress(`cannot run: ${skip}`);
    return 1;
  }
  return runBench(progress, async (cleanup) => {
    const loadBefore = loadavg();
    const started = Date.now();
    progress(`starting the sandbox node and daemon (runs=${cfg.runs}, warmup=${cfg.warmup})`);
    const node = await startNode(cleanup, { daemon: { extraArgs: [...DAEMON_ARGS] } });
    await addNetwork(node);
    progress(`metrics cost: ${cfg.runs} pairs of ADDs, then DELs, metrics off and on, scraped every second`);
    const run = await metricsCost(cleanup, cfg, node, NETWORK, async () => {
      await node.noHostVeths();
    });
    const text = [
      '# ovn-multinet bench: metrics cost',
      '',
      ...runLines(started, loadBefore),
      `- Samples: ${ENV_NAMES.runs}=${cfg.runs} pairs, ${ENV_NAMES.warmup}=${cfg.warmup} warm-up ADD/DEL cycles on each daemon`,
      '',
      ...metricsCostSection(run.figures),
      ...failuresSection(run.failures),
    ].join('\n');
    return { text, failed: run.failures.length > 0 };
  });
}

process.exitCode = await main();
