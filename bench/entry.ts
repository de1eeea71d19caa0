/**
 * The start and end every separate bench entry (bench:nodes, bench:policy) shares: progress on
 * stderr under its name, a machine that cannot run it refused, the run inside runBench (cleanup
 * even on failure), the facts every report header prints, and the exit code.
 */
import { stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { DAEMON_BINARY, e2eSkipReason } from '../test/helpers/node.ts';
import { runBench, type BenchOutcome, type Cleanup } from './cleanup.ts';

/** What a report's header says of its run. */
export interface RunFacts {
  startedAt: string;
  seconds: number;
  loadBefore: number[];
  loadAfter: number[];
  /** The daemon executable measured: its build time and size. */
  build: string;
}

export type Progress = (msg: string) => void;

/** Runs `bench` as the entry `name` and exits the process with its code. */
export async function benchEntry(name: string, bench: (cleanup: Cleanup, progress: Progress, facts: () => RunFacts) => Promise<BenchOutcome>): Promise<never> {
  const progress: Progress = (msg) => {
    process.stderr.write(`${name}: ${msg}\n`);
  };
  const skip = e2eSkipReason();
  if (skip !== false) {
    progress(`cannot run: ${skip}`);
    process.exit(1);
  }
  const code = await runBench(progress, async (cleanup) => {
    const started = Date.now();
    const loadBefore = loadavg();
    const binary = await stat(DAEMON_BINARY);
    const facts = (): RunFacts => ({
      startedAt: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
      loadBefore,
      loadAfter: loadavg(),
      build: `dist/ovn-multinetd of ${binary.mtime.toISOString()} (${binary.size.toLocaleString('en-US')} bytes)`,
    });
    return bench(cleanup, progress, facts);
  });
  process.exit(code);
}

/** A failure as progress shows it (with its stack) and as a report lists it (its message). */
export function failureOf(err: unknown, progress: Progress, what: string): string {
  progress(`${what} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return err instanceof Error ? err.message : String(err);
}
