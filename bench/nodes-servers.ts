/**
 * The NB servers of the many-nodes bench as processes: which pid is which (the test helpers keep
 * their children private, so found by the `--unixctl` path each server alone is started with), and
 * the CPU each role used between two readings (utime + stime, /proc/PID/stat).
 */
import { readdir, readFile } from 'node:fs/promises';
import type { OvsdbServerProcess } from '../test/helpers/ovsdb-server.ts';
import { cpuSeconds } from './proc.ts';

/** What a server is to the clients: the one NB, the raft leader, a follower, or a relay. */
export type ServerRole = 'NB' | 'leader' | 'followers' | 'relays';

export interface ServerPid {
  readonly role: ServerRole;
  readonly pid: number;
}

/** The pid of the ovsdb-server started with `--unixctl=<server.ctlPath>`. */
export async function serverPid(server: OvsdbServerProcess): Promise<number> {
  const want = `--unixctl=${server.ctlPath}`;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (args.includes(want) && (args[0] ?? '').endsWith('ovsdb-server')) return Number(entry);
  }
  throw new Error(`no ovsdb-server process with ${want}`);
}

/** CPU seconds per role, summed over its servers. */
export type RoleCpu = ReadonlyMap<ServerRole, number>;

export async function roleCpu(servers: readonly ServerPid[]): Promise<RoleCpu> {
  const cpu = new Map<ServerRole, number>();
  for (const { role, pid } of servers) cpu.set(role, (cpu.get(role) ?? 0) + (await cpuSeconds(pid)));
  return cpu;
}

/** What each role used from `before` to `after`. */
export function cpuBetween(before: RoleCpu, after: RoleCpu): RoleCpu {
  return new Map([...after].map(([role, s]) => [role, s - (before.get(role) ?? 0)] as const));
}

/** Measures `work` and the CPU the servers used while it ran. */
export async function withServerCpu<T>(servers: readonly ServerPid[], work: () => Promise<T>): Promise<{ result: T; cpu: RoleCpu }> {
  const before = await roleCpu(servers);
  const result = await work();
  return { result, cpu: cpuBetween(before, await roleCpu(servers)) };
}
