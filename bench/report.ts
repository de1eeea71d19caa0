/** Renders the results as Markdown tables, baselines next to the candidate. */
import { availableParallelism, loadavg, release } from 'node:os';
import type { Segment } from './breakdown.ts';
import type { Sample } from './method.ts';
import type { RssSample } from './cni-exec.ts';
import type { Burst } from './phases.ts';
import { kibToMB, summarizeRss } from './rss.ts';
import { summarize } from './stats.ts';
import type { Target } from './targets.ts';
import { MISSING_SWITCHES, type SelectionFigures, type SelectionRun } from './selection.ts';
import type { MetricsCostFigures } from './metrics-cost.ts';
import { verdict, type Comparison } from './pairs.ts';

export interface LatencyRow {
  readonly label: string;
  readonly samples: readonly Sample[];
}

export interface BurstRow {
  readonly label: string;
  readonly burst: Burst;
}

export interface RssRow {
  readonly label: string;
  readonly samples: readonly RssSample[];
}

export interface NbWindow {
  readonly label: string;
  /** ADDs or DELs done in the window. */
  readonly operations: number;
  /** Records per writer; undefined when the log could not be compared (compaction). */
  readonly counts: ReadonlyMap<string, number> | undefined;
  /** The writer whose records are the tool's own transactions. */
  readonly tool: string;
}

export interface Ratio {
  readonly label: string;
  readonly value: number;
}

export interface Breakdown {
  readonly title: string;
  readonly segments: readonly Segment[];
}

export interface Report {
  readonly heading: readonly string[];
  readonly latency: readonly LatencyRow[];
  readonly bursts: readonly BurstRow[];
  /** Lines under the burst table (the daemon's memory). */
  readonly burstNotes: readonly string[];
  /** The CNI process's own peak RSS (GNU time), per executable and command. */
  readonly peakRss: readonly RssRow[];
  readonly peakRssNotes: readonly string[];
  readonly nb: readonly NbWindow[];
  /** The NB monitor selection after ADDs naming missing switches (selection.ts). */
  readonly selection: SelectionFigures;
  /** ADD and DEL with the daemon's metrics on and off, pair by pair (metrics-cost.ts). */
  readonly metricsCost: MetricsCostFigures;
  readonly ratios: readonly Ratio[];
  readonly targets: readonly Target[];
  readonly breakdowns: readonly Breakdown[];
  readonly notes: readonly string[];
  readonly failures: readonly string[];
}

const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Stats over the successful samples only; the ok column says how many that is. */
function latencyTable(rows: readonly LatencyRow[]): string {
  return table(
    ['Measured (ms)', 'ok/n', 'p50', 'p95', 'p99', 'min', 'max', 'mean'],
    rows.map((r) => {
      const s = summarize(r.samples.filter((x) => x.ok).map((x) => x.ms));
      return [r.label, `${s.n}/${r.samples.length}`, f(s.p50), f(s.p95), f(s.p99), f(s.min), f(s.max), f(s.mean)];
    }),
  );
}

function burstTable(rows: readonly BurstRow[]): string {
  return table(
    ['Burst (all started at once)', 'ok/n', 'wall until all done (ms)', 'per call p50', 'per call p95', 'per call p99'],
    rows.map((r) => {
      const s = summarize(r.burst.samples.filter((x) => x.ok).map((x) => x.ms));
      return [r.label, `${s.n}/${r.burst.samples.length}`, f(r.burst.wallMs), f(s.p50), f(s.p95), f(s.p99)];
    }),
  );
}

function rssTable(rows: readonly RssRow[]): string {
  const m = (kib: number): string => (Number.isFinite(kib) ? kibToMB(kib).toFixed(1) : '–');
  return table(
    ['Peak RSS of the CNI process (MB)', 'ok/n', 'p50', 'max'],
    rows.map((r) => {
      const s = summarizeRss(r.samples);
      return [r.label, `${s.n}/${s.total}`, m(s.p50KiB), m(s.maxKiB)];
    }),
  );
}

function nbTable(rows: readonly NbWindow[]): string {
  return table(
    ['NB log window', 'operations', 'NB records by writer', 'tool\'s transactions per operation'],
    rows.map((r) => {
      if (r.counts === undefined) return [r.label, String(r.operations), 'log compacted: not countable', '–'];
      const by = [...r.counts].sort(([a], [b]) => a.localeCompare(b)).map(([w, n]) => `${w}: ${n}`).join(', ');
      const own = r.counts.get(r.tool) ?? 0;
      return [r.label, String(r.operations), by === '' ? 'none' : by, (own / r.operations).toFixed(2)];
    }),
  );
}

function selectionTable(s: SelectionFigures): string {
  const row = (label: string, run: SelectionRun): string[] => [label, String(run.base), String(run.after), (run.settledMs / 1000).toFixed(1)];
  return table(
    [`NB selection size after ${MISSING_SWITCHES.toLocaleString('en')} ADDs naming missing switches (clauses)`, 'before the ADDs', 'after', 'after the last ADD (s)'],
    [row('every name kept (baseline: shrinking off)', s.baseline), row('names leave (ovn-multinet)', s.candidate)],
  );
}

/** The metrics-cost phase: one table, the verdict against "no measurable cost", how it was taken. */
export function metricsCostSection(m: MetricsCostFigures): string[] {
  const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '–');
  const rss = (r: number | string): string => (typeof r === 'string' ? `n/a (${r})` : `${kibToMB(r).toFixed(1)} MB`);
  const rssRatio = (a: number | string, b: number | string): string => (typeof a === 'number' && typeof b === 'number' ? x(b / a) : '–');
  const ok = (c: Comparison, side: 'off' | 'on'): string => `${c[side].n}/${c[side].total}`;
  const halves = (c: Comparison): string => `${x(c.offSpread)} off, ${x(c.onSpread)} on`;
  const diff = (c: Comparison): string => (Number.isFinite(c.pairDiffP50) ? `${c.pairDiffP50 >= 0 ? '+' : ''}${c.pairDiffP50.toFixed(1)} ms` : '–');
  const slower = (c: Comparison): string => `${c.onSlower}/${c.unequalPairs}, p = ${c.signP.toFixed(2)}`;
  const s = m.scrapes;
  const rows: string[][] = [
    ['ADD ok/n', ok(m.add, 'off'), ok(m.add, 'on'), '', ''],
    ['**ADD p50** (ms)', f(m.add.off.p50), f(m.add.on.p50), `**${x(m.add.ratio)}**`, halves(m.add)],
    ['ADD p90 (ms)', f(m.add.off.p90), f(m.add.on.p90), x(m.add.ratioP90), ''],
    ['ADD on − off, median over the pairs', '', '', diff(m.add), ''],
    ['ADD pairs where on was slower (sign test)', '', '', slower(m.add), ''],
    ['DEL ok/n', ok(m.del, 'off'), ok(m.del, 'on'), '', ''],
    ['DEL p50 (ms)', f(m.del.off.p50), f(m.del.on.p50), x(m.del.ratio), halves(m.del)],
    ['DEL p90 (ms)', f(m.del.off.p90), f(m.del.on.p90), x(m.del.ratioP90), ''],
    ['DEL on − off, median over the pairs', '', '', diff(m.del), ''],
    ['DEL pairs where on was slower (sign test)', '', '', slower(m.del), ''],
    ['scrapes of /metrics (every second): ok/n, p50, max (ms)', '–', `${s.n}/${m.scrapesTotal}, ${f(s.p50)}, ${f(s.max)}`, '', ''],
    ['daemon VmRSS after the warm-up', rss(m.rssAfterWarmUp.off), rss(m.rssAfterWarmUp.on), rssRatio(m.rssAfterWarmUp.off, m.rssAfterWarmUp.on), ''],
    ['daemon VmRSS after the DELs', rss(m.rssAfter.off), rss(m.rssAfter.on), rssRatio(m.rssAfter.off, m.rssAfter.on), ''],
  ];
  return [
    '## Metrics cost',
    '',
    table(['Metrics cost', 'metrics off', 'metrics on', 'on / off', 'the same daemon, half / half (noise)'], rows),
    '',
    `- **Verdict** (goal: no measurable cost): ${verdict(m.add, 'ADD')}`,
    `- ${verdict(m.del, 'DEL')}`,
    `- Two daemons on this node, the same switch, the same flags but the metrics port: the node's own (\`--metrics-port 0\`: prom-client not loaded, no hook records) and a second one on its own socket and node name with the listener on 127.0.0.1:${m.port} of the node netns. ${m.warmup} warm-up ADD/DEL cycles on each, then ${m.pairs} pairs of ADDs (one on each daemon, each into its own fresh pod netns, which one goes first alternating), then the DELs paired the same way. A scraper (one Node process in the node netns, each GET timed in it) reads the on-daemon's /metrics every second from before the warm-up until the last DEL: Prometheus scrapes every 15 to 30 s, so this is a harsh case. Measurable: a two-sided sign test over the pairs (on slower or faster is a coin toss in each pair when the metrics cost nothing) at p < 0.05. Noise, beside it: each daemon's pairs split into two halves (pairs 0-1, 4-5, … and 2-3, 6-7, …: both orders, the whole run), p50 / p50. VmRSS from /proc/PID/status; the off-daemon is the node's, started before the bench's first phases, the on-daemon with this one.`,
    '',
  ];
}

function segmentTable(b: Breakdown): string {
  return table(
    [b.title, 'n', 'p50', 'p95', 'max'],
    b.segments.map((s) => [s.label, String(s.summary.n), f(s.summary.p50), f(s.summary.p95), f(s.summary.max)]),
  );
}

/** When and where the run was: its start and length, the machine, the load before and after. */
export function runLines(started: number, loadBefore: readonly number[]): string[] {
  const la = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `- When: ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(1)} s for the whole run`,
    `- Machine: ${availableParallelism()} CPUs, Linux ${release()}, Node ${process.version} (the bench's own); load average ${la(loadBefore)} before, ${la(loadavg())} after (other work on the machine skews results)`,
  ];
}

/** The first 20 failures, under a heading that counts them all; nothing when there is none. */
export function failuresSection(failures: readonly string[]): string[] {
  return failures.length === 0 ? [] : [`## Failures (${failures.length})`, '', ...failures.slice(0, 20).map((x) => `- ${x}`), ''];
}

export function renderReport(r: Report): string {
  const out: string[] = [];
  out.push('# ovn-multinet bench', '', ...r.heading, '');
  out.push('## Latency, serial (one call at a time, each pod in its own fresh netns)', '', latencyTable(r.latency), '');
  out.push('## Bursts', '', burstTable(r.bursts), '');
  if (r.burstNotes.length > 0) out.push(...r.burstNotes.map((n) => `- ${n}`), '');
  out.push('## CNI process peak RSS (GNU time `%M`; not part of the latency rows)', '', rssTable(r.peakRss), '');
  if (r.peakRssNotes.length > 0) out.push(...r.peakRssNotes.map((n) => `- ${n}`), '');
  out.push('## Ratios (p50 / p50; burst rows: wall / wall)', '', table(['Ratio', 'value'], r.ratios.map((x) => [x.label, Number.isFinite(x.value) ? `${x.value.toFixed(2)}×` : '–'])), '');
  out.push('## NB transactions', '', nbTable(r.nb), '');
  out.push('## NB monitor selection', '', selectionTable(r.selection), '');
  out.push(...metricsCostSection(r.metricsCost));
  out.push(
    '## Targets',
    '',
    table(
      ['Target', 'Measured', 'Status'],
      r.targets.map((t) => [t.goal, t.measured, t.info === true ? 'shown, not a target' : t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**']),
    ),
    '',
  );
  out.push('## Where the time goes (ms; database and daemon timestamps have 1 ms resolution)', '');
  for (const b of r.breakdowns) out.push(segmentTable(b), '');
  out.push(...failuresSection(r.failures));
  out.push('## Method', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
