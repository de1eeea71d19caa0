/**
 * What the metrics cost an ADD (issue 22, item 1: "ADD p50 with metrics on vs off; goal: no
 * measurable cost"). On the same sandbox node, two daemons run side by side on the same logical
 * switch: the node's own (metrics off: --metrics-port 0, prom-client not even loaded) and a
 * second one on its own socket with the listener on. Each CNI call picks its daemon by the
 * config's `socket` field. The calls go in pairs, one on each daemon, which one first alternating
 * (pairs.ts), each ADD into its own fresh pod netns; then the DELs, paired the same way.
 *
 * Meanwhile a scraper reads the on-daemon's /metrics once a second: a harsh case, Prometheus
 * scrapes every 15 to 30 s. The daemon listens on 127.0.0.1 of the node's netns, which the bench
 * process (in the host's) cannot reach and Node cannot enter (no setns): the scraper is one
 * long-lived Node process in that netns (`ip netns exec`, started once, so no process start is
 * on a scrape), timing each fetch in-process and printing one JSON line per scrape.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { DAEMON_BINARY, startDaemon, type TestNode } from '../test/helpers/node.ts';
import { freePort } from '../test/helpers/ovsdb-server.ts';
import type { Cleanup } from './cleanup.ts';
import type { BenchConfig } from './config.ts';
import type { AttachMethod, Sample } from './method.ts';
import { ovnMultinet } from './ovn-multinet.ts';
import { compare, paired, type Comparison, type Paired, type Side } from './pairs.ts';
import { warmUp } from './phases.ts';
import { createPods, removePods, type Pod } from './pods.ts';
import { findDaemon, readMemory, type DaemonProc } from './rss.ts';
import { netnsScript } from './spawn.ts';
import { summarize, type Summary } from './stats.ts';

/**
 * Flags of both daemons besides the metrics port. Info is the daemon's default log level, as in
 * production. The grace: the two daemons share the node's Open_vSwitch database and br-int, and a
 * reconciler counts every br-int port with ovn-multinet's owner mark among its attachments,
 * whatever node its ids name; a host veth it finds no record of (the other daemon's veth, between
 * the other's DEL removing the records and the kernel destroying the veth, or in an ADD before the
 * OVS port exists) is an orphan to it. With the default grace (60 s) a long bench (a large
 * BENCH_RUNS, a loaded machine) could see one daemon remove the other's attachments or veths; an
 * hour is far longer than any run, so neither removes anything of the other's during the bench.
 */
export const DAEMON_ARGS: readonly string[] = ['--log-level', 'info', '--reconcile-grace', String(3_600_000)];

/** Scrape interval (ms). */
const SCRAPE_EVERY_MS = 1000;
/** A metric every scrape must hold: the on-daemon really records. */
const REQUEST_METRIC = 'ovn_multinet_cni_request_duration_seconds';

const SCRAPER = `
const [url, every, metric] = process.argv.slice(1);
setInterval(async () => {
  const t0 = performance.now();
  try {
    const r = await fetch(url);
    const body = await r.text();
    process.stdout.write(JSON.stringify({ ms: performance.now() - t0, status: r.status, bytes: body.length, metric: body.includes(metric) }) + '\\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ ms: performance.now() - t0, error: String(e) }) + '\\n');
  }
}, Number(every));
`;

export interface Scrape {
  readonly ms: number;
  readonly ok: boolean;
  readonly detail: string;
}

/** One line of the scraper, narrowed. */
export function parseScrape(line: string): Scrape {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ms: Number.NaN, ok: false, detail: `scraper printed ${JSON.stringify(line.slice(0, 200))}` };
  }
  if (typeof value !== 'object' || value === null || !('ms' in value) || typeof value.ms !== 'number') {
    return { ms: Number.NaN, ok: false, detail: `scraper printed ${JSON.stringify(line.slice(0, 200))}` };
  }
  const { ms } = value;
  if ('error' in value) return { ms, ok: false, detail: `GET /metrics failed: ${String(value.error)}` };
  const status = 'status' in value ? value.status : undefined;
  const metric = 'metric' in value ? value.metric : undefined;
  if (status !== 200) return { ms, ok: false, detail: `GET /metrics answered ${String(status)}` };
  if (metric !== true) return { ms, ok: false, detail: `GET /metrics holds no ${REQUEST_METRIC}` };
  return { ms, ok: true, detail: '' };
}

/** VmRSS of one daemon, KiB, or why it was not read. */
type Rss = number | string;

export interface MetricsCostFigures {
  readonly add: Comparison;
  readonly del: Comparison;
  readonly scrapes: Summary;
  readonly scrapesTotal: number;
  readonly rssAfterWarmUp: Readonly<Record<Side, Rss>>;
  readonly rssAfter: Readonly<Record<Side, Rss>>;
  readonly pairs: number;
  readonly warmup: number;
  readonly port: number;
}

export interface MetricsCostRun {
  readonly figures: MetricsCostFigures;
  /** Failed calls and scrapes, a call that reached the wrong daemon: any fails the bench. */
  readonly failures: readonly string[];
}

/** Containers the daemon logged "attached" for, among `ids`. */
function attachedIn(logs: ReadonlyArray<Record<string, unknown>>, ids: ReadonlySet<string>): number {
  return logs.filter((l) => l['msg'] === 'attached' && typeof l['containerId'] === 'string' && ids.has(l['containerId'])).length;
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const rssOf = async (daemon: DaemonProc | string): Promise<Rss> => (typeof daemon === 'string' ? daemon : readMemory(daemon.pid).then((m) => m.rssKiB, errText));

/**
 * Runs the phase on `node`, whose daemon was started with DAEMON_ARGS and whose logical switch
 * `network` exists. `quiesce` waits until the node's host veths are gone. The on-daemon is
 * stopped at the end; both daemons' attachments are all deleted.
 */
export async function metricsCost(cleanup: Cleanup, cfg: BenchConfig, node: TestNode, network: string, quiesce: () => Promise<void>): Promise<MetricsCostRun> {
  const port = await freePort();
  const onDaemon = await startDaemon(cleanup, node.sandbox, { nodeName: `${node.daemon.nodeName}-metrics`, extraArgs: [...DAEMON_ARGS, '--metrics-port', String(port)] });
  const procs: Record<Side, DaemonProc | string> = { off: await findDaemon(node.daemon.child.pid, DAEMON_BINARY), on: await findDaemon(onDaemon.child.pid, DAEMON_BINARY) };
  const methods: Record<Side, AttachMethod> = {
    off: { ...ovnMultinet(node, network), name: 'ovn-multinet (metrics off)' },
    on: { ...ovnMultinet(node, network, onDaemon.socket), name: 'ovn-multinet (metrics on)' },
  };
  const count = cfg.warmup + cfg.runs;
  const pods: Record<Side, Pod[]> = { off: await createPods(cleanup, count), on: await createPods(cleanup, count) };
  const scraper = netnsScript(cleanup, node.env.SANDBOX_NETNS, SCRAPER, [`http://127.0.0.1:${port}/metrics`, String(SCRAPE_EVERY_MS), REQUEST_METRIC]);
  // A scraper that could not start emits 'error': no scrape comes back, which fails the phase.
  const closed = once(scraper, 'close').catch(() => undefined);
  const scrapes: Scrape[] = [];
  if (scraper.stdout === null) throw new Error('the scraper has no stdout');
  createInterface({ input: scraper.stdout }).on('line', (line) => scrapes.push(parseScrape(line)));
  try {
    for (const side of ['off', 'on'] as const) await warmUp(methods[side], pods[side].slice(0, cfg.warmup));
    const rssAfterWarmUp = { off: await rssOf(procs.off), on: await rssOf(procs.on) };
    const call = (command: 'add' | 'del') => (side: Side, i: number): Promise<Sample> => {
      const pod = pods[side][cfg.warmup + i];
      if (pod === undefined) throw new Error(`no pod ${cfg.warmup + i} for ${side}`);
      return methods[side][command](pod);
    };
    const adds = await paired(cfg.runs, call('add'));
    const dels = await paired(cfg.runs, call('del'));
    scraper.kill('SIGTERM');
    await closed;
    await quiesce();
    const rssAfter = { off: await rssOf(procs.off), on: await rssOf(procs.on) };
    const failures = [...sampleFailures('ADD', adds), ...sampleFailures('DEL', dels), ...scrapes.filter((s) => !s.ok).map((s) => `metrics cost, scrape: ${s.detail}`)];
    if (scrapes.length === 0) failures.push('metrics cost: no scrape of /metrics came back');
    failures.push(...routingFailures(node, onDaemon.logs, pods));
    const ok = scrapes.filter((s) => s.ok).map((s) => s.ms);
    return {
      figures: { add: compare(adds), del: compare(dels), scrapes: summarize(ok), scrapesTotal: scrapes.length, rssAfterWarmUp, rssAfter, pairs: cfg.runs, warmup: cfg.warmup, port },
      failures,
    };
  } finally {
    if (scraper.exitCode === null && scraper.signalCode === null) scraper.kill('SIGTERM');
    await onDaemon.stop();
    await removePods([...pods.off, ...pods.on]);
  }
}

function sampleFailures(command: string, p: Paired): string[] {
  return (['off', 'on'] as const).flatMap((side) => p[side].filter((s) => !s.ok).map((s) => `metrics cost, ${command} with metrics ${side}: ${s.detail}`));
}

/** Each daemon attached exactly its own side's pods (warm-up included): no call went to the other. */
function routingFailures(node: TestNode, onLogs: ReadonlyArray<Record<string, unknown>>, pods: Readonly<Record<Side, readonly Pod[]>>): string[] {
  const ids = (side: Side): Set<string> => new Set(pods[side].map((p) => p.containerId));
  const logs: Record<Side, ReadonlyArray<Record<string, unknown>>> = { off: node.daemon.logs, on: onLogs };
  const out: string[] = [];
  for (const side of ['off', 'on'] as const) {
    const other: Side = side === 'off' ? 'on' : 'off';
    const own = attachedIn(logs[side], ids(side));
    const foreign = attachedIn(logs[side], ids(other));
    if (own !== pods[side].length || foreign !== 0) {
      out.push(`metrics cost: the metrics-${side} daemon logged "attached" for ${own} of its ${pods[side].length} pods and ${foreign} of the other daemon's`);
    }
  }
  return out;
}
