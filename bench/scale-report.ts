/** The scale bench's Markdown report and issue 10's targets, computed against the same run's empty NB. */
import { availableParallelism, release } from 'node:os';
import type { Quiet } from './proc.ts';
import { kibToMB, mb } from './rss.ts';
import type { ScaleConfig } from './scale-config.ts';
import { SCALE_ENV } from './scale-config.ts';
import type { Summary } from './stats.ts';
import type { Target } from './targets.ts';

export interface DaemonStart {
  /** spawn → first STATUS ok, ms. */
  readonly statusOkMs: number;
  readonly nbConnectedMs: number | undefined;
  readonly statusTries: number;
  /** VmRSS 1 s after STATUS ok. */
  readonly rssKiB: number;
  /** The executable the daemon ran. */
  readonly build: { readonly id: string; readonly size: number; readonly mtime: string };
}

export interface AddFigures {
  readonly n: number;
  readonly ok: number;
  /** spawn of the executable → the daemon's "created logical switch port" (its NB commit). */
  readonly execToCommit: Summary;
  /** The daemon's "request received" → "created logical switch port" (its log, ms resolution): its own work and the NB commit. */
  readonly requestToCommit: Summary;
  /** The daemon's own allocateMs (its log, 0.1 ms): the address choice and the NB transaction, retries included. */
  readonly allocate: Summary;
  /** The daemon's own nbMs: the NB transaction's round trip within the allocation. */
  readonly nb: Summary;
  /** spawn → exit: the whole ADD, ovn-installed included. */
  readonly full: Summary;
  /** LSP committed → ovn-controller's ovn-installed: OVN's share. */
  readonly ovn: Summary;
  /** How long the bench waited for OVN to be idle before each ADD. */
  readonly quietMs: Summary;
  /** exec → LSP committed of the daemon's first ADD on this network (not in the figures above). */
  readonly firstExecToCommit: number | undefined;
  readonly ips: readonly string[];
}

/** IPAM-mode ADDs with ovn-northd paused: the allocation alone (scale.ts allocationPhase). */
export interface AllocationFigures {
  readonly n: number;
  readonly ok: number;
  /** spawn → exit of the executable: the request, the address choice and the NB commit. */
  readonly execToExit: Summary;
  /** The NB ovsdb-server's CPU time over a call, mean (ms; /proc/PID/stat counts 10 ms ticks). */
  readonly nbCpuMs: number;
}

export interface UnrelatedRun {
  readonly k: number;
  /** The insertion that brought the NB to k unrelated ports (none for k = 0). */
  readonly fill: { ports: number; insertMs: number; chunkMs: Summary; settle: Quiet } | undefined;
  readonly start: DaemonStart;
  readonly statusRtt: Summary;
  readonly nbFloor: Summary;
  /** The same commit as the daemon sends it, with its per-address guards. */
  readonly nbGuarded: Summary;
  readonly adds: AddFigures;
  /** The allocation alone on the empty switch of ours (IPAM mode, ovn-northd paused). */
  readonly allocation: AllocationFigures | undefined;
  readonly rssAfterAddsKiB: number;
  readonly rssAfterChurnKiB: number;
  readonly churn: { ports: number; windowMs: number; bytes: number; idleBytes: number } | undefined;
}

export interface OursRun {
  readonly ports: number;
  readonly fillMs: number;
  readonly chunkMs: Summary;
  readonly settle: Quiet;
  readonly start: DaemonStart;
  readonly restart: DaemonStart | undefined;
  readonly statusRtt: Summary;
  readonly nbFloor: Summary;
  readonly nbGuarded: Summary;
  /** The same commits on the switch of ours itself (its row holds every port and guard key). */
  readonly nbOnOurs: { bare: Summary; guarded: Summary };
  readonly onOurs: AddFigures;
  readonly onEmpty: AddFigures;
  readonly allocation: { onOurs: AllocationFigures | undefined; onEmpty: AllocationFigures | undefined };
  /** Addresses the ADDs on the switch of ours got (the first ADD's included), and how many were in use. */
  readonly allocated: number;
  readonly clashes: number;
}

export interface ScaleReport {
  readonly cfg: ScaleConfig;
  readonly rows: readonly UnrelatedRun[];
  readonly ours: OursRun | undefined;
  /** The distinct daemon executables the scenarios ran (one, unless dist/ was rebuilt meanwhile). */
  readonly builds: ReadonlyArray<DaemonStart['build']>;
  /** Run by scripts/bench.sh with dist/ pinned in a private mount namespace. */
  readonly pinned: boolean;
  readonly failures: readonly string[];
  readonly heading: { startedAt: string; seconds: number; loadBefore: number[]; loadAfter: number[] };
}

export const SCALE_GOALS = {
  /** At the largest K: RSS and the daemon's own ADD time ≤ this × the empty NB's. */
  unrelatedRatio: 1.1,
  /** start → STATUS ok, and restart → STATUS ok with ports of ours, ≤ this (ms). */
  statusMs: 2000,
  /** Bytes read during the churn beyond the idle period's: keep-alives' jitter only. */
  churnSlackBytes: 1024,
  /** Allocation on a switch with SCALE_OURS ports ≤ this × on the empty switch. */
  oursRatio: 1.2,
} as const;

const ALLOCATION_NOTE =
  'the same daemon is exec\'d as another plugin\'s IPAM (bench/scale-daemon.ts ipamAdd: a macvlan config with `ipam.type: ovn-multinet`, our executable run directly as macvlan runs its IPAM plugin): it allocates and records the addresses as a logical switch port in one NB transaction, guard keys included, and makes no veth and no OVS port, so nothing waits for OVN. ovn-northd is paused meanwhile (no recompute competes for the 2 CPUs; ovsdb-server still prepares its updates). 20 ms pass between calls (with a switch of ours of many ports, the calls alternate between it and the empty one); the NB ovsdb-server\'s utime + stime (/proc/PID/stat, 10 ms ticks) is read around each call, and the mean over the calls is its CPU per allocation. ovsdb-server is single-threaded and answers the transaction only once it has applied it, so its CPU on a call is on the call\'s path: the transaction on the switch row (its `ports` holds every port, its `external_ids` every guard key; OVS 3.1 spends time in proportion to the row) and the update of that row it prepares for each monitor of it.';

const fin = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
export const ms = (x: number | undefined): string => (!fin(x) ? '–' : x < 100 ? `${x.toFixed(1)} ms` : x < 10_000 ? `${x.toFixed(0)} ms` : `${(x / 1000).toFixed(1)} s`);
const p50p95 = (s: Summary): string => (s.n === 0 ? '–' : `${ms(s.p50)} (p95 ${ms(s.p95)}, n=${s.n})`);
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (fin(a) && fin(b) && b > 0 ? a / b : undefined);
export const times = (r: number | undefined): string => (fin(r) ? `${r.toFixed(2)}×` : '–');
const bytes = (b: number | undefined): string =>
  !fin(b) ? '–' : Math.abs(b) >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : Math.abs(b) >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b.toFixed(0)} B`;
const count = (n: number): string => n.toLocaleString('en-US');

/** exec → commit, less what a request doing nothing costs (STATUS) and the NB's commit of the daemon's transaction. */
const daemonShare = (r: { adds: AddFigures; statusRtt: Summary; nbGuarded: Summary }): number => r.adds.execToCommit.p50 - r.statusRtt.p50 - r.nbGuarded.p50;

/** An allocation's exec → exit (p50) less the NB server's CPU spent on it (mean): what is not ovsdb-server's. */
const withoutNb = (a: AllocationFigures | undefined): number | undefined => (a === undefined || a.ok === 0 ? undefined : a.execToExit.p50 - a.nbCpuMs);

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function unrelatedTables(rows: readonly UnrelatedRun[]): string[] {
  const empty = rows[0];
  const header = ['', ...rows.map((r) => (r.k === 0 ? 'empty NB' : `${count(r.k)} unrelated ports`))];
  const perPort = (r: UnrelatedRun): string => {
    if (empty === undefined || r.k === 0) return '';
    return ` (${((r.start.rssKiB - empty.start.rssKiB) * 1024 / r.k / 1000).toFixed(2)} kB per port)`;
  };
  const daemon: string[][] = [
    ['daemon RSS, 1 s after STATUS ok', ...rows.map((r) => `${mb(r.start.rssKiB)}${perPort(r)}`)],
    ['… ÷ empty NB', ...rows.map((r) => times(ratio(r.start.rssKiB, empty?.start.rssKiB)))],
    ['daemon RSS after the ADDs / after the churn', ...rows.map((r) => `${mb(r.rssAfterAddsKiB)} / ${mb(r.rssAfterChurnKiB)}`)],
    ['start → STATUS ok (spawn → first ok STATUS exits)', ...rows.map((r) => `${ms(r.start.statusOkMs)} (${r.start.statusTries} not ok before)`)],
    ['start → "connected to the OVN Northbound database" (log)', ...rows.map((r) => ms(r.start.nbConnectedMs))],
    ['STATUS round trip on the running daemon, p50', ...rows.map((r) => ms(r.statusRtt.p50))],
    ['NB floor: one-port commit, northd paused, p50', ...rows.map((r) => ms(r.nbFloor.p50))],
    ['… the daemon\'s transaction (guard keys taken on the switch first), p50', ...rows.map((r) => ms(r.nbGuarded.p50))],
    ['**exec → LSP committed** (daemon\'s own ADD time)', ...rows.map((r) => p50p95(r.adds.execToCommit))],
    ['… ÷ empty NB (p50)', ...rows.map((r) => times(ratio(r.adds.execToCommit.p50, empty?.adds.execToCommit.p50)))],
    ['the daemon\'s first ADD on the network (warm-up, its monitor condition grows), exec → LSP committed', ...rows.map((r) => ms(r.adds.firstExecToCommit))],
    ['daemon processing ≈ exec → commit − STATUS round trip − the daemon\'s transaction (p50s)', ...rows.map((r) => ms(daemonShare(r)))],
    ['**request received → LSP committed** (the daemon\'s log: its own work and the NB commit)', ...rows.map((r) => p50p95(r.adds.requestToCommit))],
    ['… ÷ empty NB (p50)', ...rows.map((r) => times(ratio(r.adds.requestToCommit.p50, empty?.adds.requestToCommit.p50)))],
    ['… of which the allocation: address choice and NB transaction (the daemon\'s `allocateMs`)', ...rows.map((r) => p50p95(r.adds.allocate))],
    ['… of which the NB transaction\'s round trip (the daemon\'s `nbMs`)', ...rows.map((r) => p50p95(r.adds.nb))],
    ['ADDs ok', ...rows.map((r) => `${r.adds.ok}/${r.adds.n}`)],
    ['**allocation alone** (IPAM mode, ovn-northd paused), exec → exit', ...rows.map((r) => (r.allocation === undefined ? '–' : p50p95(r.allocation.execToExit)))],
    ['… ÷ empty NB (p50)', ...rows.map((r) => times(ratio(r.allocation?.execToExit.p50, empty?.allocation?.execToExit.p50)))],
    ['NB ovsdb-server CPU per allocation, mean', ...rows.map((r) => ms(r.allocation?.nbCpuMs))],
    ['bytes read during the churn (window)', ...rows.map((r) => (r.churn === undefined ? '–' : `${bytes(r.churn.bytes)} (${ms(r.churn.windowMs)})`))],
    ['bytes read, idle period as long', ...rows.map((r) => bytes(r.churn?.idleBytes))],
    ['**churn beyond idle**, per port event', ...rows.map((r) => (r.churn === undefined ? '–' : `${bytes(r.churn.bytes - r.churn.idleBytes)}, ${((r.churn.bytes - r.churn.idleBytes) / (2 * r.churn.ports)).toFixed(0)} B`))],
  ];
  const ovn: string[][] = [
    ['ports inserted (raw transactions of 2000)', ...rows.map((r) => (r.fill === undefined ? '–' : `${count(r.fill.ports)} in ${ms(r.fill.insertMs)} (p50 ${ms(r.fill.chunkMs.p50)} per transaction)`))],
    ['OVN busy after the insertion (wall, CPU of northd + controller + ovsdb-servers)', ...rows.map((r) => (r.fill === undefined ? '–' : `${ms(r.fill.settle.ms)}, ${r.fill.settle.cpuSeconds.toFixed(1)} CPU s${r.fill.settle.timedOut ? ' (gave up)' : ''}`))],
    ['full ADD, exec → exit (ovn-installed included), p50', ...rows.map((r) => p50p95(r.adds.full))],
    ['OVN: LSP committed → ovn-installed, p50', ...rows.map((r) => p50p95(r.adds.ovn))],
    ['wait for OVN idle before each ADD, p50 (max)', ...rows.map((r) => `${ms(r.adds.quietMs.p50)} (${ms(r.adds.quietMs.max)})`)],
  ];
  return [
    '## The daemon as unrelated ports grow',
    '',
    ...table(header, daemon),
    '',
    '### OVN\'s share (the floor we do not own)',
    '',
    ...table(header, ovn),
  ];
}

function oursTable(o: OursRun, empty: UnrelatedRun | undefined): string[] {
  const row = (label: string, f: (a: AddFigures) => string): string[] => [label, f(o.onEmpty), f(o.onOurs)];
  const both = (label: string, value: string): string[] => [label, value, value];
  const share = (a: AddFigures): string => ms(a.execToCommit.p50 - o.statusRtt.p50 - o.nbGuarded.p50);
  const alloc = (label: string, f: (a: AllocationFigures) => string): string[] => [label, ...[o.allocation.onEmpty, o.allocation.onOurs].map((a) => (a === undefined ? '–' : f(a)))];
  return [
    `## One switch of ours with ${count(o.ports)} ports`,
    '',
    `${count(o.ports)} ports inserted in ${ms(o.fillMs)} (p50 ${ms(o.chunkMs.p50)} per transaction of 2000), addresses from the bottom of the /16 (gateway + 1 upwards), owned by 100 other nodes, with their guard keys on the switch, on a switch made local to this chassis beforehand (an OVS internal port bound to an address-less anchor port); OVN busy ${ms(o.settle.ms)} afterwards (${o.settle.cpuSeconds.toFixed(0)} CPU s${o.settle.timedOut ? ', gave up waiting' : ''}: ovn-controller translating the logical flows of every port of a local switch — OVN's cost, once). One fresh daemon: RSS ${mb(o.start.rssKiB)}, start → STATUS ok ${ms(o.start.statusOkMs)}; its first ADD on each switch, then ADDs on both in turns, each once OVN is idle. Both switches share this NB, so both pay what ovsdb-server spends on the NB's size; the empty NB of the first scenario is the third reference.`,
    '',
    ...table(
      ['', 'empty switch', `${count(o.ports)} ports`],
      [
        row('**exec → LSP committed** (allocation and commit)', (a) => p50p95(a.execToCommit)),
        ['… ÷ empty switch (p50)', '1.00×', times(ratio(o.onOurs.execToCommit.p50, o.onEmpty.execToCommit.p50))],
        row('… ÷ empty NB, same switch (p50)', (a) => times(ratio(a.execToCommit.p50, empty?.adds.execToCommit.p50))),
        both('STATUS round trip, p50', ms(o.statusRtt.p50)),
        both('NB floor: one-port commit, northd paused, p50', ms(o.nbFloor.p50)),
        both('… the daemon\'s transaction (guard keys taken on the switch first), p50', ms(o.nbGuarded.p50)),
        ['the same two on the switch itself (its row: every port and guard key), p50', `${ms(o.nbFloor.p50)} / ${ms(o.nbGuarded.p50)}`, `${ms(o.nbOnOurs.bare.p50)} / ${ms(o.nbOnOurs.guarded.p50)}`],
        row('daemon processing ≈ exec → commit − STATUS round trip − the daemon\'s transaction (p50s)', share),
        row('**request received → LSP committed** (the daemon\'s log)', (a) => p50p95(a.requestToCommit)),
        row('… of which the allocation: address choice and NB transaction (the daemon\'s `allocateMs`)', (a) => p50p95(a.allocate)),
        row('… of which the NB transaction\'s round trip (the daemon\'s `nbMs`)', (a) => p50p95(a.nb)),
        row('the daemon\'s first ADD on the switch (warm-up, its monitor condition grows), exec → LSP committed', (a) => ms(a.firstExecToCommit)),
        row('full ADD, exec → exit, p50', (a) => p50p95(a.full)),
        row('OVN: LSP committed → ovn-installed, p50', (a) => p50p95(a.ovn)),
        row('ADDs ok', (a) => `${a.ok}/${a.n}`),
        alloc('**allocation alone** (IPAM mode, ovn-northd paused), exec → exit', (a) => p50p95(a.execToExit)),
        ['… ÷ empty switch (p50)', '1.00×', times(ratio(o.allocation.onOurs?.execToExit.p50, o.allocation.onEmpty?.execToExit.p50))],
        alloc('NB ovsdb-server CPU per allocation, mean', (a) => ms(a.nbCpuMs)),
        alloc('allocation alone less the NB server\'s CPU (p50 − mean)', (a) => ms(withoutNb(a))),
        ['… ÷ empty switch', '1.00×', times(ratio(withoutNb(o.allocation.onOurs), withoutNb(o.allocation.onEmpty)))],
        alloc('allocations ok', (a) => `${a.ok}/${a.n}`),
        ['addresses allocated (first ADD included) that were already in use', '–', `${o.clashes} of ${o.allocated}`],
      ],
    ),
    '',
    o.restart === undefined
      ? 'Restart: not measured.'
      : `Daemon restart (SIGTERM, new process on the same socket, ${o.onOurs.ok + o.onEmpty.ok + 2} attachments in place, the first ADDs' included): start → STATUS ok **${ms(o.restart.statusOkMs)}** ("connected to the OVN Northbound database" at ${ms(o.restart.nbConnectedMs)}), RSS ${mb(o.restart.rssKiB)}.`,
  ];
}

function targets(r: ScaleReport): Target[] {
  const empty = r.rows[0];
  const last = r.rows.length > 1 ? r.rows[r.rows.length - 1] : undefined;
  const out: Target[] = [];
  if (empty !== undefined && last !== undefined) {
    const at = `${count(last.k)} unrelated ports`;
    const rss = ratio(last.start.rssKiB, empty.start.rssKiB);
    out.push({ goal: `${at}: daemon RSS ≤ ${SCALE_GOALS.unrelatedRatio}× empty NB`, measured: `${mb(last.start.rssKiB)} vs ${mb(empty.start.rssKiB)}: ${times(rss)}`, met: fin(rss) ? rss <= SCALE_GOALS.unrelatedRatio : undefined });
    const add = ratio(last.adds.execToCommit.p50, empty.adds.execToCommit.p50);
    out.push({
      goal: `${at}: own ADD time (exec → LSP committed, p50) ≤ ${SCALE_GOALS.unrelatedRatio}× empty NB`,
      measured: `${ms(last.adds.execToCommit.p50)} vs ${ms(empty.adds.execToCommit.p50)}: ${times(add)}`,
      met: fin(add) ? add <= SCALE_GOALS.unrelatedRatio : undefined,
    });
    const own = ratio(last.adds.requestToCommit.p50, empty.adds.requestToCommit.p50);
    out.push({
      goal: `${at}: the daemon's processing (request received → LSP committed, its log, p50) ≤ ${SCALE_GOALS.unrelatedRatio}× empty NB`,
      measured: `${ms(last.adds.requestToCommit.p50)} vs ${ms(empty.adds.requestToCommit.p50)}: ${times(own)}`,
      met: fin(own) ? own <= SCALE_GOALS.unrelatedRatio : undefined,
    });
    const alone = ratio(last.allocation?.execToExit.p50, empty.allocation?.execToExit.p50);
    out.push({
      goal: `${at}: allocation alone (IPAM mode, ovn-northd paused: exec → exit, p50) ≤ ${SCALE_GOALS.unrelatedRatio}× empty NB`,
      measured: `${ms(last.allocation?.execToExit.p50)} vs ${ms(empty.allocation?.execToExit.p50)}: ${times(alone)}`,
      met: fin(alone) ? alone <= SCALE_GOALS.unrelatedRatio : undefined,
    });
    out.push({ goal: `${at}: start → STATUS ok ≤ ${SCALE_GOALS.statusMs / 1000} s`, measured: ms(last.start.statusOkMs), met: last.start.statusOkMs <= SCALE_GOALS.statusMs });
    const churn = last.churn;
    out.push({
      goal: `${at}: bytes received for ${churn === undefined ? 'unrelated' : count(churn.ports)} unrelated ports created and deleted: none beyond keep-alives (≤ idle + ${SCALE_GOALS.churnSlackBytes} B)`,
      measured: churn === undefined ? 'not measured (SCALE_CHURN=0)' : `${bytes(churn.bytes)} vs ${bytes(churn.idleBytes)} idle`,
      met: churn === undefined ? undefined : churn.bytes - churn.idleBytes <= SCALE_GOALS.churnSlackBytes,
    });
  }
  const o = r.ours;
  if (o !== undefined) {
    const alloc = ratio(o.onOurs.execToCommit.p50, o.onEmpty.execToCommit.p50);
    out.push({
      goal: `${count(o.ports)} ports on a switch of ours: allocation (exec → LSP committed, p50) ≤ ${SCALE_GOALS.oursRatio}× the empty switch`,
      measured: `${ms(o.onOurs.execToCommit.p50)} vs ${ms(o.onEmpty.execToCommit.p50)}: ${times(alloc)}`,
      met: fin(alloc) ? alloc <= SCALE_GOALS.oursRatio : undefined,
    });
    const alone = ratio(o.allocation.onOurs?.execToExit.p50, o.allocation.onEmpty?.execToExit.p50);
    out.push({
      goal: `${count(o.ports)} ports on a switch of ours: allocation alone (IPAM mode, ovn-northd paused: exec → exit, p50) ≤ ${SCALE_GOALS.oursRatio}× the empty switch`,
      measured: `${ms(o.allocation.onOurs?.execToExit.p50)} vs ${ms(o.allocation.onEmpty?.execToExit.p50)}: ${times(alone)}`,
      met: fin(alone) ? alone <= SCALE_GOALS.oursRatio : undefined,
    });
    const share = ratio(withoutNb(o.allocation.onOurs), withoutNb(o.allocation.onEmpty));
    out.push({
      goal: `${count(o.ports)} ports on a switch of ours: the same less the NB server's CPU on it (what is not ovsdb-server's) ≤ ${SCALE_GOALS.oursRatio}× the empty switch`,
      measured: `${ms(withoutNb(o.allocation.onOurs))} vs ${ms(withoutNb(o.allocation.onEmpty))}: ${times(share)} (NB CPU ${ms(o.allocation.onOurs?.nbCpuMs)} vs ${ms(o.allocation.onEmpty?.nbCpuMs)})`,
      met: fin(share) ? share <= SCALE_GOALS.oursRatio : undefined,
    });
    out.push({
      goal: `${count(o.ports)} ports on a switch of ours: daemon restart → STATUS ok ≤ ${SCALE_GOALS.statusMs / 1000} s`,
      measured: o.restart === undefined ? 'not measured' : ms(o.restart.statusOkMs),
      met: o.restart === undefined ? undefined : o.restart.statusOkMs <= SCALE_GOALS.statusMs,
    });
  }
  return out;
}

export function renderScaleReport(r: ScaleReport): string {
  const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  const { cfg } = r;
  const empty = r.rows[0];
  const last = r.rows[r.rows.length - 1];
  const growth =
    empty !== undefined && last !== undefined && last.k > 0
      ? `Memory: ${mb(last.start.rssKiB)} at ${count(last.k)} unrelated ports against ${mb(empty.start.rssKiB)} on the empty NB, ${(((last.start.rssKiB - empty.start.rssKiB) * 1024) / last.k / 1000).toFixed(2)} kB per unrelated port (${kibToMB(last.start.rssKiB - empty.start.rssKiB).toFixed(0)} MB).`
      : '';
  const lines = [
    '# ovn-multinet scale bench',
    '',
    `${r.heading.startedAt}, ${availableParallelism()} CPUs, Linux ${release()}; load average ${la(r.heading.loadBefore)} before, ${la(r.heading.loadAfter)} after; ran ${(r.heading.seconds / 60).toFixed(1)} min.`,
    `Daemon: ${r.builds.map((b) => `dist/ovn-multinetd of ${b.mtime} (${count(b.size)} bytes)`).join(' and ')}${r.pinned ? ', pinned for the run (a copy bind-mounted in a private mount namespace by scripts/bench.sh)' : ', not pinned (bench/scale.ts run directly): a rebuild during the run would show as a second build'}.`,
    `Unrelated K = ${cfg.unrelated.map(count).join(', ')} (${SCALE_ENV.unrelated}) over ${cfg.switches} switches (${SCALE_ENV.switches}); ${count(cfg.ours)} ports on a switch of ours (${SCALE_ENV.ours}); ${cfg.adds} serial ADDs per scenario (${SCALE_ENV.adds}); churn of ${count(cfg.churn)} ports (${SCALE_ENV.churn}); ${cfg.probes} STATUS and NB floor probes (${SCALE_ENV.probes}).`,
    '',
    ...unrelatedTables(r.rows),
    '',
    ...(r.ours === undefined ? [] : [...oursTable(r.ours, r.rows[0]), '']),
    '## Targets (issue 10; reported, never enforced)',
    '',
    ...table(
      ['target', 'measured', 'met'],
      targets(r).map((t) => [t.goal, t.measured, t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**']),
    ),
    '',
    '## Notes',
    '',
    ...[
      growth,
      'Each scenario starts a fresh `dist/ovn-multinetd daemon` (test/helpers/node.ts startDaemon, `--log-level debug`) in the sandbox node\'s netns; its pid is the spawned process\'s own (`ip netns exec` execs in place; /proc/PID/exe checked). RSS is VmRSS from /proc/PID/status.',
      'start → STATUS ok: from the daemon\'s spawn, the CNI executable runs STATUS (`ip netns exec NODE dist/ovn-multinet`) again and again; the daemon answers ok once both its database sessions have loaded their monitors. The figure is the exit of the first ok call, so it holds up to one call\'s round trip (see the STATUS row) of polling slack.',
      'exec → LSP committed: from the spawn of the ADD\'s executable to the daemon\'s debug line "created logical switch port" (pino `time`, ms), which it logs right after the NB transaction\'s reply. It holds `ip netns exec`, the Go executable\'s start, the request, the switch lookup, the address choice and the NB commit. "NB floor": one port inserted by a client that monitors only switch names, with ovn-northd paused; "the daemon\'s transaction": the same port committed as the daemon commits it (daemon/ipam/allocate.ts creationOps: the port\'s guard keys inserted on the switch and a `wait` for them, both by the switch\'s `_uuid`, then the insert), from the same client — what ovsdb-server spends on the daemon\'s transaction as the NB grows. "daemon processing" takes off a STATUS round trip (exec, start, request and reply doing no work) and the daemon\'s transaction: what is left is the daemon\'s own work before its commit, give or take a millisecond.',
      'Every ADD starts once OVN is idle: northd, ovn-controller, the three ovsdb-servers and ovs-vswitchd together below 5% of a CPU for two 300 ms windows (/proc/PID/stat). OVN 23.03\'s ovn-northd recomputes everything on each NB change, so with many ports the previous change would otherwise still be taking a CPU of this 2-CPU machine while the next ADD is timed. The ADDs wait for ovn-installed; the DELs (untimed) follow all the ADDs. Each daemon\'s first ADD on a network is a warm-up (its code is loaded and compiled, its monitor condition grows to the switch): printed on its own row, not in the p50s.',
      `Allocation alone (in each scenario, after its ADDs): ${ALLOCATION_NOTE}`,
      'OVN\'s share: from the daemon\'s "created logical switch port" to the Open_vSwitch database\'s commit of ovn-controller\'s `ovn-installed="true"` on the port\'s Interface (`ovsdb-tool show-log -mm`), both ms resolution.',
      `Churn: ${count(cfg.churn)} ports are inserted on the unrelated switches (transactions of 2000) and then deleted, while the daemon's \`rchar\` (/proc/PID/io: every byte its read() calls returned — Node reads its stream sockets with read()) is read before and once it has grown by less than 512 B in a second. rchar also counts the Open_vSwitch DB session, the CNI socket and files, none of which sees the churn, and keep-alives (echo every 5 s on each session): so the same count is taken over an idle period as long, once OVN is idle again, and the difference is what the churn cost. A port event is one insert or one delete; the update also carries the unrelated switch's \`ports\` change.`,
      'The NB is filled by raw transactions from the bench (bench/nb-fill.ts): unrelated ports shaped like OVN-Kubernetes\' (addresses, port_security, external_ids namespace/pod, options requested-chassis), cumulative from one K to the next, on switches no scenario uses.',
    ]
      .filter((l) => l !== '')
      .flatMap((l) => [l, '']),
    ...(r.failures.length === 0 ? ['No failures.'] : ['## Failures', '', ...r.failures.map((f) => `- ${f}`)]),
  ];
  return lines.join('\n');
}
