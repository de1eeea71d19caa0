/**
 * The one table that turns the daemon's errors (daemon/errors.ts) into the CNI errors a runtime
 * sees: the code (SPEC.md "Error": 1-7, 11, 50, 51; ours from 100), `msg` and `details`
 * (cf. ovn-kubernetes cniserver.go: one place maps errors to CNI answers). Every class of the
 * catalogue has a row; test/unit/cni-errors.test.ts walks them.
 *
 * - A row with a code answers the request with that code; `msg` and `details` are the error's
 *   message and details unless the row renders them.
 * - 'failed': a step of the request failed (a kernel, database or API failure). That is code 100
 *   "<what> failed" with the error's message as details, or code 11 when the request's deadline
 *   passed or its client left first (the step failed because the request was cancelled).
 * - Anything else, an error outside the catalogue or UnreachableError, is a bug: code 999
 *   (UNEXPECTED, as in cni pkg/skel), "<what> failed" with the error's message as details.
 */
import { CniError, ErrorCode } from '../cni-spec/errors.ts';
import * as errors from '../errors.ts';
import { errorCodes, type OvnMultinetError } from '../errors.ts';

/** The code of an error that is not in the catalogue: a bug. */
export const UNEXPECTED = ErrorCode.Unknown;

interface Answer {
  code: number;
  msg?: (err: OvnMultinetError, what: string) => string;
  details?: (err: OvnMultinetError) => string;
}

type Row = Answer | 'failed' | 'unexpected';

/** `field: text`, or the text alone when the error names no field. */
const named = (err: OvnMultinetError, text: string): string => (err.field === undefined ? text : `${err.field}: ${text}`);

const rows: ReadonlyArray<readonly [{ readonly code: string }, Row]> = [
  [errors.OvnMultinetError, 'failed'],
  [errors.UnreachableError, 'unexpected'],
  // The request itself.
  [errors.IncompatibleVersionError, { code: ErrorCode.IncompatibleVersion }],
  [errors.UnsupportedFieldError, { code: ErrorCode.UnsupportedField }],
  [errors.UnknownContainerError, { code: ErrorCode.UnknownContainer }],
  [errors.InvalidEnvironmentError, { code: ErrorCode.InvalidEnvironment }],
  [errors.RequestTimeoutError, { code: ErrorCode.IoFailure }],
  [errors.DecodeFailureError, { code: ErrorCode.DecodeFailure }],
  [errors.InvalidConfigError, { code: ErrorCode.InvalidConfig }],
  [errors.CheckFailedError, { code: ErrorCode.CheckFailed }],
  [errors.NotAvailableError, { code: ErrorCode.NotAvailable }],
  [errors.DatabaseUnreachableError, { code: ErrorCode.TryAgainLater }],
  [errors.ApiServerUnreachableError, { code: ErrorCode.TryAgainLater }],
  [errors.BridgeMissingError, { code: ErrorCode.TryAgainLater }],
  [errors.AttachmentConflictError, { code: ErrorCode.AttachFailed }],
  [errors.PortWithoutMacError, { code: ErrorCode.AttachFailed }],
  // The socket, deadlines and flags: deadlines and a client gone reach a request as its abort reason.
  [errors.ClientGoneError, 'failed'],
  [errors.SocketSetupError, 'failed'],
  [errors.TooManyConnectionsError, { code: ErrorCode.TryAgainLater }],
  [errors.DeadlineExceededError, 'failed'],
  [errors.FlagError, 'failed'],
  [errors.GcFailedError, 'failed'],
  [errors.OpsFailedError, 'failed'],
  [errors.OpsNotFoundError, 'failed'],
  // IPAM: the allocation's outcomes; the request's field is named by attachments/network.ts.
  [errors.PoolExhaustedError, { code: ErrorCode.AddressPoolExhausted }],
  [errors.SwitchGoneError, 'failed'],
  [errors.AddressInUseError, {
    code: ErrorCode.AddressInUse,
    msg: (err) => named(err, `${(err as errors.AddressInUseError).address} is already in use`),
    details: (err) => `used by ${(err as errors.AddressInUseError).owner}`,
  }],
  [errors.AddressNotAllowedError, {
    code: ErrorCode.InvalidConfig,
    msg: (err) => named(err, `${(err as errors.AddressNotAllowedError).address} may not be requested`),
    details: (err) => (err as errors.AddressNotAllowedError).reason,
  }],
  [errors.ClaimMismatchError, { code: ErrorCode.InvalidConfig, msg: (err) => named(err, err.message) }],
  [errors.IpamConfigError, 'failed'],
  [errors.MigrationInFlightError, {
    code: ErrorCode.TryAgainLater,
    msg: (err) => named(err, err.message),
    details: () => 'a third pod of the claim waits until the migration ends (one of the two pods is deleted)',
  }],
  [errors.SameChassisError, { code: ErrorCode.AttachFailed, msg: (err) => named(err, 'a live migration within one node is not supported'), details: (err) => err.message }],
  [errors.ChassisUnknownError, {
    code: ErrorCode.TryAgainLater,
    msg: () => "this node's OVN chassis is not known yet",
    details: (err) => `no external_ids:system-id in the local Open_vSwitch database (${err.message})`,
  }],
  // OVN and OVS tables.
  [errors.AmbiguousSwitchError, 'failed'],
  [errors.NetworkDefinitionError, 'failed'],
  [errors.BindingMovedError, 'failed'],
  // Kubernetes: what a request needs is named by k8s/requests.ts, k8s/networks.ts and attachments/add.ts.
  [errors.KubeConfigError, 'failed'],
  [errors.PodNotFoundError, 'failed'],
  [errors.PodUidMismatchError, 'failed'],
  [errors.PodLookupError, 'failed'],
  [errors.NetworkSelectionError, 'failed'],
  [errors.NamespaceNotFoundError, 'failed'],
  [errors.NetworkLookupError, 'failed'],
  [errors.LabelSelectorError, 'failed'],
  [errors.ClaimLookupError, 'failed'],
  [errors.NetworkAccessDeniedError, { code: ErrorCode.NotPermitted }],
  // The controller.
  [errors.MalformedListError, 'failed'],
  [errors.NetworkSpecError, 'failed'],
  [errors.PolicySpecError, 'failed'],
  [errors.ElectionConfigError, 'failed'],
  [errors.ExposeMarkError, 'failed'],
  // netlink: CNI_NETNS is the only namespace a request opens.
  [errors.KernelError, 'failed'],
  [errors.NetnsNotFoundError, { code: ErrorCode.UnknownContainer, msg: () => 'CNI_NETNS: the network namespace does not exist', details: (err) => (err as errors.NetnsNotFoundError).path }],
  [errors.NotANetnsError, { code: ErrorCode.InvalidEnvironment, msg: () => 'CNI_NETNS: not a network namespace', details: (err) => (err as errors.NotANetnsError).path }],
  [errors.HostNetnsError, { code: ErrorCode.InvalidEnvironment, msg: () => "CNI_NETNS: the daemon's own (host) network namespace", details: (err) => (err as errors.HostNetnsError).path }],
  [errors.InvalidAddressError, 'failed'],
  [errors.NativeAddonError, 'failed'],
  // OVSDB: a lost connection is worth a retry.
  [errors.OvsdbError, 'failed'],
  [errors.OvsdbNotConnectedError, { code: ErrorCode.TryAgainLater, msg: (_err, what) => `${what}: database connection lost`, details: (err) => err.message }],
  [errors.OvsdbProtocolError, 'failed'],
  [errors.OvsdbInactivityError, 'failed'],
  [errors.OvsdbRpcError, 'failed'],
  [errors.OvsdbTransactionError, 'failed'],
  [errors.OvsdbSchemaError, 'failed'],
  [errors.OvsdbConfigError, 'failed'],
  [errors.OvsdbNotLeaderError, 'failed'],
];

/** The table, by catalogue code. */
export const CNI_ERRORS: ReadonlyMap<string, Row> = new Map(rows.map(([cls, row]) => [cls.code, row]));

/** The row of `err`: its class's, else its nearest ancestor's; undefined outside the catalogue. */
function rowOf(err: unknown): Row | undefined {
  for (const code of errorCodes(err)) {
    const row = CNI_ERRORS.get(code);
    if (row !== undefined) return row;
  }
  return undefined;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Whether `err` is an answer to the request (a refusal, an outcome), not a failure to log in full. */
export function isAnswer(err: unknown): boolean {
  const row = rowOf(err);
  return typeof row === 'object';
}

/**
 * The CNI error for what escaped a request. `what` names the request in messages ("ADD on
 * network red"); `signal` is the request's (aborted: its deadline passed or its client left).
 */
export function toCniError(err: unknown, what: string, signal?: AbortSignal): CniError {
  const row = rowOf(err);
  if (typeof row === 'object') {
    const e = err as OvnMultinetError;
    return new CniError(row.code, row.msg?.(e, what) ?? e.message, row.details?.(e) ?? e.details ?? '', { cause: err });
  }
  if (signal?.aborted === true) {
    const reason: unknown = signal.reason;
    return new CniError(ErrorCode.TryAgainLater, `${what}: ${reason instanceof Error ? reason.message : 'aborted'}`, '', { cause: err });
  }
  if (row === 'failed') return new CniError(ErrorCode.AttachFailed, `${what} failed`, messageOf(err), { cause: err });
  return new CniError(UNEXPECTED, `${what} failed`, messageOf(err), { cause: err });
}
