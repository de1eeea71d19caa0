// Every error of the OVSDB client, one class per failure (libovsdb ovsdb/error.go).
// Each class has a stable `code` and a `Symbol.for` brand, so `instanceof` holds
// even across two copies of this module (undici lib/core/errors.js).

const kOvsdbError: unique symbol = Symbol.for('ovn-multinet.ovsdb.error');

export class OvsdbError extends Error {
  static readonly code: string = 'OVSDB_ERROR';
  readonly code: string;
  readonly [kOvsdbError] = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = new.target.code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(kOvsdbError in value)) return false;
    return this.code === OvsdbError.code || (value as { code?: unknown }).code === this.code;
  }
}

/** No session with a server: not connected yet, or the connection dropped while a request waited. */
export class OvsdbNotConnectedError extends OvsdbError {
  static override readonly code: string = 'OVSDB_NOT_CONNECTED';
  constructor(message = 'not connected to the OVSDB server', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The peer sent something that is not valid JSON-RPC or not valid OVSDB (malformed, oversized, wrong shape). */
export class OvsdbProtocolError extends OvsdbError {
  static override readonly code: string = 'OVSDB_PROTOCOL';
}

/** The peer stayed silent for two echo intervals. */
export class OvsdbInactivityError extends OvsdbError {
  static override readonly code: string = 'OVSDB_INACTIVITY';
}

/** A JSON-RPC request (other than a transact operation) was answered with an error. */
export class OvsdbRpcError extends OvsdbError {
  static override readonly code: string = 'OVSDB_RPC';
  readonly method: string;
  readonly error: string;
  readonly details: string | undefined;

  constructor(method: string, error: string, details: string | undefined) {
    super(`${method}: ${error}${details === undefined ? '' : ` (${details})`}`);
    this.method = method;
    this.error = error;
    this.details = details;
  }
}

/** An operation, or the commit of a transaction, failed (RFC 7047 section 4.1.3). */
export class OvsdbTransactionError extends OvsdbError {
  static override readonly code: string = 'OVSDB_TRANSACTION';
  readonly kind: TransactionErrorKind;
  /** Index of the failing operation; `undefined` when the commit itself failed. */
  readonly opIndex: number | undefined;
  readonly error: string;
  readonly details: string | undefined;

  constructor(opIndex: number | undefined, op: string | undefined, error: string, details: string | undefined) {
    const where = opIndex === undefined ? 'commit' : `operation ${opIndex} (${op ?? '?'})`;
    super(`${where} failed: ${error}${details === undefined ? '' : `: ${details}`}`);
    this.kind = transactionErrorKind(error);
    this.opIndex = opIndex;
    this.error = error;
    this.details = details;
  }
}

/**
 * Whether `err` is a `wait` among the first `guards` operations that did not hold (timeout 0):
 * what an optimistic transaction reports when another writer changed the guarded rows first.
 */
export function isGuardConflict(err: unknown, guards: number): boolean {
  return err instanceof OvsdbTransactionError && err.kind === 'timed-out' && err.opIndex !== undefined && err.opIndex < guards;
}

/** A table, column or value does not match the database schema (caught before anything is sent). */
export class OvsdbSchemaError extends OvsdbError {
  static override readonly code: string = 'OVSDB_SCHEMA';
}

/** The client options are invalid, e.g. a remote with an unknown scheme, or one index name given two key functions. */
export class OvsdbConfigError extends OvsdbError {
  static override readonly code: string = 'OVSDB_CONFIG';
}

/** The server is a member of a cluster but not its leader (only with `leaderOnly`). */
export class OvsdbNotLeaderError extends OvsdbError {
  static override readonly code: string = 'OVSDB_NOT_LEADER';
}

// RFC 7047 section 4.1.3 and ovsdb-server(7) error strings.
const transactionErrorKinds = {
  'referential integrity violation': 'referential-integrity',
  'constraint violation': 'constraint-violation',
  'timed out': 'timed-out',
  'resources exhausted': 'resources-exhausted',
  'I/O error': 'io-error',
  'duplicate uuid-name': 'duplicate-uuid-name',
  'domain error': 'domain-error',
  'range error': 'range-error',
  'not supported': 'not-supported',
  'not owner': 'not-owner',
  'aborted': 'aborted',
  'syntax error': 'syntax-error',
  'permission error': 'permission-error',
} as const;

export type TransactionErrorKind = (typeof transactionErrorKinds)[keyof typeof transactionErrorKinds] | 'other';

function transactionErrorKind(error: string): TransactionErrorKind {
  return Object.hasOwn(transactionErrorKinds, error)
    ? transactionErrorKinds[error as keyof typeof transactionErrorKinds]
    : 'other';
}
