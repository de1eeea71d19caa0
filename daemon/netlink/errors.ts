// Every error the netlink layer throws. Each class has a stable `code` (KernelError's is the errno
// name, as in Node's system errors), a `name`, a default message, and a Symbol.for brand so that
// `instanceof` works across duplicated module copies.
import { constants } from 'node:os';

function hasBrand(value: unknown, key: symbol): boolean {
  return typeof value === 'object' && value !== null && key in value;
}

const kKernel = Symbol.for('ovn-multinet.netlink.KernelError');
const kNetnsNotFound = Symbol.for('ovn-multinet.netlink.NetnsNotFoundError');
const kNotANetns = Symbol.for('ovn-multinet.netlink.NotANetnsError');
const kInvalidAddress = Symbol.for('ovn-multinet.netlink.InvalidAddressError');
const kNativeAddon = Symbol.for('ovn-multinet.netlink.NativeAddonError');

/** The kernel refused a netlink request, an ioctl or setns. `code` is the errno name (EEXIST, ENODEV...). */
export class KernelError extends Error {
  override readonly name = 'KernelError';
  readonly code: string;
  /** Positive errno value. */
  readonly errno: number;
  /** What was asked, e.g. `RTM_NEWLINK veth1234` or `setns`. */
  readonly operation: string;
  readonly [kKernel] = true;

  constructor(errno: number, operation: string, options?: ErrorOptions) {
    const code = errnoName(errno);
    super(`${operation} failed: ${code}`, options);
    this.code = code;
    this.errno = errno;
    this.operation = operation;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, kKernel);
  }
}

// errno number -> name. Where Linux has two names for one number, the one glibc's strerrorname_np
// gives (EOPNOTSUPP, not ENOTSUP; EAGAIN, not EWOULDBLOCK).
const preferredNames = new Set(['EOPNOTSUPP', 'EAGAIN', 'EDEADLK']);
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value) || preferredNames.has(name)) errnoNames.set(value, name);
}

function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** True when `err` is a KernelError with one of the given errno names. */
export function isErrno(err: unknown, ...codes: string[]): err is KernelError {
  return err instanceof KernelError && codes.includes(err.code);
}

/** The netns path does not exist. DEL treats this as "already gone". */
export class NetnsNotFoundError extends Error {
  override readonly name = 'NetnsNotFoundError';
  readonly code = 'ERR_NETNS_NOT_FOUND';
  readonly path: string;
  readonly [kNetnsNotFound] = true;

  constructor(path: string, options?: ErrorOptions) {
    super(`network namespace ${path} does not exist`, options);
    this.path = path;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, kNetnsNotFound);
  }
}

/** The path exists but is not a network namespace (a regular file, another namespace type...). */
export class NotANetnsError extends Error {
  override readonly name = 'NotANetnsError';
  readonly code = 'ERR_NOT_A_NETNS';
  readonly path: string;
  readonly [kNotANetns] = true;

  constructor(path: string, options?: ErrorOptions) {
    super(`${path} is not a network namespace`, options);
    this.path = path;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, kNotANetns);
  }
}

/** A MAC address, IP address or CIDR string that cannot be encoded. */
export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
  readonly code = 'ERR_INVALID_ADDRESS';
  readonly value: string;
  readonly [kInvalidAddress] = true;

  constructor(value: string, reason: string) {
    super(`invalid address ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, kInvalidAddress);
  }
}

/** The native addon is missing or does not export what we expect. */
export class NativeAddonError extends Error {
  override readonly name = 'NativeAddonError';
  readonly code = 'ERR_NATIVE_ADDON';
  readonly path: string;
  readonly [kNativeAddon] = true;

  constructor(path: string, options?: ErrorOptions) {
    super(`cannot load native addon ${path}`, options);
    this.path = path;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, kNativeAddon);
  }
}
