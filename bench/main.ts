/**
 * npm run bench (scripts/bench.sh): one run on this machine measures ovn-multinet and its
 * baselines side by side and prints a Markdown report on stdout (progress goes to stderr).
 * Exit 0 when everything ran, even if targets are missed; 1 when a bench step or a baseline
 * failed, or cleanup left something behind. See README.md.
 */
import { statSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { e2eSkipReason, startNode, CNI_BINARY } from '../test/helpers/node.ts';
import { addBreakdown, delBreakdown, stepBreakdown, type Sources } from './breakdown.ts';
import { bridgePlugin, bridgePluginSkipReason, BRIDGE_NAME, BRIDGE_SUBNET } from './bridge-plugin.ts';
import { createCleanup, type Cleanup } from './cleanup.ts';
import { cliAttach } from './cli-attach.ts';
import { netnsExecTrue } from './cni-exec.ts';
import { sleep } from './clock.ts';
import { readConfig, ENV_NAMES, type BenchConfig } from './config.ts';
import type { AttachMethod, Sample } from './method.ts';
import { ovnMultinet } from './ovn-multinet.ts';
import { countByWriter, lastIndex, readDbLog, NO_COMMENT } from './ovsdb-log.ts';
import { burst, repeat, serial, warmUp, type Burst } from './phases.ts';
import { createPods, removePods } from './pods.ts';
import { renderReport, type NbWindow } from './report.ts';
import { summarize } from './stats.ts';
import { evaluateTargets } from './targets.ts';

const NETWORK = 'omb';
const NETWORK_SUBNET = '10.98.0.0/16';

const progress = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};

/** Waits until nobody has written to the database for `quietMs` (northd's follow-up writes). */
async function settle(file: string, quietMs = 300, maxMs = 5000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = lastIndex(await readDbLog(file));
  for (;;) {
    await sleep(quietMs);
    const now = lastIndex(await readDbLog(file));
    if (now === last || Date.now() > deadline) return now;
    last = now;
  }
}

interface SerialRun {
  readonly adds: Sample[];
  readonly dels: Sample[];
  /** NB log indices: before the ADDs, after the ADDs, after the DELs. */
  readonly marks: readonly [number, number, number];
}

/** Warm-up, then `runs` ADDs one by one, then DELs of the same attachments one by one. */
async function serialPhase(cleanup: Cleanup, cfg: BenchConfig, method: AttachMethod, nbFile: string): Promise<SerialRun> {
  const pods = await createPods(cleanup, cfg.warmup + cfg.runs);
  try {
    await warmUp(method, pods.slice(0, cfg.warmup));
    const measured = pods.slice(cfg.warmup);
    const before = await settle(nbFile);
    const adds = await serial(measured, (p) => method.add(p));
    const mid = await settle(nbFile);
    const dels = await serial(measured, (p) => method.del(p));
    const after = await settle(nbFile);
    return { adds, dels, marks: [before, mid, after] };
  } finally {
    await removePods(pods);
  }
}

interface BurstRun {
  readonly add: Burst;
  readonly del: Burst;
}

async function burstPhase(cleanup: Cleanup, cfg: BenchConfig, method: AttachMethod): Promise<BurstRun> {
  const pods = await createPods(cleanup, cfg.warmup + cfg.burst);
  try {
    await warmUp(method, pods.slice(0, cfg.warmup));
    const measured = pods.slice(cfg.warmup);
    const add = await burst(measured, (p) => method.add(p));
    const del = await burst(measured, (p) => method.del(p));
    return { add, del };
  } finally {
    await removePods(pods);
  }
}

const okMs = (samples: readonly Sample[]): number[] => samples.filter((s) => s.ok).map((s) => s.ms);
const p50 = (samples: readonly Sample[]): number => summarize(okMs(samples)).p50;
const failuresOf = (label: string, samples: readonly Sample[]): string[] => samples.filter((s) => !s.ok).map((s) => `${label}: ${s.detail}`);

async function bench(cleanup: Cleanup, cfg: BenchConfig): Promise<{ text: string; failed: boolean }> {
  const loadBefore = loadavg();
  const started = Date.now();
  // dist/ is shared: note a rebuild during the run (the daemon keeps the binary it started with).
  const binaryAtStart = statSync(CNI_BINARY).mtimeMs;
  progress(`starting the sandbox node and daemon (runs=${cfg.runs}, burst=${cfg.burst}, warmup=${cfg.warmup})`);
  const node = await startNode(cleanup);
  const nodeNs = node.env.SANDBOX_NETNS;
  const nbFile = join(node.env.OVN_DBDIR, 'ovnnb_db.db');
  const ovsFile = join(node.env.OVS_DBDIR, 'conf.db');
  await node.sandbox.nbctl(['ls-add', NETWORK, '--', 'set', 'logical_switch', NETWORK, `other_config:subnet=${NETWORK_SUBNET}`]);
  const omn = ovnMultinet(node, NETWORK);

  progress('probes: `ip netns exec NODE true` and the executable\'s VERSION');
  await repeat(cfg.warmup, () => netnsExecTrue(nodeNs));
  const netnsTrue = await repeat(cfg.runs, () => netnsExecTrue(nodeNs));
  await repeat(cfg.warmup, () => omn.version());
  const version = await repeat(cfg.runs, () => omn.version());

  progress(`ovn-multinet: ${cfg.runs} serial ADDs, then DELs`);
  const omnSerial = await serialPhase(cleanup, cfg, omn, nbFile);
  progress(`ovn-multinet: burst of ${cfg.burst} ADDs, then DELs`);
  const omnBurst = await burstPhase(cleanup, cfg, omn);
  progress(`executable floor: burst of ${cfg.burst} VERSION calls`);
  const versionBurst = await burst(Array.from({ length: cfg.burst }, (_, i) => i), () => omn.version());

  progress(`baseline A: bridge + host-local, ${cfg.runs} serial, burst of ${cfg.burst}`);
  const bridge = await bridgePlugin(cleanup, nodeNs);
  let bridgeSerial: SerialRun;
  let bridgeBurst: BurstRun;
  try {
    bridgeSerial = await serialPhase(cleanup, cfg, bridge, nbFile);
    bridgeBurst = await burstPhase(cleanup, cfg, bridge);
  } finally {
    await bridge.removeBridge();
  }

  progress(`baseline B: CLI script, ${cfg.runs} serial`);
  const cli = cliAttach(node.sandbox);
  await cli.setUp();
  const cliSerial = await serialPhase(cleanup, cfg, cli, nbFile);

  progress('reading the NB and Open_vSwitch database logs');
  const src: Sources = { nb: await readDbLog(nbFile), ovs: await readDbLog(ovsFile), daemon: node.daemon.logs };
  const newest = lastIndex(src.nb);
  const window = (label: string, operations: number, from: number, to: number, tool: string): NbWindow => ({
    label,
    operations,
    counts: newest >= to && to >= from ? countByWriter(src.nb, from, to) : undefined,
    tool,
  });
  const [sb, sm, sa] = omnSerial.marks;
  const [cb, cm, ca] = cliSerial.marks;
  const nb: NbWindow[] = [
    window('ovn-multinet, serial ADDs', omnSerial.adds.length, sb, sm, NO_COMMENT),
    window('ovn-multinet, serial DELs', omnSerial.dels.length, sm, sa, NO_COMMENT),
    window('CLI script, serial ADDs', cliSerial.adds.length, cb, cm, 'ovn-nbctl'),
    window('CLI script, serial DELs', cliSerial.dels.length, cm, ca, 'ovn-nbctl'),
  ];
  const addWindow = nb[0];
  const nbPerAdd =
    addWindow?.counts === undefined ? undefined : (addWindow.counts.get(NO_COMMENT) ?? 0) / Math.max(1, addWindow.operations);

  const omnAdd = p50(omnSerial.adds);
  const omnDel = p50(omnSerial.dels);
  const cliAdd = p50(cliSerial.adds);
  const cliDel = p50(cliSerial.dels);
  const brAdd = p50(bridgeSerial.adds);
  const brDel = p50(bridgeSerial.dels);
  const nsTrue = p50(netnsTrue);
  const binary = statSync(CNI_BINARY);
  const loadAfter = loadavg();
  const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');

  const failures = [
    ...failuresOf('ip netns exec true', netnsTrue),
    ...failuresOf('ovn-multinet VERSION', version),
    ...failuresOf('ovn-multinet serial ADD', omnSerial.adds),
    ...failuresOf('ovn-multinet serial DEL', omnSerial.dels),
    ...failuresOf('bridge serial ADD', bridgeSerial.adds),
    ...failuresOf('bridge serial DEL', bridgeSerial.dels),
    ...failuresOf('bridge burst ADD', bridgeBurst.add.samples),
    ...failuresOf('bridge burst DEL', bridgeBurst.del.samples),
    ...failuresOf('VERSION burst', versionBurst.samples),
    ...failuresOf('CLI serial ADD', cliSerial.adds),
    ...failuresOf('CLI serial DEL', cliSerial.dels),
  ];
  // Burst failures of ovn-multinet are what the burst target measures: reported, not fatal.
  const burstFailures = [...failuresOf('ovn-multinet burst ADD', omnBurst.add.samples), ...failuresOf('ovn-multinet burst DEL', omnBurst.del.samples)];

  const text = renderReport({
    heading: [
      `- When: ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(1)} s for the whole run`,
      `- Machine: ${availableParallelism()} CPUs, Linux ${release()}, Node ${process.version}; load average ${la(loadBefore)} before, ${la(loadAfter)} after (other work on the machine skews results)`,
      `- Candidate: ${CNI_BINARY} (${(binary.size / 1e6).toFixed(0)} MB, built ${binary.mtime.toISOString()}), daemon with --log-level debug in a sandbox netns (userspace datapath)`,
      ...(binary.mtimeMs === binaryAtStart
        ? []
        : [`- **Warning**: ${CNI_BINARY} was rebuilt during this run; calls before and after used different executables. Run again.`]),
      `- Samples: ${ENV_NAMES.runs}=${cfg.runs} serial per method, ${ENV_NAMES.burst}=${cfg.burst} per burst, ${ENV_NAMES.warmup}=${cfg.warmup} warm-up ADD/DEL cycles before each phase`,
    ],
    latency: [
      { label: '`ip netns exec NODE true` (overhead in every ovn-multinet/bridge row)', samples: netnsTrue },
      { label: 'ovn-multinet VERSION (executable start, no daemon)', samples: version },
      { label: '**ovn-multinet ADD** (ovn-installed included)', samples: omnSerial.adds },
      { label: '**ovn-multinet DEL**', samples: omnSerial.dels },
      { label: 'baseline A: bridge + host-local ADD', samples: bridgeSerial.adds },
      { label: 'baseline A: bridge + host-local DEL', samples: bridgeSerial.dels },
      { label: 'baseline B: CLI script ADD (ovn-installed included)', samples: cliSerial.adds },
      { label: 'baseline B: CLI script DEL', samples: cliSerial.dels },
    ],
    bursts: [
      { label: `**ovn-multinet ADD ×${cfg.burst}**`, burst: omnBurst.add },
      { label: `**ovn-multinet DEL ×${cfg.burst}**`, burst: omnBurst.del },
      { label: `floor: ovn-multinet VERSION ×${cfg.burst} (no daemon)`, burst: versionBurst },
      { label: `baseline A: bridge + host-local ADD ×${cfg.burst}`, burst: bridgeBurst.add },
      { label: `baseline A: bridge + host-local DEL ×${cfg.burst}`, burst: bridgeBurst.del },
    ],
    nb,
    ratios: [
      { label: 'ovn-multinet ADD / CLI script ADD', value: omnAdd / cliAdd },
      { label: '(ovn-multinet ADD − `ip netns exec`) / CLI script ADD', value: (omnAdd - nsTrue) / cliAdd },
      { label: 'ovn-multinet DEL / CLI script DEL', value: omnDel / cliDel },
      { label: 'ovn-multinet ADD / bridge ADD', value: omnAdd / brAdd },
      { label: 'ovn-multinet DEL / bridge DEL', value: omnDel / brDel },
      { label: 'ovn-multinet ADD / ovn-multinet VERSION', value: omnAdd / p50(version) },
    ],
    targets: evaluateTargets({
      addP50: omnAdd,
      cliAddP50: cliAdd,
      delP50: omnDel,
      netnsExecP50: nsTrue,
      burstSize: cfg.burst,
      burstOk: omnBurst.add.samples.filter((s) => s.ok).length,
      burstWallMs: omnBurst.add.wallMs,
      nbPerAdd,
    }),
    breakdowns: [
      { title: 'ovn-multinet ADD, serial', segments: addBreakdown(omnSerial.adds, src) },
      { title: 'ovn-multinet DEL, serial', segments: delBreakdown(omnSerial.dels, src) },
      { title: `ovn-multinet ADD, burst of ${cfg.burst}`, segments: addBreakdown(omnBurst.add.samples, src) },
      { title: `ovn-multinet DEL, burst of ${cfg.burst}`, segments: delBreakdown(omnBurst.del.samples, src) },
      { title: 'CLI script ADD, per command', segments: stepBreakdown(cliSerial.adds) },
      { title: 'CLI script DEL, per command', segments: stepBreakdown(cliSerial.dels) },
    ],
    failures: [...failures, ...burstFailures],
    notes: [
      'Each latency is process.hrtime.bigint() from spawn() to the exit of the process (for the CLI script: from the first command\'s spawn to the last one\'s exit). Each attachment goes into its own netns, created beforehand and not timed. Stats cover successful calls only (ok/n).',
      'Percentiles are nearest-rank: with 50 samples p95 is the 48th and p99 the 50th (the maximum).',
      'ovn-multinet and the bridge plugin run exactly as test/helpers/node.ts runCni does: `ip netns exec NODE <executable>` with CNI_* env and the config on stdin. The `ip netns exec NODE true` row is what that wrapper costs; subtract it to compare with a runtime that is already in the node namespace.',
      `Baseline A: /usr/lib/cni/bridge (containernetworking-plugins) with host-local IPAM (${BRIDGE_SUBNET}, dataDir in a temp dir), CNI_PATH=/usr/lib/cni, its Linux bridge ${BRIDGE_NAME} in the node netns (deleted at the end). It makes no OVN port and waits for nothing: it is the floor of a plain local attach.`,
      'Baseline B: one process per step as an admin script on the node would run them: `ovn-nbctl --db=NB lsp-add … -- lsp-set-addresses … -- lsp-set-port-security …`, `ip -n NODE link add … type veth peer … address MAC netns POD`, `ip -n POD addr add`, `ip -n POD link set up`, `ip -n NODE link set up`, `ovs-vsctl --db=OVS add-port br-int … -- set interface … external_ids:iface-id=…` (which waits for ovs-vswitchd, as by default), `ovs-vsctl wait-until interface … external_ids:ovn-installed=true`; DEL: `ovs-vsctl del-port`, `ip link del`, `ovn-nbctl lsp-del`. Addresses from a counter in 10.97.0.0/16. Unlike the daemon it sets no MTU and leaves TX checksum offload on.',
      'NB transactions: the sandbox\'s NB database is a standalone file where ovsdb-server appends one record per committed transaction. `ovsdb-tool show-log -mm` lists them with their comment: ovn-northd and ovn-nbctl comment theirs, the ovn-multinet daemon sends none, and nothing else writes the NB during a phase. The bench waits until the log is quiet, notes the newest record number before and after the serial ADDs (and DELs), and counts the records in between per writer; "(no comment)" are the daemon\'s. ovn-northd adds its own records (the port\'s `up` column), which are not ours.',
      'Breakdown: the NB and Open_vSwitch database logs give commit times (ms) of the port\'s LSP and OVS Interface rows and of ovn-controller\'s `ovn-installed="true"` write; the daemon\'s JSON log gives "attached"/"detached" (ms). All share the wall clock with the bench\'s spawn/exit stamps.',
      `Warm-up: ${cfg.warmup} untimed ADD/DEL cycles before each measured phase. The targets are reported, never enforced: the bench exits 0 when it ran, even if targets are missed.`,
    ],
  });
  return { text, failed: failures.length > 0 };
}

async function main(): Promise<number> {
  const cfg = readConfig();
  const skip = e2eSkipReason() || bridgePluginSkipReason();
  if (skip !== false) {
    process.stderr.write(`bench: cannot run: ${skip}\n`);
    return 1;
  }
  const cleanup = createCleanup();
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: cleaning up`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let code = 0;
  try {
    const { text, failed } = await bench(cleanup, cfg);
    process.stdout.write(`${text}\n`);
    if (failed) {
      progress('some baseline or serial calls failed (see Failures)');
      code = 1;
    }
  } catch (err) {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  } finally {
    progress('cleaning up');
    const errors = await cleanup.run();
    for (const e of errors) progress(`cleanup: ${e.message}`);
    if (errors.length > 0) code = 1;
  }
  return code;
}

process.exitCode = await main();
