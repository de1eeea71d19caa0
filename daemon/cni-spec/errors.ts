/**
 * CNI error codes (SPEC.md "Error") and the CNI error as printed on stdout. 0-99 are reserved by
 * the spec; ours start at 100. The daemon's layers throw the classes of daemon/errors.ts;
 * daemon/server/cni-errors.ts turns them into CniErrors.
 */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  /** An OVN/OVS/netlink step failed in a way the runtime should not simply retry. */
  AttachFailed: 100,
  /** CHECK found the attachment different from what ADD made. */
  CheckFailed: 101,
  /** The address pool of the network has no free address. */
  AddressPoolExhausted: 102,
  /** A requested static address or MAC is used by another attachment. */
  AddressInUse: 103,
  /** In a cluster: no Network object admitting the pod's namespace gives what the config asks. */
  NotPermitted: 104,
  /** Anything not mapped to a code above: a bug (server/cni-errors.ts UNEXPECTED). */
  Unknown: 999,
} as const;

const brand = Symbol.for('ovn-multinet.CniError');

export class CniError extends Error {
  readonly code: number;
  readonly details: string;
  readonly [brand] = true;

  constructor(code: number, msg: string, details = '', options?: { cause?: unknown }) {
    super(msg, options);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && brand in value;
  }

  /** The JSON body the spec prints on stdout (without cniVersion, added by the printer). */
  toJSON(): { code: number; msg: string; details?: string } {
    return this.details === '' ? { code: this.code, msg: this.message } : { code: this.code, msg: this.message, details: this.details };
  }
}

const SHOWN = 64;

/**
 * A short, safe rendering of a bad value for an error message: never the whole of a huge string
 * or a deep structure (JSON.stringify of 10k nested arrays overflows the stack).
 */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > SHOWN ? `${value.slice(0, SHOWN)}…` : value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length} items`;
  return typeof value === 'object' ? 'an object' : typeof value;
}
