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
