/**
 * bash scripts/bench.sh --migration: the downtime of a VM's live migration between the two nodes of the
 * test harness (test/helpers/migration.ts: a third pod pings the VM every 10 ms; the source's
 * interface goes down, the target sends a RARP, a second later the source pod is deleted), by
 * OVN multi-chassis binding (switch-over at the RARP), against the baseline measured in the same
 * run: the same migration without a RARP, where traffic follows the VM only at the source pod's
 * DEL (what the standby ports of earlier versions did). MIGRATION_RUNS (5) of each, in turns.
 * Prints a Markdown table of lost pings and downtime (p50, max) and the ratio of the medians.
 */
import { startClaimCluster } from '../test/helpers/claims.ts';
import { migrateUnderPings, type MigrationRun } from '../test/helpers/migration.ts';
import { summarize } from './stats.ts';

const RUNS = Number(process.env['MIGRATION_RUNS'] ?? '') || 5;

const cleanups: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => void cleanups.push(fn) };

function check(run: MigrationRun, what: string): void {
  const failed = run.pods.find((p) => p.out.exitCode !== 0);
  if (failed !== undefined) throw new Error(`${what}: ADD ${failed.name} failed: ${failed.out.stdout}`);
  if (!run.answeredBefore) throw new Error(`${what}: the VM did not answer before the migration`);
  if (run.del.exitCode !== 0) throw new Error(`${what}: the source DEL failed: ${run.del.stdout}`);
}

try {
  const c = await startClaimCluster(t, { network: 'vmnet', subnet: '10.72.0.0/24' });
  const runs = { rarp: [] as MigrationRun[], atDel: [] as MigrationRun[] };
  for (let i = 0; i < RUNS; i++) {
    for (const rarp of [true, false]) {
      const claim = `vm${i}-${rarp ? 'rarp' : 'del'}.vmnet`;
      await c.claim(claim);
      const run = await migrateUnderPings(t, c, claim, rarp);
      check(run, claim);
      (rarp ? runs.rarp : runs.atDel).push(run);
      process.stderr.write(`bench:migration: ${claim}: lost ${run.lost} pings (${run.downtimeMs} ms)\n`);
    }
  }
  const rows = [['hand-over at the source DEL (baseline)', runs.atDel], ['multi-chassis binding, at the RARP', runs.rarp]] as const;
  console.log(`| hand-over | runs | lost pings p50 | max | downtime p50 (ms) | max (ms) |\n| --- | --- | --- | --- | --- | --- |`);
  for (const [what, list] of rows) {
    const lost = summarize(list.map((r) => r.lost));
    const ms = summarize(list.map((r) => r.downtimeMs));
    console.log(`| ${what} | ${lost.n} | ${lost.p50} | ${lost.max} | ${ms.p50} | ${ms.max} |`);
  }
  const ratio = summarize(runs.rarp.map((r) => r.lost)).p50 / Math.max(1, summarize(runs.atDel.map((r) => r.lost)).p50);
  console.log(`\nmulti-chassis / at-DEL downtime (medians): ${ratio.toFixed(3)}; target: at most 50 ms lost`);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
