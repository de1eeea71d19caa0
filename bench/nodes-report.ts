/**
 * The many-nodes bench's Markdown report: one column per topology, every figure beside its
 * baseline from the same run, and issue 20's targets (item 5) as met or missed, never enforced.
 */
import { availableParallelism, release } from 'node:os';
import { NODES_DEFAULTS, NODES_ENV, type NodesConfig } from './nodes-config.ts';
import { IDLE_LIMIT_MS, IDLE_SHARE, IDLE_WINDOW_MS, type TopologyFigures } from './nodes-run.ts';
import type { RoleCpu, ServerRole } from './nodes-servers.ts';
import { ms, table, times } from './scale-report.ts';
import { summarize } from './stats.ts';

export interface NodesReport {
  readonly cfg: NodesConfig;
  readonly startedAt: string;
  readonly seconds: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  /** dist/ovn-multinetd's mtime and size. */
  readonly build: string;
  readonly topologies: readonly TopologyFigures[];
  /** Topologies whose run broke, and why (their figures are not in the tables). */
  readonly failures: readonly string[];
}

/** Issue 20, item 5. */
export const NODES_GOALS = {
  startMs: 10_000,
  firstUseMs: 5000,
  idleMs: 5000,
  connectCpuSeconds: 10,
  serveMs: 10_000,
  commitRatio: 2,
} as const;

/** The sizes the targets are stated for. */
const TARGET_SIZES = { daemons: 100, simulated: 1000, unrelated: 100_000 } as const;

const count = (n: number): string => n.toLocaleString('en-US');
const seconds = (s: number | undefined): string => (s === undefined ? '–' : `${s.toFixed(s < 10 ? 2 : 1)} s`);
/** A role's CPU over the `commits` timed commits, per commit. */
const perCommit = (c: RoleCpu, role: ServerRole, cfg: NodesConfig): string => ms(((c.get(role) ?? 0) * 1000) / cfg.commits);
const cpu = (c: RoleCpu, roles: readonly ServerRole[]): string => roles.map((role) => `${role} ${seconds(c.get(role) ?? 0)}`).join(', ');
const failures = (f: ReadonlyMap<string, number>): number => [...f.values()].reduce((a, b) => a + b, 0);
const byCode = (f: ReadonlyMap<string, number>): string => [...f].map(([code, n]) => `${n} × code ${code}`).join(', ');

/** One row: a label, then a cell per topology. */
type Row = readonly [string, ...string[]];

function section(title: string, topologies: readonly TopologyFigures[], rows: ReadonlyArray<Row>): string[] {
  return [`## ${title}`, '', ...table(['', ...topologies.map((t) => t.label)], rows), ''];
}

interface Target {
  readonly goal: string;
  /** Per topology: the measured value, and met, missed, or undefined when not measured. */
  readonly cells: ReadonlyArray<{ readonly measured: string; readonly met: boolean | undefined }>;
}

/** What the simulated nodes' connecting cost the server the target names: the raft leader, or the one NB. */
const connectCpu = (t: TopologyFigures): number | undefined => t.simulated?.connectCpu.get(t.kind === 'standalone' ? 'NB' : 'leader');

type Rest = NonNullable<NonNullable<TopologyFigures['simulated']>['rest']>;

/** A target measured once every simulated node connected: missed when some never did. */
function afterConnect(t: TopologyFigures, f: (rest: Rest) => Target['cells'][number]): Target['cells'][number] {
  if (t.simulated === undefined) return { measured: '–', met: undefined };
  if (t.simulated.rest === undefined) return { measured: `not reached (${t.simulated.connected}/${t.simulated.count} connected)`, met: false };
  return f(t.simulated.rest);
}

type Use = NonNullable<NonNullable<TopologyFigures['daemons']>['use']>;

/** A target measured once every daemon started: missed when some never did. */
function afterStart(t: TopologyFigures, f: (use: Use) => Target['cells'][number]): Target['cells'][number] {
  if (t.daemons === undefined) return { measured: '–', met: undefined };
  if (t.daemons.use === undefined) return { measured: `not reached (${t.daemons.started}/${t.daemons.count} started)`, met: false };
  return f(t.daemons.use);
}

export function nodesTargets(topologies: readonly TopologyFigures[]): Target[] {
  const cell = (value: number | undefined, shown: (v: number) => string, ok: (v: number) => boolean): Target['cells'][number] =>
    value === undefined || !Number.isFinite(value) ? { measured: '–', met: undefined } : { measured: shown(value), met: ok(value) };
  const per = (f: (t: TopologyFigures) => Target['cells'][number]): Target['cells'] => topologies.map(f);
  return [
    {
      goal: `N daemons: all started ≤ ${ms(NODES_GOALS.startMs)}`,
      cells: per((t) =>
        t.daemons !== undefined && t.daemons.started < t.daemons.count
          ? { measured: `only ${t.daemons.started}/${t.daemons.count} in ${ms(t.daemons.startWallMs)}`, met: false }
          : cell(t.daemons?.startWallMs, ms, (v) => v <= NODES_GOALS.startMs),
      ),
    },
    { goal: 'first use on every node at once: 0 failures (no retries)', cells: per((t) => afterStart(t, (use) => cell(failures(use.adds.failures), (v) => `${v}/${t.daemons?.count ?? 0}`, (v) => v === 0))) },
    { goal: `… in ≤ ${ms(NODES_GOALS.firstUseMs)}`, cells: per((t) => afterStart(t, (use) => cell(use.adds.wallMs, ms, (v) => v <= NODES_GOALS.firstUseMs))) },
    {
      goal: `… the NB idle again ≤ ${ms(NODES_GOALS.idleMs)} after`,
      cells: per((t) => afterStart(t, (use) => (use.idle.timedOut ? { measured: `not idle in ${ms(IDLE_LIMIT_MS)}`, met: false } : cell(use.idle.ms, ms, (v) => v <= NODES_GOALS.idleMs)))),
    },
    {
      goal: `M simulated nodes: all connecting costs the raft leader (standalone: the NB) ≤ ${NODES_GOALS.connectCpuSeconds} s of CPU`,
      cells: per((t) =>
        // Not all connected: what the others cost is not known, so not met whatever this says.
        t.simulated !== undefined && t.simulated.connected < t.simulated.count
          ? { measured: `${seconds(connectCpu(t))} and only ${t.simulated.connected}/${t.simulated.count} connected`, met: false }
          : cell(connectCpu(t), seconds, (v) => v <= NODES_GOALS.connectCpuSeconds),
      ),
    },
    { goal: `… a network's first use everywhere ≤ ${ms(NODES_GOALS.serveMs)}`, cells: per((t) => afterConnect(t, (rest) => cell(rest.serveWallMs, ms, (v) => v <= NODES_GOALS.serveMs))) },
    {
      goal: `… one commit p50 ≤ ${NODES_GOALS.commitRatio}× the commit with no monitors`,
      cells: per((t) => afterConnect(t, (rest) => cell(rest.commitMs / t.baselineCommitMs, (v) => `${times(v)} (${ms(rest.commitMs)} vs ${ms(t.baselineCommitMs)})`, (v) => v <= NODES_GOALS.commitRatio))),
    },
  ];
}

export function renderNodesReport(r: NodesReport): string {
  const { cfg, topologies: tops } = r;
  const la = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  const smaller = (Object.keys(TARGET_SIZES) as Array<keyof typeof TARGET_SIZES>).filter((k) => cfg[k] !== TARGET_SIZES[k]);
  const lines = [
    '# ovn-multinet many-nodes bench',
    '',
    `${r.startedAt}, ${availableParallelism()} CPUs, Linux ${release()}; load average ${la(r.loadBefore)} before, ${la(r.loadAfter)} after; ran ${(r.seconds / 60).toFixed(1)} min. Daemon: ${r.build}.`,
    `K = ${count(cfg.unrelated)} unrelated ports (${NODES_ENV.unrelated}); N = ${cfg.daemons} real daemons (${NODES_ENV.daemons}); M = ${count(cfg.simulated)} simulated nodes (${NODES_ENV.simulated}) over ${cfg.workers} worker processes (${NODES_ENV.workers}); R = ${cfg.relays} relays (${NODES_ENV.relays}); ${cfg.commits} commits per p50 (${NODES_ENV.commits}); the daemons get ${cfg.limitSeconds} s to answer STATUS, the simulated nodes as long to connect and then to serve a switch (${NODES_ENV.limitSeconds}).`,
    ...(smaller.length === 0 ? [] : ['', `**Reduced run**: ${smaller.map((k) => `${NODES_ENV[k]}=${count(cfg[k])} (target: ${count(TARGET_SIZES[k])})`).join(', ')}; the targets below are stated for the defaults (${count(NODES_DEFAULTS.daemons)} daemons, ${count(NODES_DEFAULTS.simulated)} simulated nodes, ${count(NODES_DEFAULTS.unrelated)} ports).`]),
    '',
    ...section('Setup', tops, [
      ['K unrelated ports inserted (2,000 a transaction)', ...tops.map((t) => seconds(t.fillSeconds))],
      ['one commit p50, no node connected: an unrelated switch', ...tops.map((t) => ms(t.baselineCommitMs))],
      ['… the switch the simulated nodes will serve: an ovn-multinet port', ...tops.map((t) => ms(t.baselineServedCommitMs))],
      ['… the same switch: someone else\'s port', ...tops.map((t) => ms(t.baselineServedForeignCommitMs))],
    ]),
  ];
  if (tops.some((t) => t.daemons !== undefined)) {
    const d = (f: (x: NonNullable<TopologyFigures['daemons']>, t: TopologyFigures) => string): string[] => tops.map((t) => (t.daemons === undefined ? '–' : f(t.daemons, t)));
    const u = (f: (x: Use, t: TopologyFigures) => string): string[] =>
      tops.map((t) => (t.daemons === undefined ? '–' : t.daemons.use === undefined ? `not reached (${t.daemons.started}/${t.daemons.count} started)` : f(t.daemons.use, t)));
    lines.push(
      ...section(`${cfg.daemons} real daemons`, tops, [
        ['start of all: spawn → the last STATUS ok', ...d((x) => (x.started === x.count ? ms(x.startWallMs) : `**${x.started}/${x.count} answered** in ${ms(x.startWallMs)} (${NODES_ENV.limitSeconds})`))],
        ['… each daemon\'s spawn → STATUS ok, p50', ...d((x) => ms(x.startP50Ms))],
        ['… NB server CPU meanwhile', ...d((x, t) => cpu(x.startCpu, t.roles))],
        ['first use (one IPAM-mode ADD each, at once, no retries): failed', ...u((x) => (failures(x.adds.failures) === 0 ? `0/${x.adds.ms.length}` : `**${failures(x.adds.failures)}/${x.adds.ms.length}**: ${byCode(x.adds.failures)}`))],
        ['… spawn of all → the last answer', ...u((x) => ms(x.adds.wallMs))],
        ['… each ADD, p50 / max', ...u((x) => `${ms(summarize(x.adds.ms).p50)} / ${ms(summarize(x.adds.ms).max)}`)],
        ['… NB server CPU until the last answer', ...u((x, t) => cpu(x.cpu, t.roles))],
        ['… last answer → NB idle', ...u((x) => (x.idle.timedOut ? `not idle in ${ms(IDLE_LIMIT_MS)}` : `${ms(x.idle.ms)} (${seconds(x.idle.cpuSeconds)} of CPU meanwhile)`))],
        ['NB connections dropped (daemons\' "ovsdb disconnected")', ...d((x) => String(x.dropped))],
      ]),
    );
  }
  if (tops.some((t) => t.simulated !== undefined)) {
    const s = (f: (x: NonNullable<TopologyFigures['simulated']>, t: TopologyFigures) => string): string[] => tops.map((t) => (t.simulated === undefined ? '–' : f(t.simulated, t)));
    const r = (f: (x: Rest, t: TopologyFigures) => string): string[] =>
      tops.map((t) => (t.simulated === undefined ? '–' : t.simulated.rest === undefined ? `not reached (${t.simulated.connected}/${t.simulated.count} connected)` : f(t.simulated.rest, t)));
    lines.push(
      ...section(`${count(cfg.simulated)} simulated nodes`, tops, [
        ['all connecting (monitors loaded): wall', ...s((x) => (x.connected === x.count ? ms(x.connectWallMs) : `**${x.connected}/${x.count} connected** after ${ms(x.connectWallMs)} (${NODES_ENV.limitSeconds})`))],
        ['… NB server CPU', ...s((x, t) => cpu(x.connectCpu, t.roles))],
        ['first use everywhere (every node serves one new switch): wall', ...r((x) => ms(x.serveWallMs))],
        ['… NB server CPU', ...r((x, t) => cpu(x.serveCpu, t.roles))],
        ['… nodes holding the switch in view', ...s((x) => (x.rest === undefined ? '–' : `${x.rest.inView}/${x.count}${x.rest.failed.length === 0 ? '' : `; failed: ${[...new Set(x.rest.failed)].slice(0, 3).join('; ')}`}`))],
        ['one commit p50 on an unrelated switch, all connected vs none', ...r((x, t) => `${ms(x.commitMs)} vs ${ms(t.baselineCommitMs)}: ${times(x.commitMs / t.baselineCommitMs)}`)],
        ['… servers\' CPU per commit there, all connected vs none', ...r((x, t) => t.roles.map((role) => `${role} ${perCommit(x.commitCpu, role, cfg)} vs ${perCommit(t.baselineCommitCpu, role, cfg)}`).join(', '))],
        ['one commit p50 on the switch every node serves (another node\'s ADD), vs none', ...r((x, t) => `${ms(x.servedCommitMs)} vs ${ms(t.baselineServedCommitMs)}: ${times(x.servedCommitMs / t.baselineServedCommitMs)}`)],
        ['… someone else\'s port there (every node\'s watch of the switch replaced), vs none', ...r((x, t) => `${ms(x.servedForeignCommitMs)} vs ${ms(t.baselineServedForeignCommitMs)}: ${times(x.servedForeignCommitMs / t.baselineServedForeignCommitMs)}`)],
        ['NB connections dropped (the nodes\' clients)', ...s((x) => String(x.dropped))],
      ]),
    );
  }
  if (r.failures.length > 0) lines.push('## Failures', '', ...r.failures.map((f) => `- ${f.replaceAll('\n', ' ').slice(0, 500)}`), '');
  lines.push(
    '## Targets (issue 20, item 5; reported, never enforced)',
    '',
    ...table(
      ['target', ...tops.map((t) => t.label)],
      nodesTargets(tops).map((t) => [t.goal, ...t.cells.map((c) => (c.met === undefined ? 'n/a' : `${c.measured}: ${c.met ? 'met' : '**missed**'}`))]),
    ),
    '',
    '## Notes',
    '',
    `- NB server CPU: utime + stime of each ovsdb-server (/proc/PID/stat, 10 ms ticks) between the phase's start and its end, per role (the one NB; or the raft leader, the two followers together, the relays together).`,
    `- Idle: the NB servers together (all roles) below ${IDLE_SHARE * 100} % of one CPU over a ${IDLE_WINDOW_MS} ms window; "last answer → NB idle" runs to the end of the first such window, so it is at least ${IDLE_WINDOW_MS} ms. Each phase starts once the servers are idle.`,
    '- Real daemons: `dist/ovn-multinetd daemon` each with its own bare Open_vSwitch ovsdb-server (br-int, no ovs-vswitchd), node name node-<i>, info log level, all spawned in one tick; STATUS is asked on each daemon\'s socket every 100 ms (the request the CNI executable sends), ok once both its database sessions have loaded their monitors. First use: the CNI executable in IPAM mode (a macvlan config with `ipam.type: ovn-multinet`, as macvlan runs its IPAM plugin), one per daemon, each with its own pod netns, on a switch none had used: addresses and one NB transaction, no veth, no OVS port, no OVN binding. A failure is an ADD whose exit status is not 0, by its CNI error code.',
    '- Simulated nodes: each the daemon\'s own NB view (daemon/ovn/node-view.ts `nodeNbView`, from the daemon\'s own flags and defaults: client, scope, indexes) with node name sim-<i>, so it asks the NB what a daemon of that name asks; spread over worker processes. Connecting: every client connected and its monitor loaded. First use: every node runs what an ADD runs first on its network (`scope.holding(name, () => scope.serve(name))`, then the switch lookup), all at once.',
    '- One commit: a transaction by the bench\'s own client (its monitor holds switch names only) inserting one logical switch port and adding it to its switch\'s `ports`, timed from send to reply, serially; the baseline is the same NB before any node connected.',
  );
  return lines.join('\n');
}
