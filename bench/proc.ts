/**
 * Per-process figures from /proc for the scale bench: CPU time (to wait until OVN has finished
 * the work a change gave it) and bytes read (`rchar` in /proc/PID/io).
 */
import { readFile } from 'node:fs/promises';
import { sleep } from './clock.ts';

/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process, seconds; 0 once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND;
}

export async function totalCpuSeconds(pids: readonly number[]): Promise<number> {
  const each = await Promise.all(pids.map(cpuSeconds));
  return each.reduce((a, b) => a + b, 0);
}

export interface QuietOptions {
  /** Length of one look (ms). */
  readonly windowMs?: number;
  /** Quiet: the processes together used at most this share of one CPU during a window. */
  readonly maxShare?: number;
  /** Quiet this many windows in a row. */
  readonly windows?: number;
  /** Give up waiting after this long (ms); the result then says so. */
  readonly maxMs?: number;
}

export interface Quiet {
  readonly ms: number;
  /** CPU seconds the processes used while we waited. */
  readonly cpuSeconds: number;
  readonly timedOut: boolean;
}

/**
 * Waits until the processes (ovn-northd, ovn-controller, the ovsdb-servers...) are idle: a change
 * to the NB keeps ovn-northd 23.03 busy recomputing for a while, and its CPU use would otherwise
 * fall on whatever the bench measures next.
 */
export async function waitQuiet(pids: readonly number[], opts: QuietOptions = {}): Promise<Quiet> {
  const windowMs = opts.windowMs ?? 300;
  const maxShare = opts.maxShare ?? 0.05;
  const windows = opts.windows ?? 2;
  const maxMs = opts.maxMs ?? 300_000;
  const started = Date.now();
  const first = await totalCpuSeconds(pids);
  let last = first;
  let quietFor = 0;
  for (;;) {
    await sleep(windowMs);
    const now = await totalCpuSeconds(pids);
    quietFor = now - last <= (maxShare * windowMs) / 1000 ? quietFor + 1 : 0;
    last = now;
    const ms = Date.now() - started;
    if (quietFor >= windows) return { ms, cpuSeconds: now - first, timedOut: false };
    if (ms > maxMs) return { ms, cpuSeconds: now - first, timedOut: true };
  }
}

/** Bytes the process has read through read()-like calls so far: files, pipes and sockets. */
export async function readBytes(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const m = /^rchar:\s+(\d+)$/m.exec(io);
  if (m?.[1] === undefined) throw new Error(`no rchar in /proc/${pid}/io`);
  return Number(m[1]);
}

/** Waits until `readBytes` grows by less than `slack` bytes over `windowMs`; the last value. */
export async function readsSettled(pid: number, windowMs = 1000, slack = 512, maxMs = 120_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = await readBytes(pid);
  for (;;) {
    await sleep(windowMs);
    const now = await readBytes(pid);
    if (now - last < slack || Date.now() > deadline) return now;
    last = now;
  }
}
