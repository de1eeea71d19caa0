import type { Test } from 'tap';
import { CniError } from '../../daemon/cni/errors.ts';

/** Asserts that `fn` throws a CniError with `code` whose message names `field`. */
export function expectCniError(tt: Test, fn: () => unknown, code: number, field: string): void {
  try {
    fn();
  } catch (err) {
    tt.ok(err instanceof CniError, `${field}: a CniError`);
    if (err instanceof CniError) {
      tt.equal(err.code, code, `${field}: code ${code}`);
      tt.ok(err.message.includes(field), `message ${JSON.stringify(err.message)} names ${field}`);
    }
    return;
  }
  tt.fail(`${field}: did not throw`);
}
