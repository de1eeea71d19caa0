/**
 * npm run soak: the full soak (default 1000 ADD/DEL cycles, 20 at a time, 10 % of cycles with a
 * fault) and its figures: cycles, faults injected by kind, leaks, duplicates, daemon RSS.
 * SOAK_CYCLES, SOAK_CONCURRENCY, SOAK_FAULT_RATE, SOAK_SEED override the defaults. Exits 1 when
 * anything leaked, an address was live twice, or RSS grew more than 20 %.
 */
import { runSoak } from '../test/helpers/soak.ts';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

const cleanups: Array<() => unknown> = [];
const teardown = { teardown: (fn: () => unknown) => void cleanups.push(fn) };
let failed = false;
try {
  const report = await runSoak(teardown, {
    cycles: num('SOAK_CYCLES', 1000),
    concurrency: num('SOAK_CONCURRENCY', 20),
    faultRate: num('SOAK_FAULT_RATE', 0.1),
    seed: num('SOAK_SEED', 1),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const leaks = Object.values(report.leaked).reduce((a, b) => a + b, 0);
  failed = leaks > 0 || report.duplicates > 0 || report.rssKiB.growth > 0.2;
  console.log(`| figure | value |
| --- | --- |
| cycles (ADD then DEL or a fault) | ${report.cycles} |
| concurrency | ${num('SOAK_CONCURRENCY', 20)} |
| successful ADDs | ${report.addsOk} (retried ${report.addsRetried} times after code 11, gave up ${report.addsGaveUp}) |
| faults: daemon SIGKILL + restart | ${report.faults['daemon-kill']} |
| faults: NB restart | ${report.faults['nb-restart']} |
| faults: netns deleted before DEL | ${report.faults['netns-gone-before-del']} |
| faults: DEL never sent | ${report.faults['del-never-sent']} |
| duplicate addresses | ${report.duplicates} |
| leaked logical switch ports / OVS ports / veths / netns | ${report.leaked.logicalPorts} / ${report.leaked.ovsPorts} / ${report.leaked.veths} / ${report.leaked.netns} |
| daemon RSS after warm-up → end | ${report.rssKiB.afterWarmup} KiB → ${report.rssKiB.end} KiB (${(report.rssKiB.growth * 100).toFixed(1)} %) |
| duration | ${report.seconds.toFixed(1)} s |`);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
process.exitCode = failed ? 1 : 0;
