/** What every attach method (the executable, the reference plugin, the CLI script) yields. */
import type { Stamp } from './clock.ts';
import type { Pod } from './pods.ts';

/** One timed part of a multi-step method (the CLI script). */
export interface Step {
  readonly label: string;
  readonly ms: number;
}

export interface Sample {
  /** The attachment this was for; undefined for probes (`ip netns exec NS true`, VERSION). */
  readonly pod: Pod | undefined;
  /** process.hrtime.bigint() from the first spawn to the last exit. */
  readonly ms: number;
  readonly start: Stamp;
  readonly end: Stamp;
  readonly ok: boolean;
  /** Why it failed (output of the failing process), empty when ok. */
  readonly detail: string;
  readonly steps: readonly Step[];
}

export interface AttachMethod {
  readonly name: string;
  add(pod: Pod): Promise<Sample>;
  del(pod: Pod): Promise<Sample>;
}

export function failureDetail(command: string, exitCode: number | null, failure: string | undefined, stdout: string, stderr: string): string {
  const output = `${stdout.trim()} ${stderr.trim()}`.trim().replaceAll(/\s+/g, ' ');
  const why = failure ?? `exit ${String(exitCode)}`;
  return `${command}: ${why}${output === '' ? '' : `: ${output.slice(0, 300)}`}`;
}
