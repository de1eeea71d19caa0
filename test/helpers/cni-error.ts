import type { Test } from 'tap';
import { OvnMultinetError } from '../../daemon/errors.ts';
import { toCniError } from '../../daemon/server/cni-errors.ts';

/** Asserts that `fn` throws an error the daemon answers with `code`, whose message names `field`. */
export function expectCniError(tt: Test, fn: () => unknown, code: number, field: string): void {
  try {
    fn();
  } catch (thrown) {
    tt.ok(thrown instanceof OvnMultinetError, `${field}: an error of the catalogue`);
    const err = toCniError(thrown, 'request');
    tt.equal(err.code, code, `${field}: code ${code}`);
    tt.ok(err.message.includes(field), `message ${JSON.stringify(err.message)} names ${field}`);
    return;
  }
  tt.fail(`${field}: did not throw`);
}

/** Asserts that `promise` rejects with an error the daemon answers as `wanted` (code, message, details). */
export async function rejectsAsCniError(tt: Test, promise: Promise<unknown>, wanted: Record<string, unknown>, message?: string): Promise<void> {
  const thrown = await promise.then(() => undefined, (err: unknown) => ({ err }));
  if (thrown === undefined) {
    tt.fail(message ?? 'expected to reject');
    return;
  }
  tt.match(toCniError(thrown.err, 'request'), wanted, message ?? 'rejects as this CNI error');
}
