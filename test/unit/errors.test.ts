// The error catalogue (daemon/errors.ts), as undici's test/errors.js checks its own: every class
// from a table, with its name, its stable code, its default message, and instanceof through the
// Symbol.for brand (what a second copy of the module creates is still recognised).
import t from 'tap';
import * as catalogue from '../../daemon/errors.ts';
import { errorCodes, OvnMultinetError } from '../../daemon/errors.ts';
import { errorClasses as classes, errorSamples as rows, type AnyErrorClass as AnyClass } from '../helpers/error-samples.ts';

t.test('the table holds every class of the catalogue, once', async (t) => {
  t.ok(classes.length >= 50, `${classes.length} classes`);
  t.same(rows.map(([err]) => err.constructor).sort((a, b) => a.name.localeCompare(b.name)), [...classes].sort((a, b) => a.name.localeCompare(b.name)));
  t.equal(new Set(classes.map((cls) => cls.code)).size, classes.length, 'class codes are unique');
});

t.test('every class has its name, its stable code and a default message', async (t) => {
  for (const [err, name, code, message] of rows) {
    t.equal(err.name, name);
    t.equal(err.constructor.name, name, `${name}: the class is named as its errors`);
    t.equal(err.code, code, `${name} code`);
    t.equal(err.message, message, `${name} message`);
    t.ok(err instanceof Error && err instanceof OvnMultinetError, `${name} is an Error and an OvnMultinetError`);
    t.equal(errorCodes(err)[0], (err.constructor as unknown as { code: string }).code, `${name}: its brand starts with its class code`);
  }
});

t.test('instanceof holds for the class and its ancestors only, through the brand', async (t) => {
  for (const [err, name] of rows) {
    // (the brand decides instanceof; the prototype chain is what it must agree with)
    const expected = classes.filter((cls) => Object.prototype.isPrototypeOf.call(cls.prototype, err));
    t.same(classes.filter((cls) => err instanceof cls).map((cls) => cls.name).sort(), expected.map((cls) => cls.name).sort(), `${name}: its class and ancestors`);
    // What a second copy of the module would create: another prototype, the same brand.
    t.ok(Object.assign(new Error('copy'), { ...err }) instanceof (err.constructor as AnyClass), `${name}: instanceof through the brand`);
  }
  t.notOk(Object.assign(new Error('x'), { code: 'ERR_POOL_EXHAUSTED' }) instanceof catalogue.PoolExhaustedError, 'no brand, no match');
  t.notOk(OvnMultinetError[Symbol.hasInstance](null));
  t.same(errorCodes('ERR_OVN_MULTINET'), []);
});

t.test('details, field and cause are kept', async (t) => {
  const cause = new Error('inner');
  const err = new catalogue.InvalidConfigError('mtu: too big', { details: '99999', field: 'mtu', cause });
  t.match(err, { details: '99999', field: 'mtu', cause });
  t.same(errorCodes(err), ['ERR_INVALID_CONFIG', 'ERR_OVN_MULTINET']);
  const plain = new catalogue.PoolExhaustedError('full');
  t.equal(plain.details, undefined);
  t.equal(plain.field, undefined);
  t.notOk('cause' in plain, 'no cause unless given');
  t.same(errorCodes(new catalogue.OvsdbNotConnectedError()), ['OVSDB_NOT_CONNECTED', 'OVSDB_ERROR', 'ERR_OVN_MULTINET']);
});
