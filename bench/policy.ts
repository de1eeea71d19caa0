/**
 * npm run bench:policy (scripts/bench.sh --policy): MultiNetworkPolicy enforcement (issue 21).
 * How long a change takes to be enforced on the wire through the controller, against the same
 * flip written straight into the NB (OVN's own propagation), for three kinds of change; and the
 * NB rows and the controller's memory at two sizes. Markdown report on stdout, progress on
 * stderr. Exit 0 when it ran, target met or not; 1 when a step broke or cleanup left something
 * behind. See README.md, "Policy enforcement".
 */
import { stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { DAEMON_BINARY, e2eSkipReason } from '../test/helpers/node.ts';
import { runBench } from './cleanup.ts';
import { readPolicyConfig } from './policy-config.ts';
import { renderPolicyReport, type PolicyFigures } from './policy-report.ts';
import { runPolicyBench } from './policy-run.ts';

const progress = (msg: string): void => {
  process.stderr.write(`bench:policy: ${msg}\n`);
};

const skip = e2eSkipReason();
if (skip !== false) {
  progress(`cannot run: ${skip}`);
  process.exit(1);
}
const cfg = readPolicyConfig();
const code = await runBench(progress, async (cleanup) => {
  const started = Date.now();
  const loadBefore = loadavg();
  const binary = await stat(DAEMON_BINARY);
  const failures: string[] = [];
  let figures: PolicyFigures | undefined;
  try {
    figures = await runPolicyBench(cleanup, cfg, progress);
    failures.push(...figures.failures);
  } catch (err) {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    failures.push(err instanceof Error ? err.message : String(err));
  }
  const text = renderPolicyReport({
    cfg,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    loadBefore,
    loadAfter: loadavg(),
    build: `dist/ovn-multinetd of ${binary.mtime.toISOString()} (${binary.size.toLocaleString('en-US')} bytes)`,
    figures,
    failures,
  });
  return { text, failed: failures.length > 0 };
});
process.exit(code);
