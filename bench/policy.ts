/**
 * npm run bench:policy (scripts/bench.sh --policy): MultiNetworkPolicy enforcement (issue 21).
 * How long a change takes to be enforced on the wire through the controller, against the same
 * flip written straight into the NB (OVN's own propagation), for three kinds of change; and the
 * NB rows and the controller's memory at two sizes. Markdown report on stdout, progress on
 * stderr. Exit 0 when it ran, target met or not; 1 when a step broke or cleanup left something
 * behind. See README.md, "Policy enforcement".
 */
import { benchEntry, failureOf } from './entry.ts';
import { readPolicyConfig } from './policy-config.ts';
import { renderPolicyReport, type PolicyFigures } from './policy-report.ts';
import { runPolicyBench } from './policy-run.ts';

const cfg = readPolicyConfig();
await benchEntry('bench:policy', async (cleanup, progress, facts) => {
  const failures: string[] = [];
  let figures: PolicyFigures | undefined;
  try {
    figures = await runPolicyBench(cleanup, cfg, progress);
    failures.push(...figures.failures);
  } catch (err) {
    failures.push(failureOf(err, progress, 'the bench'));
  }
  return { text: renderPolicyReport({ cfg, ...facts(), figures, failures }), failed: failures.length > 0 };
});
