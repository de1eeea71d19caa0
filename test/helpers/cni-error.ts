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
