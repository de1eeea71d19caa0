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

export type CniCommand = 'ADD' | 'DEL' | 'VERSION';

function cniEnv(exe: CniExecutable, command: CniCommand, pod: Pod | undefined): Record<string, string> {
  const env: Record<string, string> = { PATH: basePath(), CNI_COMMAND: command, CNI_PATH: exe.cniPath };
  if (pod !== undefined) {
    env['CNI_CONTAINERID'] = pod.containerId;
    env['CNI_NETNS'] = pod.netns.path;
    env['CNI_IFNAME'] = pod.ifName;
  }
  return env;
}

/** ADD succeeds with exit 0 and a JSON result; DEL and VERSION with exit 0. */
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

/** Spawns synchronously (before its first await), so a burst of calls starts in one tick. */
export async function execCni(exe: CniExecutable, command: CniCommand, pod: Pod | undefined, config: unknown): Promise<Sample> {
  const t = await timedSpawn('ip', ['netns', 'exec', exe.nodeNetns, exe.binary], {
    env: cniEnv(exe, command, pod),
    input: JSON.stringify(config),
    timeoutMs: 150_000,
  });
  const ok = t.failure === undefined && succeeded(command, t.exitCode, t.stdout);
  return {
    pod,
    ms: t.ms,
    start: t.start,
    end: t.end,
    ok,
    detail: ok ? '' : failureDetail(`${exe.binary} ${command} ${pod?.containerId ?? ''}`.trim(), t.exitCode, t.failure, t.stdout, t.stderr),
    steps: [],
  };
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
