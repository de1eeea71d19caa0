/**
 * Runs a CNI executable as a runtime does (CNI_* env, config on stdin, result on stdout), inside
 * the node's network namespace through `ip netns exec`, exactly like test/helpers/node.ts runCni,
 * but timed with process.hrtime.bigint() around the spawned process.
 */
import { basePath, timedSpawn } from './spawn.ts';
import { failureDetail, type Sample } from './method.ts';
import type { Pod } from './pods.ts';

export interface CniExecutable {
  /** Network namespace the executable runs in (`ip netns exec NODE ...`). */
  readonly nodeNetns: string;
  readonly binary: string;
  /** CNI_PATH for the plugin (where it finds IPAM plugins). */
  readonly cniPath: string;
}

export type CniCommand = 'ADD' | 'DEL' | 'VERSION' | 'STATUS';

function cniEnv(exe: CniExecutable, command: CniCommand, pod: Pod | undefined): Record<string, string> {
  const env: Record<string, string> = { PATH: basePath(), CNI_COMMAND: command, CNI_PATH: exe.cniPath };
  if (pod !== undefined) {
    env['CNI_CONTAINERID'] = pod.containerId;
    env['CNI_NETNS'] = pod.netns.path;
    env['CNI_IFNAME'] = pod.ifName;
  }
  return env;
}

/** ADD succeeds with exit 0 and a JSON result; DEL, VERSION and STATUS with exit 0. */
function succeeded(command: CniCommand, exitCode: number | null, stdout: string): boolean {
  if (exitCode !== 0) return false;
  if (command !== 'ADD') return true;
  try {
    const result: unknown = JSON.parse(stdout);
    return typeof result === 'object' && result !== null && 'cniVersion' in result;
  } catch {
    return false;
  }
}

/** GNU time (Debian package `time`): forks the executable and prints its own peak RSS (%M, KiB). */
export const GNU_TIME = '/usr/bin/time';

interface CniRun {
  readonly sample: Sample;
  readonly stderr: string;
}

/** Spawns synchronously (before its first await), so a burst of calls starts in one tick. */
async function runCni(exe: CniExecutable, command: CniCommand, pod: Pod | undefined, config: unknown, wrapper: readonly string[]): Promise<CniRun> {
  const t = await timedSpawn('ip', ['netns', 'exec', exe.nodeNetns, ...wrapper, exe.binary], {
    env: cniEnv(exe, command, pod),
    input: JSON.stringify(config),
    timeoutMs: 150_000,
  });
  const ok = t.failure === undefined && succeeded(command, t.exitCode, t.stdout);
  const sample: Sample = {
    pod,
    ms: t.ms,
    start: t.start,
    end: t.end,
    ok,
    detail: ok ? '' : failureDetail(`${[...wrapper, exe.binary].join(' ')} ${command} ${pod?.containerId ?? ''}`.trim(), t.exitCode, t.failure, t.stdout, t.stderr),
    steps: [],
  };
  return { sample, stderr: t.stderr };
}

export async function execCni(exe: CniExecutable, command: CniCommand, pod: Pod | undefined, config: unknown): Promise<Sample> {
  return (await runCni(exe, command, pod, config, [])).sample;
}

export interface RssSample {
  /** The call itself (its time includes GNU time's fork: not comparable with the latency rows). */
  readonly sample: Sample;
  /** Peak RSS of the CNI process alone (not its children's children), KiB; undefined if unreadable. */
  readonly peakKiB: number | undefined;
}

/** The executable's calls run under GNU time (not part of the latency rows). */
export interface PeakRssProbes {
  add(pod: Pod): Promise<RssSample>;
  del(pod: Pod): Promise<RssSample>;
  version(): Promise<RssSample>;
}

/**
 * The same call as `ip netns exec NODE /usr/bin/time -f %M <executable>`: time forks the executable
 * as its child, so %M is that process alone. Its figure is the last line of stderr. A call whose
 * figure cannot be read counts as failed.
 */
export async function execCniPeakRss(exe: CniExecutable, command: CniCommand, pod: Pod | undefined, config: unknown): Promise<RssSample> {
  const { sample, stderr } = await runCni(exe, command, pod, config, [GNU_TIME, '-f', '%M']);
  const last = stderr.trimEnd().split('\n').at(-1)?.trim() ?? '';
  const peakKiB = /^\d+$/.test(last) ? Number(last) : undefined;
  if (!sample.ok || peakKiB !== undefined) return { sample, peakKiB };
  return { sample: { ...sample, ok: false, detail: `${GNU_TIME} printed no peak RSS for ${exe.binary} ${command}: ${JSON.stringify(last.slice(0, 200))}` }, peakKiB };
}

/** `ip netns exec NODE true`: what entering the namespace costs every call above. */
export async function netnsExecTrue(nodeNetns: string): Promise<Sample> {
  const t = await timedSpawn('ip', ['netns', 'exec', nodeNetns, 'true'], { env: { PATH: basePath() } });
  const ok = t.failure === undefined && t.exitCode === 0;
  return {
    pod: undefined,
    ms: t.ms,
    start: t.start,
    end: t.end,
    ok,
    detail: ok ? '' : failureDetail(`ip netns exec ${nodeNetns} true`, t.exitCode, t.failure, t.stdout, t.stderr),
    steps: [],
  };
}
