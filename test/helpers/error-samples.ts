// One instance of every class of the error catalogue (daemon/errors.ts), with the name, code and
// message it must have: the table of test/unit/errors.test.ts, and the samples that
// test/unit/cni-errors.test.ts maps.
import * as catalogue from '../../daemon/errors.ts';
import { OvnMultinetError } from '../../daemon/errors.ts';

export type AnyErrorClass = (abstract new (...args: never[]) => OvnMultinetError) & { readonly code: string };

/** Every class the catalogue exports. */
export const errorClasses: AnyErrorClass[] = (Object.values(catalogue) as unknown[]).filter((v): v is AnyErrorClass =>
  typeof v === 'function' && (v === OvnMultinetError || Object.prototype.isPrototypeOf.call(OvnMultinetError.prototype, v.prototype)));

/** [an instance, its name, its code, its message]: each class once, built with defaults where it has them. */
export const errorSamples: Array<[OvnMultinetError, string, string, string]> = [
  [new catalogue.OvnMultinetError(), 'OvnMultinetError', 'ERR_OVN_MULTINET', 'ovn-multinet error'],
  [new catalogue.UnreachableError(), 'UnreachableError', 'ERR_UNREACHABLE', 'unreachable code reached'],
  [new catalogue.IncompatibleVersionError(), 'IncompatibleVersionError', 'ERR_INCOMPATIBLE_VERSION', 'incompatible CNI version'],
  [new catalogue.UnsupportedFieldError(), 'UnsupportedFieldError', 'ERR_UNSUPPORTED_FIELD', 'unsupported field'],
  [new catalogue.UnknownContainerError(), 'UnknownContainerError', 'ERR_UNKNOWN_CONTAINER', 'unknown container'],
  [new catalogue.InvalidEnvironmentError(), 'InvalidEnvironmentError', 'ERR_INVALID_ENVIRONMENT', 'invalid environment'],
  [new catalogue.RequestTimeoutError(), 'RequestTimeoutError', 'ERR_REQUEST_TIMEOUT', 'request not received in time'],
  [new catalogue.DecodeFailureError(), 'DecodeFailureError', 'ERR_DECODE_FAILURE', 'cannot decode'],
  [new catalogue.InvalidConfigError(), 'InvalidConfigError', 'ERR_INVALID_CONFIG', 'invalid network configuration'],
  [new catalogue.CheckFailedError(), 'CheckFailedError', 'ERR_CHECK_FAILED', 'the attachment is not as ADD made it'],
  [new catalogue.NotAvailableError(), 'NotAvailableError', 'ERR_NOT_AVAILABLE', 'not available'],
  [new catalogue.DatabaseUnreachableError(), 'DatabaseUnreachableError', 'ERR_DATABASE_UNREACHABLE', 'database is not reachable'],
  [new catalogue.ApiServerUnreachableError(), 'ApiServerUnreachableError', 'ERR_API_SERVER_UNREACHABLE', 'the Kubernetes API server is not reachable'],
  [new catalogue.BridgeMissingError(), 'BridgeMissingError', 'ERR_BRIDGE_MISSING', 'the OVS bridge does not exist'],
  [new catalogue.AttachmentConflictError(), 'AttachmentConflictError', 'ERR_ATTACHMENT_CONFLICT', 'the attachment conflicts with an existing one'],
  [new catalogue.PortWithoutMacError(), 'PortWithoutMacError', 'ERR_PORT_WITHOUT_MAC', 'logical switch port has no MAC address'],
  [new catalogue.ClientGoneError(), 'ClientGoneError', 'ERR_CLIENT_GONE', 'the client disconnected before the answer'],
  [new catalogue.SocketSetupError(), 'SocketSetupError', 'ERR_SOCKET_SETUP', 'cannot set up the socket'],
  [new catalogue.TooManyConnectionsError(), 'TooManyConnectionsError', 'ERR_TOO_MANY_CONNECTIONS', 'the daemon has too many connections open'],
  [new catalogue.DeadlineExceededError(), 'DeadlineExceededError', 'ERR_DEADLINE_EXCEEDED', 'deadline exceeded'],
  [new catalogue.FlagError(), 'FlagError', 'ERR_FLAG', 'invalid flag'],
  [new catalogue.GcFailedError(), 'GcFailedError', 'ERR_GC_FAILED', 'gc failed'],
  [new catalogue.PoolExhaustedError(), 'PoolExhaustedError', 'ERR_POOL_EXHAUSTED', 'no free address'],
  [new catalogue.SwitchGoneError(), 'SwitchGoneError', 'ERR_SWITCH_GONE', 'the logical switch is gone'],
  [new catalogue.AddressInUseError('ip', '10.0.0.5', 'pod a/b'), 'AddressInUseError', 'ERR_ADDRESS_IN_USE', '10.0.0.5 is already used by pod a/b'],
  [new catalogue.AddressNotAllowedError('ip', '10.0.0.1', "the network's gateway 10.0.0.1"), 'AddressNotAllowedError', 'ERR_ADDRESS_NOT_ALLOWED', "10.0.0.1 may not be requested: the network's gateway 10.0.0.1"],
  [new catalogue.ClaimMismatchError('mac', 'the claim holds 0a:58:00:00:00:01'), 'ClaimMismatchError', 'ERR_CLAIM_MISMATCH', 'the claim holds 0a:58:00:00:00:01'],
  [new catalogue.IpamConfigError(), 'IpamConfigError', 'ERR_IPAM_CONFIG', 'invalid IPAM settings on the logical switch'],
  [new catalogue.MigrationInFlightError(), 'MigrationInFlightError', 'ERR_MIGRATION_IN_FLIGHT', 'a live migration of the claim is in flight'],
  [new catalogue.SameChassisError(), 'SameChassisError', 'ERR_SAME_CHASSIS', 'a live migration within one chassis'],
  [new catalogue.ChassisUnknownError(), 'ChassisUnknownError', 'ERR_CHASSIS_UNKNOWN', 'the chassis of this node is not known'],
  [new catalogue.AmbiguousSwitchError(), 'AmbiguousSwitchError', 'ERR_AMBIGUOUS_SWITCH', 'more than one logical switch has the name'],
  [new catalogue.NetworkDefinitionError('subnets', 'overlap'), 'NetworkDefinitionError', 'ERR_NETWORK_DEFINITION', 'overlap'],
  [new catalogue.BindingMovedError(), 'BindingMovedError', 'ERR_BINDING_MOVED', 'the binding moved to another port'],
  [new catalogue.KubeConfigError(), 'KubeConfigError', 'ERR_KUBECONFIG', 'invalid kubeconfig'],
  [new catalogue.PodNotFoundError(), 'PodNotFoundError', 'ERR_POD_NOT_FOUND', 'pod not found'],
  [new catalogue.PodUidMismatchError('pod a/b has another UID', 'u2'), 'PodUidMismatchError', 'ERR_POD_UID_MISMATCH', 'pod a/b has another UID'],
  [new catalogue.PodLookupError(), 'PodLookupError', 'ERR_POD_LOOKUP', 'cannot read the pod'],
  [new catalogue.NetworkSelectionError('[0].ips', 'must be a list'), 'NetworkSelectionError', 'ERR_NETWORK_SELECTION', '[0].ips: must be a list'],
  [new catalogue.NamespaceNotFoundError(), 'NamespaceNotFoundError', 'ERR_NAMESPACE_NOT_FOUND', 'namespace not found'],
  [new catalogue.NetworkLookupError(), 'NetworkLookupError', 'ERR_NETWORK_LOOKUP', 'cannot read Networks'],
  [new catalogue.LabelSelectorError(), 'LabelSelectorError', 'ERR_LABEL_SELECTOR', 'invalid label selector'],
  [new catalogue.ClaimLookupError(), 'ClaimLookupError', 'ERR_CLAIM_LOOKUP', 'cannot read the IPAMClaim'],
  [new catalogue.NetworkAccessDeniedError(), 'NetworkAccessDeniedError', 'ERR_NETWORK_ACCESS_DENIED', 'no Network admits this'],
  [new catalogue.MalformedListError(), 'MalformedListError', 'ERR_MALFORMED_LIST', 'the API server sent a malformed list'],
  [new catalogue.NetworkSpecError('spec.config', 'must be an object'), 'NetworkSpecError', 'ERR_NETWORK_SPEC', 'spec.config: must be an object'],
  [new catalogue.PolicySpecError(), 'PolicySpecError', 'ERR_POLICY_SPEC', 'invalid MultiNetworkPolicy'],
  [new catalogue.ElectionConfigError(), 'ElectionConfigError', 'ERR_ELECTION_CONFIG', 'invalid leader election settings'],
  [new catalogue.ExposeMarkError(), 'ExposeMarkError', 'ERR_EXPOSE_MARK', 'invalid expose mark'],
  [new catalogue.KernelError(17, 'RTM_NEWLINK veth1'), 'KernelError', 'EEXIST', 'RTM_NEWLINK veth1 failed: EEXIST'],
  [new catalogue.NetnsNotFoundError('/run/netns/x'), 'NetnsNotFoundError', 'ERR_NETNS_NOT_FOUND', 'network namespace /run/netns/x does not exist'],
  [new catalogue.NotANetnsError('/etc/hostname'), 'NotANetnsError', 'ERR_NOT_A_NETNS', '/etc/hostname is not a network namespace'],
  [new catalogue.HostNetnsError('/proc/1/ns/net'), 'HostNetnsError', 'ERR_HOST_NETNS', "/proc/1/ns/net is the daemon's own (host) network namespace"],
  [new catalogue.InvalidAddressError('x', 'bad'), 'InvalidAddressError', 'ERR_INVALID_ADDRESS', 'invalid address "x": bad'],
  [new catalogue.NativeAddonError('/a.node'), 'NativeAddonError', 'ERR_NATIVE_ADDON', 'cannot load native addon /a.node'],
  [new catalogue.OvsdbError(), 'OvsdbError', 'OVSDB_ERROR', 'OVSDB error'],
  [new catalogue.OvsdbNotConnectedError(), 'OvsdbNotConnectedError', 'OVSDB_NOT_CONNECTED', 'not connected to the OVSDB server'],
  [new catalogue.OvsdbProtocolError(), 'OvsdbProtocolError', 'OVSDB_PROTOCOL', 'OVSDB error'],
  [new catalogue.OvsdbInactivityError(), 'OvsdbInactivityError', 'OVSDB_INACTIVITY', 'OVSDB error'],
  [new catalogue.OvsdbRpcError('get_schema', 'unknown database', undefined), 'OvsdbRpcError', 'OVSDB_RPC', 'get_schema: unknown database'],
  [new catalogue.OvsdbTransactionError(undefined, undefined, 'aborted', undefined), 'OvsdbTransactionError', 'OVSDB_TRANSACTION', 'commit failed: aborted'],
  [new catalogue.OvsdbSchemaError(), 'OvsdbSchemaError', 'OVSDB_SCHEMA', 'OVSDB error'],
  [new catalogue.OvsdbConfigError(), 'OvsdbConfigError', 'OVSDB_CONFIG', 'OVSDB error'],
  [new catalogue.OvsdbNotLeaderError(), 'OvsdbNotLeaderError', 'OVSDB_NOT_LEADER', 'OVSDB error'],
];
