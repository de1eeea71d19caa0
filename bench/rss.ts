/**
 * Memory figures. The daemon's from /proc (VmRSS now, VmHWM the peak since the last reset through
 * clear_refs); the CNI process's own peak from GNU time (`%M`, see cni-exec.ts execCniPeakRss).
 */
import { existsSync } from 'node:fs';
import { readFile, readlink, realpath, writeFile } from 'node:fs/promises';
import { GNU_TIME, type RssSample } from './cni-exec.ts';
import { summarize } from './stats.ts';

export function gnuTimeSkipReason(): string | false {
  return existsSync(GNU_TIME) ? false : `needs ${GNU_TIME} (apt-get install time)`;
}

/** Megabytes (10^6 bytes) from KiB, as the targets count them. */
export const kibToMB = (kib: number): number => (kib * 1024) / 1e6;
export const mb = (kib: number | undefined): string => (kib === undefined || !Number.isFinite(kib) ? '–' : `${kibToMB(kib).toFixed(1)} MB`);

export interface DaemonProc {
  readonly pid: number;
  /** The first words of /proc/PID/cmdline, for the report. */
  readonly command: string;
}

const exeOf = async (pid: number): Promise<string> => readlink(`/proc/${pid}/exe`).catch(() => '');
const commandOf = async (pid: number): Promise<string> =>
  (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').slice(0, 2).join(' ');

/**
 * The daemon's pid: the spawned `ip netns exec NS dist/ovn-multinetd daemon …` execs the daemon in
 * place, so it is the child's own pid; checked by /proc/PID/exe, and if `ip` forked instead, its
 * child running `binary` is taken. A string says why it could not be found.
 */
export async function findDaemon(pid: number | undefined, binary: string): Promise<DaemonProc | string> {
  if (pid === undefined) return 'the daemon was not spawned';
  const want = await realpath(binary).catch(() => binary);
  if ((await exeOf(pid)) === want) return { pid, command: await commandOf(pid) };
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).split(/\s+/).filter((x) => x !== '').map(Number);
  for (const child of children) {
    if ((await exeOf(child)) === want) return { pid: child, command: await commandOf(child) };
  }
  return `pid ${pid} runs ${JSON.stringify(await exeOf(pid))}, not ${want}`;
}

export interface ProcMemory {
  /** VmRSS, KiB. */
  readonly rssKiB: number;
  /** VmHWM (peak RSS since start or the last reset), KiB. */
  readonly hwmKiB: number;
}

export async function readMemory(pid: number): Promise<ProcMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m?.[1] === undefined) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`, Linux ≥ 4.0). */
export async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export interface RssSummary {
  /** Calls whose figure was read. */
  readonly n: number;
  readonly total: number;
  readonly p50KiB: number;
  readonly maxKiB: number;
}

export function summarizeRss(samples: readonly RssSample[]): RssSummary {
  const kib = samples.filter((s) => s.sample.ok && s.peakKiB !== undefined).map((s) => s.peakKiB ?? 0);
  const s = summarize(kib);
  return { n: s.n, total: samples.length, p50KiB: s.p50, maxKiB: s.max };
}
