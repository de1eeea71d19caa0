/** How samples are taken: warm-up, serial runs, and bursts of concurrent calls. */
import { elapsedMs, stamp } from './clock.ts';
import type { AttachMethod, Sample } from './method.ts';
import type { Pod } from './pods.ts';

export class BenchStepError extends Error {
  override name = 'BenchStepError';
}

/** Untimed ADD/DEL cycles (each on its own pod); any failure aborts the bench. */
export async function warmUp(method: AttachMethod, pods: readonly Pod[]): Promise<void> {
  for (const pod of pods) {
    for (const s of [await method.add(pod), await method.del(pod)]) {
      if (!s.ok) throw new BenchStepError(`warm-up of ${method.name} failed: ${s.detail}`);
    }
  }
}

/** One call after the other, in pod order. */
export async function serial(pods: readonly Pod[], call: (pod: Pod) => Promise<Sample>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const pod of pods) out.push(await call(pod));
  return out;
}

/**
 * Several probes n times each, taking turns (a, b, c, a, b, c, …), so that a change in the
 * machine's load during the loop falls on all of them alike. One array of samples per probe.
 */
export async function interleave(n: number, probes: ReadonlyArray<() => Promise<Sample>>): Promise<Sample[][]> {
  const out: Sample[][] = probes.map(() => []);
  for (let i = 0; i < n; i++) {
    for (const [j, probe] of probes.entries()) out[j]?.push(await probe());
  }
  return out;
}

export interface Burst {
  /** From before the first spawn until the last process has exited. */
  readonly wallMs: number;
  readonly samples: readonly Sample[];
}

/** All calls started at once (each spawns before its first await), awaited together. */
export async function burst<T>(items: readonly T[], call: (item: T) => Promise<Sample>): Promise<Burst> {
  const start = stamp();
  const samples = await Promise.all(items.map(call));
  return { wallMs: elapsedMs(start, stamp()), samples };
}
