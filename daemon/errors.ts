/**
 * Every error the daemon throws, one class per failure it distinguishes (undici lib/core/errors.js).
 * Each class has a stable string `code` (static, and on each instance), a `name`, a default
 * message, optional `details` (the specifics, as CNI's `details`), an optional `field` (the config
 * key or variable at fault) and a `cause`. A `Symbol.for` brand holds the codes of the class and
 * of its ancestors, so `instanceof` works across two copies of this module.
 *
 * What a CNI runtime sees for each class is decided in one place: daemon/server/cni-errors.ts.
 * This module imports nothing of the project: every layer imports it.
 */
import { constants } from 'node:os';

const kError = Symbol.for('ovn-multinet.error');

interface ErrorDetails extends ErrorOptions {
  /** The specifics: what was found, what is expected. */
  details?: string | undefined;
  /** The config key, variable or annotation part at fault. */
  field?: string | undefined;
}

type ErrorClass = (abstract new (...args: never[]) => unknown) & { readonly code: string };

/** The codes of `cls` and of each ancestor up to OvnMultinetError, most specific first. */
function classCodes(cls: ErrorClass): string[] {
  const codes: string[] = [];
  for (let c: unknown = cls; typeof c === 'function' && Object.hasOwn(c, 'code'); c = Object.getPrototypeOf(c)) {
    codes.push((c as ErrorClass).code);
  }
  return codes;
}

/** The catalogue codes of `err`'s class and its ancestors, most specific first; [] for any other value. */
export function errorCodes(err: unknown): readonly string[] {
  if (typeof err !== 'object' || err === null || !(kError in err)) return [];
  const codes = err[kError];
  return Array.isArray(codes) ? codes.filter((c): c is string => typeof c === 'string') : [];
}

export class OvnMultinetError extends Error {
  static readonly code: string = 'ERR_OVN_MULTINET';
  override readonly name: string = 'OvnMultinetError';
  readonly code: string;
  readonly details: string | undefined;
  readonly field: string | undefined;
  readonly [kError]: readonly string[];

  constructor(message = 'ovn-multinet error', options: ErrorDetails = {}) {
    const { details, field, ...rest } = options;
    super(message, rest);
    this.code = new.target.code;
    this.details = details;
    this.field = field;
    this[kError] = classCodes(new.target);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return errorCodes(value).includes(this.code);
  }
}

/** A programming error: a case the types say cannot happen. */
export class UnreachableError extends OvnMultinetError {
  static override readonly code: string = 'ERR_UNREACHABLE';
  override readonly name: string = 'UnreachableError';
  constructor(message = 'unreachable code reached', options?: ErrorDetails) {
    super(message, options);
  }
}

// --- The CNI request: env, stdin, the socket ---------------------------------------------------
// Their messages are the CNI `msg` as printed: the field at fault first.

/** cniVersion is not supported, or the version lacks the command. */
export class IncompatibleVersionError extends OvnMultinetError {
  static override readonly code: string = 'ERR_INCOMPATIBLE_VERSION';
  override readonly name: string = 'IncompatibleVersionError';
  constructor(message = 'incompatible CNI version', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A config field this plugin does not support (here: `ipam` of the plugin itself). */
export class UnsupportedFieldError extends OvnMultinetError {
  static override readonly code: string = 'ERR_UNSUPPORTED_FIELD';
  override readonly name: string = 'UnsupportedFieldError';
  constructor(message = 'unsupported field', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The container the request names is not there: its netns, pod or namespace does not exist. */
export class UnknownContainerError extends OvnMultinetError {
  static override readonly code: string = 'ERR_UNKNOWN_CONTAINER';
  override readonly name: string = 'UnknownContainerError';
  constructor(message = 'unknown container', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A CNI_* variable is missing or invalid. */
export class InvalidEnvironmentError extends OvnMultinetError {
  static override readonly code: string = 'ERR_INVALID_ENVIRONMENT';
  override readonly name: string = 'InvalidEnvironmentError';
  constructor(message = 'invalid environment', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The whole request did not arrive on the socket in time. */
export class RequestTimeoutError extends OvnMultinetError {
  static override readonly code: string = 'ERR_REQUEST_TIMEOUT';
  override readonly name: string = 'RequestTimeoutError';
  constructor(message = 'request not received in time', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The request or the network configuration cannot be decoded (not JSON, too large, wrong shape). */
export class DecodeFailureError extends OvnMultinetError {
  static override readonly code: string = 'ERR_DECODE_FAILURE';
  override readonly name: string = 'DecodeFailureError';
  constructor(message = 'cannot decode', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A config value is invalid, or names something (a switch, an IPAMClaim) that does not fit. */
export class InvalidConfigError extends OvnMultinetError {
  static override readonly code: string = 'ERR_INVALID_CONFIG';
  override readonly name: string = 'InvalidConfigError';
  constructor(message = 'invalid network configuration', options?: ErrorDetails) {
    super(message, options);
  }
}

/** CHECK found the attachment different from what ADD made. */
export class CheckFailedError extends OvnMultinetError {
  static override readonly code: string = 'ERR_CHECK_FAILED';
  override readonly name: string = 'CheckFailedError';
  constructor(message = 'the attachment is not as ADD made it', options?: ErrorDetails) {
    super(message, options);
  }
}

/** STATUS: the plugin cannot serve ADD now (a database is away). */
export class NotAvailableError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NOT_AVAILABLE';
  override readonly name: string = 'NotAvailableError';
  constructor(message = 'not available', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A database the request needs did not come back within the request's wait. */
export class DatabaseUnreachableError extends OvnMultinetError {
  static override readonly code: string = 'ERR_DATABASE_UNREACHABLE';
  override readonly name: string = 'DatabaseUnreachableError';
  constructor(message = 'database is not reachable', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The Kubernetes API server could not answer what the request needs. */
export class ApiServerUnreachableError extends OvnMultinetError {
  static override readonly code: string = 'ERR_API_SERVER_UNREACHABLE';
  override readonly name: string = 'ApiServerUnreachableError';
  constructor(message = 'the Kubernetes API server is not reachable', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The OVS integration bridge does not exist (yet). */
export class BridgeMissingError extends OvnMultinetError {
  static override readonly code: string = 'ERR_BRIDGE_MISSING';
  override readonly name: string = 'BridgeMissingError';
  constructor(message = 'the OVS bridge does not exist', options?: ErrorDetails) {
    super(message, options);
  }
}

/** Something the attachment needs is already there and is not its own (a port, an interface). */
export class AttachmentConflictError extends OvnMultinetError {
  static override readonly code: string = 'ERR_ATTACHMENT_CONFLICT';
  override readonly name: string = 'AttachmentConflictError';
  constructor(message = 'the attachment conflicts with an existing one', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A logical switch port the daemon made has no MAC address. */
export class PortWithoutMacError extends OvnMultinetError {
  static override readonly code: string = 'ERR_PORT_WITHOUT_MAC';
  override readonly name: string = 'PortWithoutMacError';
  constructor(message = 'logical switch port has no MAC address', options?: ErrorDetails) {
    super(message, options);
  }
}

// --- The daemon's socket, deadlines, flags -----------------------------------------------------

/** The client disconnected before its answer. */
export class ClientGoneError extends OvnMultinetError {
  static override readonly code: string = 'ERR_CLIENT_GONE';
  override readonly name: string = 'ClientGoneError';
  constructor(message = 'the client disconnected before the answer', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The daemon serves as many connections as --max-connections allows: a new one is refused. */
export class TooManyConnectionsError extends OvnMultinetError {
  static override readonly code: string = 'ERR_TOO_MANY_CONNECTIONS';
  override readonly name: string = 'TooManyConnectionsError';
  constructor(message = 'the daemon has too many connections open', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The socket's directory or path cannot be used. */
export class SocketSetupError extends OvnMultinetError {
  static override readonly code: string = 'ERR_SOCKET_SETUP';
  override readonly name: string = 'SocketSetupError';
  constructor(message = 'cannot set up the socket', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A piece of work was not done within its deadline. */
export class DeadlineExceededError extends OvnMultinetError {
  static override readonly code: string = 'ERR_DEADLINE_EXCEEDED';
  override readonly name: string = 'DeadlineExceededError';
  constructor(message = 'deadline exceeded', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A command-line flag is invalid. */
export class FlagError extends OvnMultinetError {
  static override readonly code: string = 'ERR_FLAG';
  override readonly name: string = 'FlagError';
  constructor(message = 'invalid flag', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The gc command could not finish. */
export class GcFailedError extends OvnMultinetError {
  static override readonly code: string = 'ERR_GC_FAILED';
  override readonly name: string = 'GcFailedError';
  constructor(message = 'gc failed', options?: ErrorDetails) {
    super(message, options);
  }
}

/** An operator command (daemon/ops/) could not do its work: exit code 1, its message on stderr. */
export class OpsFailedError extends OvnMultinetError {
  static override readonly code: string = 'ERR_OPS_FAILED';
  override readonly name: string = 'OpsFailedError';
  constructor(message = 'the command failed', options?: ErrorDetails) {
    super(message, options);
  }
}

/** What an operator command was asked about does not exist: exit code 3. */
export class OpsNotFoundError extends OpsFailedError {
  static override readonly code: string = 'ERR_OPS_NOT_FOUND';
  override readonly name: string = 'OpsNotFoundError';
  constructor(message = 'not found', options?: ErrorDetails) {
    super(message, options);
  }
}

// --- IPAM ----------------------------------------------------------------------------------------

/** The network's address pool has no free address. */
export class PoolExhaustedError extends OvnMultinetError {
  static override readonly code: string = 'ERR_POOL_EXHAUSTED';
  override readonly name: string = 'PoolExhaustedError';
  constructor(message = 'no free address', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The logical switch went away while an address was being taken on it. */
export class SwitchGoneError extends OvnMultinetError {
  static override readonly code: string = 'ERR_SWITCH_GONE';
  override readonly name: string = 'SwitchGoneError';
  constructor(message = 'the logical switch is gone', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A requested static address (or MAC) is already used on the switch; `field` names the request. */
export class AddressInUseError extends OvnMultinetError {
  static override readonly code: string = 'ERR_ADDRESS_IN_USE';
  override readonly name: string = 'AddressInUseError';
  readonly kind: 'ip' | 'mac';
  readonly address: string;
  readonly owner: string;

  constructor(kind: 'ip' | 'mac', address: string, owner: string, options?: ErrorDetails) {
    super(`${address} is already used by ${owner}`, options);
    this.kind = kind;
    this.address = address;
    this.owner = owner;
  }
}

/**
 * A requested static address (or MAC) may never be handed out on the switch: an excluded
 * address, the network's gateway, its network or broadcast address, a router port's address or
 * MAC, a multicast one (daemon/ipam/pool.ts neverHandedOut). `reason` says which; `field` names
 * the request.
 */
export class AddressNotAllowedError extends OvnMultinetError {
  static override readonly code: string = 'ERR_ADDRESS_NOT_ALLOWED';
  override readonly name: string = 'AddressNotAllowedError';
  readonly kind: 'ip' | 'mac';
  readonly address: string;
  readonly reason: string;

  constructor(kind: 'ip' | 'mac', address: string, reason: string, options?: ErrorDetails) {
    super(`${address} may not be requested: ${reason}`, options);
    this.kind = kind;
    this.address = address;
    this.reason = reason;
  }
}

/** The static addresses asked for differ from what the IPAMClaim already holds. */
export class ClaimMismatchError extends OvnMultinetError {
  static override readonly code: string = 'ERR_CLAIM_MISMATCH';
  override readonly name: string = 'ClaimMismatchError';
  readonly kind: 'ip' | 'mac';
  constructor(kind: 'ip' | 'mac', message: string, options?: ErrorDetails) {
    super(message, options);
    this.kind = kind;
  }
}

/** The subnet or exclude_ips of a logical switch cannot be used. */
export class IpamConfigError extends OvnMultinetError {
  static override readonly code: string = 'ERR_IPAM_CONFIG';
  override readonly name: string = 'IpamConfigError';
  constructor(message = 'invalid IPAM settings on the logical switch', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A third pod of a claim while two share its port. */
export class MigrationInFlightError extends OvnMultinetError {
  static override readonly code: string = 'ERR_MIGRATION_IN_FLIGHT';
  override readonly name: string = 'MigrationInFlightError';
  constructor(message = 'a live migration of the claim is in flight', options?: ErrorDetails) {
    super(message, options);
  }
}

/**
 * A second pod of the claim on the chassis its port is bound to: OVN binds a port to one OVS
 * interface per chassis, so a migration within one node cannot share the port.
 */
export class SameChassisError extends OvnMultinetError {
  static override readonly code: string = 'ERR_SAME_CHASSIS';
  override readonly name: string = 'SameChassisError';
  constructor(message = 'a live migration within one chassis', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The node's chassis is not known (no system-id in its Open_vSwitch row). */
export class ChassisUnknownError extends OvnMultinetError {
  static override readonly code: string = 'ERR_CHASSIS_UNKNOWN';
  override readonly name: string = 'ChassisUnknownError';
  constructor(message = 'the chassis of this node is not known', options?: ErrorDetails) {
    super(message, options);
  }
}

// --- OVN and OVS tables --------------------------------------------------------------------------

/** Two logical switches have the name asked for (names are not unique in the NB schema). */
export class AmbiguousSwitchError extends OvnMultinetError {
  static override readonly code: string = 'ERR_AMBIGUOUS_SWITCH';
  override readonly name: string = 'AmbiguousSwitchError';
  constructor(message = 'more than one logical switch has the name', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A managed network's definition is invalid; `field` is the config key at fault. */
export class NetworkDefinitionError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NETWORK_DEFINITION';
  override readonly name: string = 'NetworkDefinitionError';
  declare readonly field: string;
  declare readonly details: string;

  constructor(field: string, message: string, details = '') {
    super(message, { field, details });
  }
}

/** The iface-id of the interface moved to another port while its binding was awaited. */
export class BindingMovedError extends OvnMultinetError {
  static override readonly code: string = 'ERR_BINDING_MOVED';
  override readonly name: string = 'BindingMovedError';
  constructor(message = 'the binding moved to another port', options?: ErrorDetails) {
    super(message, options);
  }
}

// --- Kubernetes ----------------------------------------------------------------------------------

/** The kubeconfig cannot be used. */
export class KubeConfigError extends OvnMultinetError {
  static override readonly code: string = 'ERR_KUBECONFIG';
  override readonly name: string = 'KubeConfigError';
  constructor(message = 'invalid kubeconfig', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The pod does not exist (GET answered 404). */
export class PodNotFoundError extends OvnMultinetError {
  static override readonly code: string = 'ERR_POD_NOT_FOUND';
  override readonly name: string = 'PodNotFoundError';
  constructor(message = 'pod not found', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The pod exists with another UID; `found` is its UID. */
export class PodUidMismatchError extends OvnMultinetError {
  static override readonly code: string = 'ERR_POD_UID_MISMATCH';
  override readonly name: string = 'PodUidMismatchError';
  readonly found: string;
  constructor(message: string, found: string, options?: ErrorDetails) {
    super(message, options);
    this.found = found;
  }
}

/** The API server could not be asked for a pod (unreachable, refused, an unexpected answer). */
export class PodLookupError extends OvnMultinetError {
  static override readonly code: string = 'ERR_POD_LOOKUP';
  override readonly name: string = 'PodLookupError';
  constructor(message = 'cannot read the pod', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The pod's network-selection annotation is invalid; `path` points at the bad part. */
export class NetworkSelectionError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NETWORK_SELECTION';
  override readonly name: string = 'NetworkSelectionError';
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorDetails) {
    super(`${path}: ${message}`, options);
    this.path = path;
  }
}

/** The namespace does not exist. */
export class NamespaceNotFoundError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NAMESPACE_NOT_FOUND';
  override readonly name: string = 'NamespaceNotFoundError';
  constructor(message = 'namespace not found', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The API server could not be asked for Networks or a namespace, or the first list came late. */
export class NetworkLookupError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NETWORK_LOOKUP';
  override readonly name: string = 'NetworkLookupError';
  constructor(message = 'cannot read Networks', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The selector is not a valid LabelSelector; the message starts with the bad field's path. */
export class LabelSelectorError extends OvnMultinetError {
  static override readonly code: string = 'ERR_LABEL_SELECTOR';
  override readonly name: string = 'LabelSelectorError';
  constructor(message = 'invalid label selector', options?: ErrorDetails) {
    super(message, options);
  }
}

/**
 * In a cluster, a pod's config reaches a logical switch, or sets something (portSecurity false,
 * a managed definition, DHCP), that no Network object admitting the pod's namespace gives
 * (k8s/access.ts). `field` is the config key at fault; the message names the switch and the
 * namespace, `details` the Networks considered.
 */
export class NetworkAccessDeniedError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NETWORK_ACCESS_DENIED';
  override readonly name: string = 'NetworkAccessDeniedError';
  constructor(message = 'no Network admits this', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The API server could not be asked for an IPAMClaim, or answered something unexpected. */
export class ClaimLookupError extends OvnMultinetError {
  static override readonly code: string = 'ERR_CLAIM_LOOKUP';
  override readonly name: string = 'ClaimLookupError';
  constructor(message = 'cannot read the IPAMClaim', options?: ErrorDetails) {
    super(message, options);
  }
}

// --- The controller ------------------------------------------------------------------------------

/** The API server sent a list that is not one. */
export class MalformedListError extends OvnMultinetError {
  static override readonly code: string = 'ERR_MALFORMED_LIST';
  override readonly name: string = 'MalformedListError';
  constructor(message = 'the API server sent a malformed list', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A Network's spec is invalid; `field` is its path (spec.config.subnets[0], metadata.name, ...). */
export class NetworkSpecError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NETWORK_SPEC';
  override readonly name: string = 'NetworkSpecError';
  declare readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, { field });
  }
}

/** A MultiNetworkPolicy's spec is invalid (policy/parse.ts); the message starts with the field's path. */
export class PolicySpecError extends OvnMultinetError {
  static override readonly code: string = 'ERR_POLICY_SPEC';
  override readonly name: string = 'PolicySpecError';
  constructor(message = 'invalid MultiNetworkPolicy', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The leader election's timings are inconsistent. */
export class ElectionConfigError extends OvnMultinetError {
  static override readonly code: string = 'ERR_ELECTION_CONFIG';
  override readonly name: string = 'ElectionConfigError';
  constructor(message = 'invalid leader election settings', options?: ErrorDetails) {
    super(message, options);
  }
}

/** A logical switch's expose mark is invalid. */
export class ExposeMarkError extends OvnMultinetError {
  static override readonly code: string = 'ERR_EXPOSE_MARK';
  override readonly name: string = 'ExposeMarkError';
  constructor(message = 'invalid expose mark', options?: ErrorDetails) {
    super(message, options);
  }
}

// --- netlink -------------------------------------------------------------------------------------

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

/**
 * The kernel refused a netlink request, an ioctl or setns. The class code is ERR_KERNEL; an
 * instance's `code` is the errno name (EEXIST, ENODEV...), as in Node's system errors.
 */
export class KernelError extends OvnMultinetError {
  static override readonly code: string = 'ERR_KERNEL';
  override readonly name: string = 'KernelError';
  /** Positive errno value. */
  readonly errno: number;
  /** What was asked, e.g. `RTM_NEWLINK veth1234` or `setns`. */
  readonly operation: string;

  constructor(errno: number, operation: string, options?: ErrorOptions) {
    const code = errnoName(errno);
    super(`${operation} failed: ${code}`, options);
    Object.defineProperty(this, 'code', { value: code, enumerable: true });
    this.errno = errno;
    this.operation = operation;
  }
}

/** True when `err` is a KernelError with one of the given errno names. */
export function isErrno(err: unknown, ...codes: string[]): err is KernelError {
  return err instanceof KernelError && codes.includes(err.code);
}

/** The netns path does not exist. DEL treats this as "already gone". */
export class NetnsNotFoundError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NETNS_NOT_FOUND';
  override readonly name: string = 'NetnsNotFoundError';
  readonly path: string;
  constructor(path: string, options?: ErrorOptions) {
    super(`network namespace ${path} does not exist`, options);
    this.path = path;
  }
}

/** The path exists but is not a network namespace (a regular file, another namespace type...). */
export class NotANetnsError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NOT_A_NETNS';
  override readonly name: string = 'NotANetnsError';
  readonly path: string;
  constructor(path: string, options?: ErrorOptions) {
    super(`${path} is not a network namespace`, options);
    this.path = path;
  }
}

/**
 * The path is the daemon's own network namespace, the node's (the daemon runs with the host's
 * network): no pod is ever attached there, and no pod's record may point the daemon at it.
 */
export class HostNetnsError extends OvnMultinetError {
  static override readonly code: string = 'ERR_HOST_NETNS';
  override readonly name: string = 'HostNetnsError';
  readonly path: string;
  constructor(path: string, options?: ErrorOptions) {
    super(`${path} is the daemon's own (host) network namespace`, options);
    this.path = path;
  }
}

/** A MAC address, IP address or CIDR string that cannot be encoded. */
export class InvalidAddressError extends OvnMultinetError {
  static override readonly code: string = 'ERR_INVALID_ADDRESS';
  override readonly name: string = 'InvalidAddressError';
  readonly value: string;
  constructor(value: string, reason: string) {
    super(`invalid address ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
  }
}

/** The native addon is missing, cannot be written out, or does not export what we expect. */
export class NativeAddonError extends OvnMultinetError {
  static override readonly code: string = 'ERR_NATIVE_ADDON';
  override readonly name: string = 'NativeAddonError';
  readonly path: string;
  constructor(path: string, options?: ErrorDetails) {
    super(`cannot load native addon ${path}`, options);
    this.path = path;
  }
}

// --- OVSDB (libovsdb ovsdb/error.go) -------------------------------------------------------------

/** Every error of the OVSDB client. */
export class OvsdbError extends OvnMultinetError {
  static override readonly code: string = 'OVSDB_ERROR';
  override readonly name: string = 'OvsdbError';

  constructor(message = 'OVSDB error', options?: ErrorDetails) {
    super(message, options);
  }
}

/** No session with a server: not connected yet, or the connection dropped while a request waited. */
export class OvsdbNotConnectedError extends OvsdbError {
  static override readonly code: string = 'OVSDB_NOT_CONNECTED';
  override readonly name: string = 'OvsdbNotConnectedError';
  constructor(message = 'not connected to the OVSDB server', options?: ErrorDetails) {
    super(message, options);
  }
}

/** The peer sent something that is not valid JSON-RPC or not valid OVSDB (malformed, oversized, wrong shape). */
export class OvsdbProtocolError extends OvsdbError {
  static override readonly code: string = 'OVSDB_PROTOCOL';
  override readonly name: string = 'OvsdbProtocolError';
}

/** The peer stayed silent past the echo probe's cap (12 echo intervals, echoes unanswered: ovsdb/jsonrpc.ts). */
export class OvsdbInactivityError extends OvsdbError {
  static override readonly code: string = 'OVSDB_INACTIVITY';
  override readonly name: string = 'OvsdbInactivityError';
}

/** A JSON-RPC request (other than a transact operation) was answered with an error. */
export class OvsdbRpcError extends OvsdbError {
  static override readonly code: string = 'OVSDB_RPC';
  override readonly name: string = 'OvsdbRpcError';
  readonly method: string;
  readonly error: string;

  constructor(method: string, error: string, details: string | undefined) {
    super(`${method}: ${error}${details === undefined ? '' : ` (${details})`}`, { details });
    this.method = method;
    this.error = error;
  }
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

type TransactionErrorKind = (typeof transactionErrorKinds)[keyof typeof transactionErrorKinds] | 'other';

function transactionErrorKind(error: string): TransactionErrorKind {
  return Object.hasOwn(transactionErrorKinds, error)
    ? transactionErrorKinds[error as keyof typeof transactionErrorKinds]
    : 'other';
}

/** An operation, or the commit of a transaction, failed (RFC 7047 section 4.1.3). */
export class OvsdbTransactionError extends OvsdbError {
  static override readonly code: string = 'OVSDB_TRANSACTION';
  override readonly name: string = 'OvsdbTransactionError';
  readonly kind: TransactionErrorKind;
  /** Index of the failing operation; `undefined` when the commit itself failed. */
  readonly opIndex: number | undefined;
  readonly error: string;

  constructor(opIndex: number | undefined, op: string | undefined, error: string, details: string | undefined) {
    const where = opIndex === undefined ? 'commit' : `operation ${opIndex} (${op ?? '?'})`;
    super(`${where} failed: ${error}${details === undefined ? '' : `: ${details}`}`, { details });
    this.kind = transactionErrorKind(error);
    this.opIndex = opIndex;
    this.error = error;
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
  override readonly name: string = 'OvsdbSchemaError';
}

/** The client options are invalid, e.g. a remote with an unknown scheme, or one index name given two key functions. */
export class OvsdbConfigError extends OvsdbError {
  static override readonly code: string = 'OVSDB_CONFIG';
  override readonly name: string = 'OvsdbConfigError';
}

/** The server is a member of a cluster but not its leader, or a relay cut off from its source (only with `leaderOnly`). */
export class OvsdbNotLeaderError extends OvsdbError {
  static override readonly code: string = 'OVSDB_NOT_LEADER';
  override readonly name: string = 'OvsdbNotLeaderError';
}
