/**
 * npm run bench:scale (scripts/bench.sh --scale): what the daemon costs as the shared NB grows,
 * against the same daemon on an empty NB, in one run (issue 10, item 4). One sandbox node; the NB
 * is filled by raw transactions (nb-fill.ts) with K ports on switches this node never uses, and
 * in a second scenario with ports on one switch of ours; a fresh daemon is started for each.
 * Markdown report on stdout, progress on stderr. Exit 0 when it ran, targets met or not; 1 when
 * a step or an ADD failed, or cleanup left something behind. See README.md, "Scale".
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { eq, insert, mutate, mutation, type Operation } from '../daemon/ovsdb/ops.ts';
import { creationOps } from '../daemon/ipam/allocate.ts';
import { guardPairs } from '../daemon/ipam/guards.ts';
import { deleteKeysOps } from '../daemon/ovn/switch-keys.ts';
import type { LogicalSwitch } from '../daemon/ovn/switches.ts';
import { namedUuid, type Uuid } from '../daemon/ovsdb/notation.ts';
import { hostVethName } from '../daemon/cni-spec/names.ts';
import { e2eSkipReason } from '../test/helpers/node.ts';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.ts';
import type { OvsdbClient } from '../daemon/ovsdb/client.ts';
import { runBench, type Cleanup } from './cleanup.ts';
import { elapsedMs, sleep, stamp } from './clock.ts';
import type { Sample } from './method.ts';
import { createSwitches, deletePorts, insertPorts, nbWriter, oursAddresses, oursPort, unrelatedPort } from './nb-fill.ts';
import { firstChange, readDbLog, type DbRecord } from './ovsdb-log.ts';
import { createPods, removePods, type Pod } from './pods.ts';
import { cpuSeconds, readBytes, readsSettled, waitQuiet, type Quiet } from './proc.ts';
import { readMemory } from './rss.ts';
import { readScaleConfig, type ScaleConfig } from './scale-config.ts';
import { startTimedDaemon, type TimedDaemon } from './scale-daemon.ts';
import { renderScaleReport, type AddFigures, type AllocationFigures, type DaemonStart, type OursRun, type UnrelatedRun } from './scale-report.ts';
import { summarize } from './stats.ts';

/** Our small switch: every scenario's ADDs on an empty switch go here. */
const OWN = 'scale-own';
const OWN_SUBNET = '10.210.0.0/16';
/** The switch of ours that holds SCALE_OURS ports. */
const OURS = 'scale-ours';
const OURS_SUBNET = '10.200.0.0/16';
/** Where the NB floor's single-port transactions go. */
const FLOOR = 'scale-floor';

const progress = (msg: string): void => {
  process.stderr.write(`bench:scale: ${msg}\n`);
};
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

interface Env {
  readonly cleanup: Cleanup;
  readonly cfg: ScaleConfig;
  readonly sandbox: Sandbox;
  readonly writer: OvsdbClient;
  /** ovn-northd, ovn-controller, the ovsdb-servers, ovs-vswitchd. */
  readonly ovnPids: readonly number[];
  readonly floorSwitch: Uuid;
  readonly failures: string[];
}

/** Waits until OVN is idle before something is timed; notes a timeout as a failure. */
async function quiet(env: Env, what: string, maxMs = 180_000): Promise<Quiet> {
  const q = await waitQuiet(env.ovnPids, { maxMs });
  if (q.timedOut) env.failures.push(`OVN still busy ${(q.ms / 1000).toFixed(0)} s after ${what}; measured anyway`);
  return q;
}

async function hostVeths(sandbox: Sandbox): Promise<string[]> {
  const out = await sandbox.exec(['ls', '/sys/class/net']);
  return out.split('\n').map((s) => s.trim()).filter((s) => s.startsWith('omn'));
}

async function noHostVeths(sandbox: Sandbox, maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while ((await hostVeths(sandbox)).length > 0 && Date.now() < deadline) await sleep(50);
}

async function startDaemonFigures(env: Env, socket?: string): Promise<{ daemon: TimedDaemon; start: DaemonStart }> {
  const daemon = await startTimedDaemon(env.cleanup, env.sandbox, socket === undefined ? {} : { socket });
  // A moment for the first reconciler pass and the start's garbage to settle.
  await sleep(1000);
  const mem = await readMemory(daemon.pid);
  return { daemon, start: { statusOkMs: daemon.statusOkMs, nbConnectedMs: daemon.nbConnectedMs, statusTries: daemon.statusTries, rssKiB: mem.rssKiB, build: daemon.build } };
}

/** STATUS on the running daemon: the round trip of a request that does no work. */
async function statusRtt(env: Env, daemon: TimedDaemon): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < env.cfg.probes; i++) {
    const s = await daemon.status();
    if (s.ok) ms.push(s.ms);
    else env.failures.push(`STATUS: ${s.detail}`);
  }
  return ms;
}

/**
 * The NB's own commit time for one logical switch port, from a client that monitors nothing but
 * switch names, with ovn-northd paused (it would otherwise recompute between the commits), then
 * resumed; in turns: a bare insert (+ switch mutation), and the transaction the daemon sends
 * (daemon/ipam/allocate.ts creationOps: the guard keys inserted on the switch and a `wait` for
 * them, both selecting the switch by `_uuid`).
 */
async function nbFloor(env: Env, target: { uuid: Uuid; name: string } = { uuid: env.floorSwitch, name: FLOOR }): Promise<{ bare: number[]; guarded: number[] }> {
  const sw: LogicalSwitch = { uuid: target.uuid, name: target.name, ports: [], otherConfig: new Map(), externalIds: new Map() };
  const bare: number[] = [];
  const guarded: number[] = [];
  const commit = async (ops: readonly Operation[], index: number, into: number[], guardKeys: ReadonlyMap<string, string> = new Map()): Promise<void> => {
    const signal = AbortSignal.timeout(30_000);
    const start = stamp();
    const results = await env.writer.transact(ops, signal);
    into.push(elapsedMs(start, stamp()));
    const uuid = results[index]?.uuid;
    if (uuid !== undefined) await env.writer.transact([mutate('Logical_Switch', [eq('_uuid', target.uuid)], [mutation('ports', 'delete', [uuid])]), ...deleteKeysOps(target.uuid, guardKeys)], signal);
  };
  await env.sandbox.appctl('ovn-northd', ['pause']);
  try {
    for (let i = 0; i < env.cfg.probes; i++) {
      const mac = '0a:58:0a:d3:00:02';
      const ip = '10.211.0.2';
      await commit(
        [insert('Logical_Switch_Port', { name: `${target.name}-probe-${i}`, addresses: [`${mac} ${ip}`] }, 'port'), mutate('Logical_Switch', [eq('_uuid', target.uuid)], [mutation('ports', 'insert', [namedUuid('port')])])],
        0,
        bare,
      );
      const name = `${target.name}-probe-g${i}`;
      const { ops, guards } = creationOps(sw, { name, mac, ips: [ip], portSecurity: true, externalIds: new Map() });
      await commit(ops, guards, guarded, guardPairs([mac, ip], { port: name }));
    }
  } finally {
    await env.sandbox.appctl('ovn-northd', ['resume']);
  }
  return { bare, guarded };
}

interface AddRun {
  readonly pod: Pod;
  readonly network: string;
  readonly sample: Sample;
  readonly quietMs: number;
}

/** Each network once (its warm-up), then `perNetwork` on each, in turns. */
function inTurns(networks: readonly string[], perNetwork: number): string[] {
  return [...networks, ...Array.from({ length: perNetwork * networks.length }, (_, i) => networks[i % networks.length] ?? '')];
}

/**
 * Serial ADDs, each once OVN is idle: first one on each network (the daemon's first use of it:
 * its code is loaded and compiled, its monitor condition grows to the switch), kept apart from
 * the figures, then `perNetwork` on each network in turns.
 */
async function addPhase(env: Env, daemon: TimedDaemon, networks: readonly string[], perNetwork: number): Promise<{ firsts: AddRun[]; runs: AddRun[] }> {
  const plan = inTurns(networks, perNetwork);
  const pods = await createPods(env.cleanup, plan.length);
  const runs: AddRun[] = [];
  try {
    for (const [i, network] of plan.entries()) {
      const pod = pods[i];
      if (pod === undefined) throw new Error('no pod');
      const q = await quiet(env, 'the previous change');
      const sample = await daemon.add(pod, network);
      if (!sample.ok) env.failures.push(`ADD on ${network}: ${sample.detail}`);
      runs.push({ pod, network, sample, quietMs: q.ms });
    }
  } catch (err) {
    await removePods(pods);
    throw err;
  }
  return { firsts: runs.slice(0, networks.length), runs: runs.slice(networks.length) };
}

async function delPhase(env: Env, daemon: TimedDaemon, runs: readonly AddRun[]): Promise<void> {
  for (const r of runs) {
    if (!r.sample.ok) continue;
    const s = await daemon.del(r.pod, r.network);
    if (!s.ok) env.failures.push(`DEL on ${r.network}: ${s.detail}`);
  }
  await noHostVeths(env.sandbox);
  await removePods(runs.map((r) => r.pod));
}

/** IPAM-mode calls per switch in the allocation phase, per SCALE_ADDS: cheap, and the NB CPU figure is a mean of 10 ms ticks. */
const ALLOCATIONS_PER_ADD = 5;

/**
 * Allocation alone, on each network in turns: the daemon as another plugin's IPAM (no veth, no
 * OVS port, no OVN binding), with ovn-northd paused, so each call is the executable, the
 * daemon's address choice and the NB's commit, nothing else; and the NB ovsdb-server's CPU time
 * over each call (/proc/PID/stat). The records are released while northd is still paused, so it
 * sees no net change.
 */
async function allocationPhase(env: Env, daemon: TimedDaemon, networks: readonly string[], perNetwork: number): Promise<Map<string, AllocationFigures>> {
  const plan = inTurns(networks, perNetwork);
  const pods = await createPods(env.cleanup, plan.length);
  const nbPid = Number((await readFile(join(env.sandbox.dir, 'ovn', 'ovnnb_db.pid'), 'utf8')).trim());
  const calls: Array<{ network: string; sample: Sample; nbCpuMs: number }> = [];
  await env.sandbox.appctl('ovn-northd', ['pause']);
  try {
    for (const [i, network] of plan.entries()) {
      const pod = pods[i];
      if (pod === undefined) throw new Error('no pod');
      const before = await cpuSeconds(nbPid);
      const sample = await daemon.ipamAdd(pod, network);
      const nbCpuMs = ((await cpuSeconds(nbPid)) - before) * 1000;
      if (!sample.ok) env.failures.push(`IPAM ADD on ${network}: ${sample.detail}`);
      calls.push({ network, sample, nbCpuMs });
      // The daemon's work after its answer (its log line, the request's end) stays out of the next call.
      await sleep(20);
    }
    for (const [i, call] of calls.entries()) {
      const pod = pods[i];
      if (pod === undefined || !call.sample.ok) continue;
      const s = await daemon.ipamDel(pod, call.network);
      if (!s.ok) env.failures.push(`IPAM DEL on ${call.network}: ${s.detail}`);
    }
  } finally {
    await env.sandbox.appctl('ovn-northd', ['resume']);
    await removePods(pods);
  }
  const timed = calls.slice(networks.length);
  return new Map(
    networks.map((network) => {
      const mine = timed.filter((c) => c.network === network);
      const ok = mine.filter((c) => c.sample.ok);
      return [network, { n: mine.length, ok: ok.length, execToExit: summarize(ok.map((c) => c.sample.ms)), nbCpuMs: ok.reduce((sum, c) => sum + c.nbCpuMs, 0) / Math.max(1, ok.length) }];
    }),
  );
}

/** ovn-controller's `ovn-installed="true"` on the pod's OVS Interface (Open_vSwitch DB log). */
function installedAt(ovs: readonly DbRecord[], pod: Pod): number | undefined {
  const veth = hostVethName(pod.containerId, pod.ifName);
  const inserted = firstChange(ovs, (c) => c.table === 'Interface' && c.kind === 'insert' && c.row === veth);
  if (inserted === undefined) return undefined;
  return firstChange(ovs, (c) => c.table === 'Interface' && c.row === veth && c.columns.some((col) => col.includes('ovn-installed="true"')), inserted);
}

function addFigures(daemon: TimedDaemon, network: string, all: { firsts: readonly AddRun[]; runs: readonly AddRun[] }, ovs: readonly DbRecord[]): AddFigures {
  const runs = all.runs.filter((r) => r.network === network);
  const first = all.firsts.find((r) => r.network === network);
  const firstAt = first === undefined || !first.sample.ok ? undefined : daemon.committed(first.pod).at;
  const ok = runs.filter((r) => r.sample.ok);
  const execToCommit: number[] = [];
  const requestToCommit: number[] = [];
  const allocate: number[] = [];
  const nb: number[] = [];
  const ovn: number[] = [];
  const ips: string[] = [];
  for (const r of ok) {
    const c = daemon.committed(r.pod);
    if (c.ip !== undefined) ips.push(c.ip);
    if (c.at === undefined) continue;
    execToCommit.push(c.at - r.sample.start.wallMs);
    if (c.receivedAt !== undefined) requestToCommit.push(c.at - c.receivedAt);
    if (c.allocateMs !== undefined) allocate.push(c.allocateMs);
    if (c.nbMs !== undefined) nb.push(c.nbMs);
    const inst = installedAt(ovs, r.pod);
    if (inst !== undefined) ovn.push(inst - c.at);
  }
  return {
    n: runs.length,
    ok: ok.length,
    execToCommit: summarize(execToCommit),
    requestToCommit: summarize(requestToCommit),
    allocate: summarize(allocate),
    nb: summarize(nb),
    full: summarize(ok.map((r) => r.sample.ms)),
    ovn: summarize(ovn),
    quietMs: summarize(runs.map((r) => r.quietMs)),
    firstExecToCommit: firstAt === undefined || first === undefined ? undefined : firstAt - first.sample.start.wallMs,
    ips,
  };
}

const ovsLog = (env: Env): Promise<DbRecord[]> => readDbLog(join(env.sandbox.env.OVS_DBDIR, 'conf.db'));

/**
 * Bytes the daemon reads while `count` unrelated ports are created and then deleted (rchar from
 * /proc/PID/io, until its reads settle), and over an idle period as long, once OVN is idle again.
 */
async function churnPhase(env: Env, daemon: TimedDaemon, unrelated: readonly Uuid[], base: number): Promise<UnrelatedRun['churn']> {
  const { churn, switches } = env.cfg;
  if (churn === 0) return undefined;
  const before = await readBytes(daemon.pid);
  const start = stamp();
  const inserted = await insertPorts(env.writer, unrelated, churn, (i) => unrelatedPort(i, switches, base));
  await deletePorts(env.writer, unrelated, inserted);
  const after = await readsSettled(daemon.pid);
  const windowMs = elapsedMs(start, stamp());
  await quiet(env, 'the churn');
  const idleBefore = await readBytes(daemon.pid);
  await sleep(windowMs);
  const idleBytes = (await readBytes(daemon.pid)) - idleBefore;
  return { ports: churn, windowMs, bytes: after - before, idleBytes };
}

async function unrelatedPhase(env: Env, k: number, unrelated: readonly Uuid[], fill: UnrelatedRun['fill'], churnBase: number): Promise<UnrelatedRun> {
  progress(`${k} unrelated ports: fresh daemon, start → STATUS ok`);
  const { daemon, start } = await startDaemonFigures(env);
  try {
    const rtt = await statusRtt(env, daemon);
    progress(`${k} unrelated ports: NB floor (${env.cfg.probes} bare and ${env.cfg.probes} guarded single-port commits, ovn-northd paused)`);
    const floor = await nbFloor(env);
    progress(`${k} unrelated ports: 1 + ${env.cfg.adds} serial ADDs on ${OWN}, each once OVN is idle`);
    const done = await addPhase(env, daemon, [OWN], env.cfg.adds);
    await delPhase(env, daemon, [...done.firsts, ...done.runs]);
    const adds = addFigures(daemon, OWN, done, await ovsLog(env));
    await quiet(env, 'the DELs');
    progress(`${k} unrelated ports: allocation alone, 1 + ${env.cfg.adds * ALLOCATIONS_PER_ADD} IPAM-mode ADDs on ${OWN}, ovn-northd paused`);
    const allocation = (await allocationPhase(env, daemon, [OWN], env.cfg.adds * ALLOCATIONS_PER_ADD)).get(OWN);
    await quiet(env, 'the allocations');
    const rssAfterAddsKiB = (await readMemory(daemon.pid)).rssKiB;
    progress(`${k} unrelated ports: bytes read while ${env.cfg.churn} unrelated ports are created and deleted`);
    const churn = await churnPhase(env, daemon, unrelated, churnBase);
    const rssAfterChurnKiB = (await readMemory(daemon.pid)).rssKiB;
    return { k, fill, start, statusRtt: summarize(rtt), nbFloor: summarize(floor.bare), nbGuarded: summarize(floor.guarded), adds, allocation, rssAfterAddsKiB, rssAfterChurnKiB, churn };
  } finally {
    await daemon.proc.stop();
  }
}

/**
 * One switch of ours with SCALE_OURS ports (addresses from the bottom of its /16): ADDs on it and
 * on the empty switch in turns, from one fresh daemon; then the daemon is restarted with those
 * attachments in place, and STATUS timed again.
 *
 * The switch is made local to this chassis before it is filled (an OVS internal port bound to
 * an "anchor" port without addresses): ovn-controller 23.03 then translates the logical flows of
 * its ports while they come, taking minutes of CPU at 20,000 ports here. Were the switch first
 * bound by an ADD, that ADD would wait for all of it and time out.
 */
async function oursPhase(env: Env): Promise<OursRun> {
  const { ours, adds } = env.cfg;
  progress(`${ours} ports on ${OURS} (${OURS_SUBNET}), made local to this chassis first`);
  const [uuid] = await createSwitches(env.writer, [{ name: OURS, otherConfig: new Map([['subnet', OURS_SUBNET]]) }]);
  if (uuid === undefined) throw new Error(`no uuid for ${OURS}`);
  const anchor = `${OURS}-anchor`;
  try {
    await env.sandbox.nbctl(['lsp-add', OURS, anchor]);
    await env.sandbox.vsctl(['add-port', env.sandbox.env.SANDBOX_BRIDGE || 'br-int', anchor, '--', 'set', 'Interface', anchor, 'type=internal', `external_ids:iface-id=${anchor}`]);
    await env.sandbox.vsctl(['--timeout=120', 'wait-until', 'Interface', anchor, 'external_ids:ovn-installed=true']);
    const filled = stamp();
    const ins = await insertPorts(env.writer, [uuid], ours, (i) => oursPort(i, OURS_SUBNET, uuid, OURS), {
      progress: (done) => {
        if (done % 10_000 === 0) progress(`  ${done}`);
      },
    });
    const fillMs = elapsedMs(filled, stamp());
    progress(`inserted in ${(fillMs / 1000).toFixed(1)} s; waiting for OVN (ovn-controller translates the flows of every port of a local switch)`);
    const settle = await quiet(env, `filling ${OURS}`, 1_200_000);
    progress(`${ours} ports on ${OURS}: fresh daemon, NB floor, then 1 + ${adds} ADDs on ${OURS} and on ${OWN}, in turns`);
    const first = await startDaemonFigures(env);
    const { start } = first;
    let { daemon } = first;
    let done: { firsts: AddRun[]; runs: AddRun[] } = { firsts: [], runs: [] };
    try {
      const rtt = await statusRtt(env, daemon);
      const floor = await nbFloor(env);
      // The same commits on the switch of 20,000 ports itself: what its row's size costs ovsdb-server.
      const onBig = await nbFloor(env, { uuid, name: OURS });
      done = await addPhase(env, daemon, [OURS, OWN], adds);
      const ovs = await ovsLog(env);
      await quiet(env, 'the ADDs');
      progress(`${ours} ports on ${OURS}: allocation alone, 1 + ${adds * ALLOCATIONS_PER_ADD} IPAM-mode ADDs on ${OURS} and on ${OWN}, in turns, ovn-northd paused`);
      const allocation = await allocationPhase(env, daemon, [OURS, OWN], adds * ALLOCATIONS_PER_ADD);
      const onOurs = addFigures(daemon, OURS, done, ovs);
      const onEmpty = addFigures(daemon, OWN, done, ovs);
      const all = [...done.firsts, ...done.runs];
      const allOurs = all.filter((r) => r.network === OURS);
      const ips = allOurs.map((r) => daemon.committed(r.pod).ip).filter((ip): ip is string => ip !== undefined);
      await quiet(env, 'the ADDs');
      progress(`${ours} ports on ${OURS}: daemon restart (SIGTERM, same socket, ${all.filter((r) => r.sample.ok).length} attachments in place) → STATUS ok`);
      await daemon.proc.stop();
      let restart: DaemonStart;
      ({ daemon, start: restart } = await startDaemonFigures(env, daemon.proc.socket));
      await delPhase(env, daemon, all);
      const existing = oursAddresses(ours, OURS_SUBNET);
      const clashes = ips.filter((ip) => existing.has(ip));
      if (clashes.length > 0) env.failures.push(`ADD on ${OURS} allocated addresses already in use: ${clashes.join(', ')}`);
      if (ips.length !== new Set(ips).size) env.failures.push(`ADDs on ${OURS} allocated one address twice`);
      if (ips.length !== allOurs.length) env.failures.push(`${allOurs.length - ips.length} ADDs on ${OURS} logged no committed port`);
      return {
        ports: ours,
        fillMs,
        chunkMs: summarize(ins.chunkMs),
        settle,
        start,
        restart,
        statusRtt: summarize(rtt),
        nbFloor: summarize(floor.bare),
        nbGuarded: summarize(floor.guarded),
        nbOnOurs: { bare: summarize(onBig.bare), guarded: summarize(onBig.guarded) },
        onOurs,
        onEmpty,
        allocation: { onOurs: allocation.get(OURS), onEmpty: allocation.get(OWN) },
        allocated: ips.length,
        clashes: clashes.length,
      };
    } finally {
      await removePods([...done.firsts, ...done.runs].map((r) => r.pod));
      await daemon.proc.stop();
    }
  } finally {
    await env.sandbox.vsctl(['--if-exists', 'del-port', anchor]).catch((err: unknown) => env.failures.push(`removing ${anchor}: ${errText(err)}`));
    await env.sandbox.nbctl(['--if-exists', 'ls-del', OURS]);
    await quiet(env, `deleting ${OURS}`, 1_200_000);
  }
}

async function bench(cleanup: Cleanup, cfg: ScaleConfig): Promise<{ text: string; failed: boolean }> {
  const started = Date.now();
  const loadBefore = loadavg();
  progress(`starting the sandbox node (unrelated K = ${cfg.unrelated.join(', ')}; ours = ${cfg.ours}; ${cfg.adds} ADDs per scenario; churn ${cfg.churn})`);
  const sandbox = await startSandbox({ netns: true, t: cleanup });
  const writer = await nbWriter(cleanup, sandbox.env.NB_DB);
  const [, floorSwitch] = await createSwitches(writer, [{ name: OWN, otherConfig: new Map([['subnet', OWN_SUBNET]]) }, { name: FLOOR }]);
  if (floorSwitch === undefined) throw new Error(`no uuid for ${FLOOR}`);
  const unrelated = await createSwitches(writer, Array.from({ length: cfg.switches }, (_, i) => ({ name: `unrelated-${i}` })));
  const env: Env = { cleanup, cfg, sandbox, writer, ovnPids: await sandbox.pids(), floorSwitch, failures: [] };
  await quiet(env, 'creating the switches');

  const rows: UnrelatedRun[] = [];
  let ours: OursRun | undefined;
  let have = 0;
  for (const [index, k] of cfg.unrelated.entries()) {
    let fill: UnrelatedRun['fill'];
    if (k > have) {
      progress(`inserting ${k - have} unrelated ports (${have} → ${k}) over ${cfg.switches} switches, 2000 per transaction`);
      const t0 = stamp();
      const ins = await insertPorts(writer, unrelated, k - have, (i) => unrelatedPort(i, cfg.switches, have), {
        progress: (done, ms) => {
          if (done % 20_000 === 0) progress(`  ${have + done} (${ms.toFixed(0)} ms for the last transaction)`);
        },
      });
      const insertMs = elapsedMs(t0, stamp());
      progress(`inserted in ${(insertMs / 1000).toFixed(1)} s; waiting for ovn-northd to finish`);
      const settle = await quiet(env, `inserting ${k} unrelated ports`, 900_000);
      fill = { ports: k - have, insertMs, chunkMs: summarize(ins.chunkMs), settle };
      have = k;
    }
    rows.push(await unrelatedPhase(env, k, unrelated, fill, 10_000_000 + index * cfg.churn));
    if (k === 0 && cfg.ours > 0) ours = await oursPhase(env);
  }
  const builds = [...rows.map((r) => r.start), ...(ours === undefined ? [] : [ours.start, ...(ours.restart === undefined ? [] : [ours.restart])])].map((s) => s.build);
  const distinct = [...new Map(builds.map((b) => [b.id, b])).values()];
  if (distinct.length > 1) env.failures.push(`the scenarios' daemons ran ${distinct.length} different builds of dist/ovn-multinetd (${distinct.map((b) => b.mtime).join(', ')}): rebuilt during the run, the figures do not compare (run through npm run bench:scale, which pins the build)`);
  const text = renderScaleReport({
    cfg,
    rows,
    ours,
    builds: distinct,
    pinned: (process.env['OVN_MULTINET_SCALE_PINNED'] ?? '') !== '',
    failures: env.failures,
    heading: { startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000, loadBefore, loadAfter: loadavg() },
  });
  return { text, failed: env.failures.length > 0 };
}

async function main(): Promise<number> {
  const cfg = readScaleConfig();
  const skip = e2eSkipReason();
  if (skip !== false) {
    progress(`cannot run: ${skip}`);
    return 1;
  }
  return runBench(progress, (cleanup) => bench(cleanup, cfg));
}

process.exitCode = await main();
