/**
 * The soak: many ADD/DEL cycles through the compiled executable, several at a time, with faults
 * injected at random (seeded, so a run can be repeated): daemon SIGKILL + restart, NB restart,
 * netns deleted before DEL, DEL never sent. Afterwards it counts what leaked and whether any
 * address was ever live twice. Used by test/e2e/soak.test.ts (short) and bench/soak.ts (full).
 */
import { readFile } from 'node:fs/promises';
import { logicalPortName } from '../../daemon/cni-spec/names.ts';
import { createNetns, type Netns } from './netns.ts';
import { startDaemon, startNode, type DaemonProcess, type TestNode } from './node.ts';
import type { Teardown } from './netns.ts';

export type FaultKind = 'daemon-kill' | 'nb-restart' | 'netns-gone-before-del' | 'del-never-sent';

export interface SoakOptions {
  cycles: number;
  concurrency: number;
  /** Probability that a cycle injects a fault (split evenly across the kinds). */
  faultRate: number;
  seed: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  cycles: number;
  addsOk: number;
  addsRetried: number;
  addsGaveUp: number;
  faults: Record<FaultKind, number>;
  duplicates: number;
  leaked: { logicalPorts: number; ovsPorts: number; veths: number; netns: number };
  rssKiB: { afterWarmup: number; end: number; growth: number };
  seconds: number;
}

/** mulberry32: small, seeded, good enough to pick faults. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

async function rssKiB(daemon: DaemonProcess): Promise<number> {
  const status = await readFile(`/proc/${daemon.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const DAEMON_ARGS = ['--reconcile-grace', '1000', '--reconcile-interval', '500', '--db-wait', '5000'];
const ADD_TRIES = 10;

export async function runSoak(t: Teardown, options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const say = options.log ?? (() => undefined);
  const random = prng(options.seed);
  const node: TestNode = await startNode(t, { daemon: { extraArgs: DAEMON_ARGS } });
  await node.sandbox.nbctl(['ls-add', 'soak', '--', 'set', 'logical_switch', 'soak', 'other_config:subnet=10.20.0.0/22']);
  const config = node.config('soak');
  let daemon = node.daemon;
  const faults: Record<FaultKind, number> = { 'daemon-kill': 0, 'nb-restart': 0, 'netns-gone-before-del': 0, 'del-never-sent': 0 };
  const live = new Map<string, string>();
  let duplicates = 0;
  let addsOk = 0;
  let addsRetried = 0;
  let addsGaveUp = 0;
  let next = 0;
  let globalFault: Promise<void> = Promise.resolve();
  let rssAfterWarmup = 0;
  // Restarts make RSS meaningless; the second half runs on one daemon and is what RSS measures.
  const killsUntil = Math.floor(options.cycles / 2);
  const warmupEnd = killsUntil + Math.min(50, Math.floor(options.cycles / 10));
  const netnsLeft = new Set<Netns>();

  const stillAttached = async (containerId: string): Promise<boolean> => {
    const name = logicalPortName(containerId, 'net1');
    for (let attempt = 0; ; attempt++) {
      await globalFault;
      try {
        return (await node.sandbox.nbctl(['--bare', '--columns=name', 'find', 'logical_switch_port', `name=${name}`])) !== '';
      } catch (err) {
        if (attempt >= 20) throw err;
        await sleep(250);
      }
    }
  };

  const pickFault = (cycle: number): FaultKind | undefined => {
    if (random() >= options.faultRate) return undefined;
    const kinds: FaultKind[] = cycle < killsUntil ? ['daemon-kill', 'nb-restart', 'netns-gone-before-del', 'del-never-sent'] : ['netns-gone-before-del', 'del-never-sent'];
    return kinds[Math.floor(random() * kinds.length)];
  };

  const injectGlobal = (kind: 'daemon-kill' | 'nb-restart'): Promise<void> => {
    globalFault = globalFault.then(async () => {
      if (kind === 'daemon-kill') {
        await daemon.kill();
        daemon = await startDaemon(t, node.sandbox, { socket: node.daemon.socket, extraArgs: DAEMON_ARGS });
      } else {
        await node.sandbox.db('stop', 'nb');
        await sleep(200);
        await node.sandbox.db('start', 'nb');
      }
    });
    return globalFault;
  };

  const cycle = async (i: number): Promise<void> => {
    if (i === warmupEnd) rssAfterWarmup = await rssKiB(daemon);
    const fault = pickFault(i);
    const ns = await createNetns();
    netnsLeft.add(ns);
    const call = { containerId: `soak-${i}`, netns: ns.path, ifName: 'net1' };
    let ip: string | undefined;
    let injected = false;
    for (let attempt = 0; attempt < ADD_TRIES && ip === undefined; attempt++) {
      if (attempt > 0) addsRetried++;
      const add = node.cni({ command: 'ADD', ...call }, config);
      if (!injected && (fault === 'daemon-kill' || fault === 'nb-restart')) {
        injected = true;
        faults[fault]++;
        await sleep(random() * 30);
        await injectGlobal(fault);
      }
      const out = await add;
      if (out.exitCode === 0) ip = String((out.json?.['ips'] as Array<{ address: string }>)[0]?.address);
      else await sleep(250);
    }
    if (ip === undefined) addsGaveUp++;
    else {
      addsOk++;
      const owner = live.get(ip);
      // An attachment whose DEL never came holds its address until the reconciler takes it.
      if (owner !== undefined && (await stillAttached(owner))) {
        duplicates++;
        say(`DUPLICATE ${ip}: ${owner} and ${call.containerId}`);
      }
      live.set(ip, call.containerId);
      await sleep(random() * 50);
    }
    if (fault === 'netns-gone-before-del' || fault === 'del-never-sent') {
      faults[fault]++;
      await ns.remove();
      netnsLeft.delete(ns);
    }
    if (fault !== 'del-never-sent') {
      for (let attempt = 0; attempt < ADD_TRIES; attempt++) {
        const del = await node.cni({ command: 'DEL', ...call }, config);
        if (del.exitCode === 0) {
          if (ip !== undefined && live.get(ip) === call.containerId) live.delete(ip);
          break;
        }
        await sleep(100);
      }
    }
    await ns.remove();
    netnsLeft.delete(ns);
    if (i % 100 === 0) say(`cycle ${i}/${options.cycles}`);
  };

  t.teardown(() => Promise.all([...netnsLeft].map((ns) => ns.remove())));
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.cycles) await cycle(next++);
    }),
  );
  await globalFault;
  const rssEnd = await rssKiB(daemon);

  // What the reconciler has to finish (DELs never sent), after its grace period.
  const deadline = Date.now() + 20_000;
  let logicalPorts = (await node.switchPorts('soak')).length;
  let ovsPorts = (await node.bridgePorts()).length;
  while ((logicalPorts > 0 || ovsPorts > 0) && Date.now() < deadline) {
    await sleep(250);
    logicalPorts = (await node.switchPorts('soak')).length;
    ovsPorts = (await node.bridgePorts()).length;
  }
  const veths = (await node.noHostVeths()).length;
  return {
    cycles: options.cycles,
    addsOk,
    addsRetried,
    addsGaveUp,
    faults,
    duplicates,
    leaked: { logicalPorts, ovsPorts, veths, netns: netnsLeft.size },
    rssKiB: { afterWarmup: rssAfterWarmup, end: rssEnd, growth: rssAfterWarmup === 0 ? 0 : rssEnd / rssAfterWarmup - 1 },
    seconds: (Date.now() - started) / 1000,
  };
}
