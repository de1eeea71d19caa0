import t from 'tap';
import {
  OvsdbConfigError,
  OvsdbError,
  OvsdbInactivityError,
  OvsdbNotConnectedError,
  OvsdbNotLeaderError,
  OvsdbProtocolError,
  OvsdbRpcError,
  OvsdbSchemaError,
  OvsdbTransactionError,
} from '../../daemon/errors.ts';

const table: Array<[string, OvsdbError, string]> = [
  ['OvsdbNotConnectedError', new OvsdbNotConnectedError(), 'OVSDB_NOT_CONNECTED'],
  ['OvsdbProtocolError', new OvsdbProtocolError('bad'), 'OVSDB_PROTOCOL'],
  ['OvsdbInactivityError', new OvsdbInactivityError('silent'), 'OVSDB_INACTIVITY'],
  ['OvsdbRpcError', new OvsdbRpcError('get_schema', 'unknown database', 'X'), 'OVSDB_RPC'],
  ['OvsdbTransactionError', new OvsdbTransactionError(0, 'insert', 'constraint violation', undefined), 'OVSDB_TRANSACTION'],
  ['OvsdbSchemaError', new OvsdbSchemaError('bad'), 'OVSDB_SCHEMA'],
  ['OvsdbConfigError', new OvsdbConfigError('bad'), 'OVSDB_CONFIG'],
  ['OvsdbNotLeaderError', new OvsdbNotLeaderError('follower'), 'OVSDB_NOT_LEADER'],
];

t.test('every class has a name, a stable code and a message', async (t) => {
  const codes = new Set<string>();
  for (const [name, error, code] of table) {
    t.equal(error.name, name);
    t.equal(error.code, code);
    t.ok(error.message.length > 0, `${name} has a message`);
    t.ok(error instanceof Error && error instanceof OvsdbError, `${name} is an OvsdbError`);
    codes.add(code);
  }
  t.equal(codes.size, table.length, 'codes are unique');
});

t.test('instanceof matches by brand and code, not by identity', async (t) => {
  for (const [name, error] of table) {
    for (const [otherName, other] of table) {
      t.equal(error instanceof (other.constructor as typeof OvsdbError), name === otherName, `${name} vs ${otherName}`);
    }
  }
  // What a second copy of errors.ts would create: the same brand (the codes of the class and its
  // ancestors), another prototype.
  const foreign = Object.assign(new Error('x'), { code: 'OVSDB_NOT_CONNECTED', [Symbol.for('ovn-multinet.error')]: ['OVSDB_NOT_CONNECTED', 'OVSDB_ERROR', 'ERR_OVN_MULTINET'] });
  t.ok(foreign instanceof OvsdbNotConnectedError);
  t.ok(foreign instanceof OvsdbError);
  t.notOk(foreign instanceof OvsdbProtocolError);
  t.notOk(Object.assign(new Error('x'), { code: 'OVSDB_NOT_CONNECTED' }) instanceof OvsdbError, 'no brand, no match');
  t.notOk(OvsdbError[Symbol.hasInstance](null));
});

t.test('transaction error kinds follow the RFC 7047 error strings', async (t) => {
  const kinds: Array<[string, string]> = [
    ['referential integrity violation', 'referential-integrity'],
    ['constraint violation', 'constraint-violation'],
    ['timed out', 'timed-out'],
    ['resources exhausted', 'resources-exhausted'],
    ['I/O error', 'io-error'],
    ['duplicate uuid-name', 'duplicate-uuid-name'],
    ['domain error', 'domain-error'],
    ['range error', 'range-error'],
    ['not supported', 'not-supported'],
    ['not owner', 'not-owner'],
    ['aborted', 'aborted'],
    ['syntax error', 'syntax-error'],
    ['permission error', 'permission-error'],
    ['something new', 'other'],
    ['toString', 'other'],
  ];
  for (const [error, kind] of kinds) t.equal(new OvsdbTransactionError(1, 'mutate', error, undefined).kind, kind, error);
  const commit = new OvsdbTransactionError(undefined, undefined, 'referential integrity violation', 'row is referenced');
  t.equal(commit.opIndex, undefined);
  t.equal(commit.message, 'commit failed: referential integrity violation: row is referenced');
});

t.test('RPC errors keep the method, error and details', async (t) => {
  const error = new OvsdbRpcError('get_schema', 'unknown database', 'no db X');
  t.match(error, { method: 'get_schema', error: 'unknown database', details: 'no db X' });
  t.equal(error.message, 'get_schema: unknown database (no db X)');
});
