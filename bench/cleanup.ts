/**
 * One place that undoes everything the bench creates (daemon, sandbox, netns, bridge, temp dirs),
 * in reverse order, even after a failure or Ctrl-C. It satisfies the test helpers' Teardown, so
 * startNode/createNetns register their own cleanup here.
 */
import type { Teardown } from '../test/helpers/netns.ts';

export interface Cleanup extends Teardown {
  /** Runs every registered step once, newest first; resolves with the errors it survived. */
  run(): Promise<Error[]>;
}

export function createCleanup(): Cleanup {
  const steps: Array<() => unknown> = [];
  let ran: Promise<Error[]> | undefined;
  return {
    teardown(fn) {
      if (ran === undefined) {
        steps.push(fn);
        return;
      }
      // Registered after cleanup began (work still in flight after Ctrl-C): undo it at once.
      void new Promise((resolve) => resolve(fn())).catch((err: unknown) => process.stderr.write(`bench: late cleanup: ${String(err)}\n`));
    },
    run() {
      ran ??= (async () => {
        const errors: Error[] = [];
        while (steps.length > 0) {
          const step = steps.pop();
          try {
            await step?.();
          } catch (err) {
            errors.push(err instanceof Error ? err : new Error(String(err)));
          }
        }
        return errors;
      })();
      return ran;
    },
  };
}

/** What a bench run produced: the Markdown report, and whether a step failed. */
export interface BenchOutcome {
  readonly text: string;
  readonly failed: boolean;
}

/**
 * Runs a bench with one cleanup for everything it makes, also on Ctrl-C or SIGTERM: prints the
 * report on stdout and returns the exit status (1 when a step failed, the run threw, or cleanup
 * left something behind).
 */
export async function runBench(progress: (msg: string) => void, bench: (cleanup: Cleanup) => Promise<BenchOutcome>): Promise<number> {
  const cleanup = createCleanup();
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: cleaning up`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let code = 0;
  try {
    const { text, failed } = await bench(cleanup);
    process.stdout.write(`${text}\n`);
    if (failed) {
      progress('some steps failed (see Failures)');
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
