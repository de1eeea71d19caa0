// The one mapping of the daemon's errors to CNI errors (daemon/server/cni-errors.ts): every class
// of the catalogue has its row, and each row gives the code, msg and details the runtime sees.
import t from 'tap';
import * as catalogue from '../../daemon/errors.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { CNI_ERRORS, UNEXPECTED, isAnswer, toCniError } from '../../daemon/server/cni-errors.ts';
import { errorClasses as classes, errorSamples as samples } from '../helpers/error-samples.ts';


const { IncompatibleVersion, UnsupportedField, UnknownContainer, InvalidEnvironment, IoFailure, DecodeFailure, InvalidConfig, TryAgainLater, NotAvailable, AttachFailed, CheckFailed, AddressPoolExhausted, AddressInUse, NotPermitted } = ErrorCode;

/** The CNI code of each class, by name: what an error of that class makes a request answer. */
const expected: Record<string, number> = {
  OvnMultinetError: AttachFailed,
  UnreachableError: UNEXPECTED,
  IncompatibleVersionError: IncompatibleVersion,
  UnsupportedFieldError: UnsupportedField,
  UnknownContainerError: UnknownContainer,
  InvalidEnvironmentError: InvalidEnvironment,
  RequestTimeoutError: IoFailure,
  DecodeFailureError: DecodeFailure,
  InvalidConfigError: InvalidConfig,
  CheckFailedError: CheckFailed,
  NotAvailableError: NotAvailable,
  DatabaseUnreachableError: TryAgainLater,
  ApiServerUnreachableError: TryAgainLater,
  BridgeMissingError: TryAgainLater,
  AttachmentConflictError: AttachFailed,
  PortWithoutMacError: AttachFailed,
  ClientGoneError: AttachFailed,
  SocketSetupError: AttachFailed,
  TooManyConnectionsError: TryAgainLater,
  DeadlineExceededError: AttachFailed,
  FlagError: AttachFailed,
  GcFailedError: AttachFailed,
  OpsFailedError: AttachFailed,
  OpsNotFoundError: AttachFailed,
  PoolExhaustedError: AddressPoolExhausted,
  SwitchGoneError: AttachFailed,
  AddressInUseError: AddressInUse,
  AddressNotAllowedError: InvalidConfig,
  ClaimMismatchError: InvalidConfig,
  IpamConfigError: AttachFailed,
  MigrationInFlightError: TryAgainLater,
  SameChassisError: AttachFailed,
  ChassisUnknownError: TryAgainLater,
  AmbiguousSwitchError: AttachFailed,
  NetworkDefinitionError: AttachFailed,
  BindingMovedError: AttachFailed,
  KubeConfigError: AttachFailed,
  PodNotFoundError: AttachFailed,
  PodUidMismatchError: AttachFailed,
  PodLookupError: AttachFailed,
  NetworkSelectionError: AttachFailed,
  NamespaceNotFoundError: AttachFailed,
  NetworkLookupError: AttachFailed,
  LabelSelectorError: AttachFailed,
  ClaimLookupError: AttachFailed,
  NetworkAccessDeniedError: NotPermitted,
  MalformedListError: AttachFailed,
  NetworkSpecError: AttachFailed,
  PolicySpecError: AttachFailed,
  ElectionConfigError: AttachFailed,
  ExposeMarkError: AttachFailed,
  KernelError: AttachFailed,
  NetnsNotFoundError: UnknownContainer,
  NotANetnsError: InvalidEnvironment,
  HostNetnsError: InvalidEnvironment,
  InvalidAddressError: AttachFailed,
  NativeAddonError: AttachFailed,
  OvsdbError: AttachFailed,
  OvsdbNotConnectedError: TryAgainLater,
  OvsdbProtocolError: AttachFailed,
  OvsdbInactivityError: AttachFailed,
  OvsdbRpcError: AttachFailed,
  OvsdbTransactionError: AttachFailed,
  OvsdbSchemaError: AttachFailed,
  OvsdbConfigError: AttachFailed,
  OvsdbNotLeaderError: AttachFailed,
};


t.test('every class of the catalogue has its own row and its code', async (t) => {
  t.same(Object.keys(expected).sort(), classes.map((cls) => cls.name).sort(), 'the expectations name every class');
  for (const cls of classes) t.ok(CNI_ERRORS.has(cls.code), `${cls.name} has a row`);
  for (const [err, name] of samples) t.equal(toCniError(err, 'ADD on network red').code, expected[name], `${name} → ${expected[name]}`);
  t.equal(CNI_ERRORS.size, classes.length, 'no row for a class that is not in the catalogue');
});

t.test('the CNI codes the table gives are the SPEC codes and ours', async (t) => {
  const codes = new Set(Object.values(expected));
  for (const code of codes) t.ok((code >= 1 && code <= 99) || code >= 100, `${code}`);
  t.ok(codes.has(UNEXPECTED), '999 for a bug');
});

t.test('msg and details as the runtime sees them', async (t) => {
  const what = 'ADD on network red';
  const cases: Array<[unknown, { code: number; msg: string; details: string }]> = [
    [new catalogue.InvalidConfigError('mtu: must be an integer', { details: '99999999', field: 'mtu' }), { code: 7, msg: 'mtu: must be an integer', details: '99999999' }],
    [new catalogue.PoolExhaustedError('no free address in 10.0.0.0/30'), { code: 102, msg: 'no free address in 10.0.0.0/30', details: '' }],
    [new catalogue.AddressInUseError('ip', '10.0.0.5', 'pod a/b', { field: 'runtimeConfig.ips' }), { code: 103, msg: 'runtimeConfig.ips: 10.0.0.5 is already in use', details: 'used by pod a/b' }],
    [new catalogue.AddressNotAllowedError('ip', '10.0.0.1', 'the network\'s gateway', { field: 'runtimeConfig.ips[0]' }), { code: 7, msg: 'runtimeConfig.ips[0]: 10.0.0.1 may not be requested', details: 'the network\'s gateway' }],
    [new catalogue.ClaimMismatchError('mac', 'the claim holds another MAC', { field: 'runtimeConfig.mac' }), { code: 7, msg: 'runtimeConfig.mac: the claim holds another MAC', details: '' }],
    [new catalogue.MigrationInFlightError('two pods share the claim', { field: 'x ipam-claim-reference' }), { code: 11, msg: 'x ipam-claim-reference: two pods share the claim', details: 'a third pod of the claim waits until the migration ends (one of the two pods is deleted)' }],
    [new catalogue.SameChassisError('bound on node-a', { field: 'ipam-claim-reference' }), { code: 100, msg: 'ipam-claim-reference: a live migration within one node is not supported', details: 'bound on node-a' }],
    [new catalogue.ChassisUnknownError('no system-id'), { code: 11, msg: "this node's OVN chassis is not known yet", details: 'no external_ids:system-id in the local Open_vSwitch database (no system-id)' }],
    [new catalogue.NetnsNotFoundError('/var/run/netns/gone'), { code: 3, msg: 'CNI_NETNS: the network namespace does not exist', details: '/var/run/netns/gone' }],
    [new catalogue.NotANetnsError('/proc/1/ns/mnt'), { code: 4, msg: 'CNI_NETNS: not a network namespace', details: '/proc/1/ns/mnt' }],
    [new catalogue.HostNetnsError('/proc/7/ns/net'), { code: 4, msg: "CNI_NETNS: the daemon's own (host) network namespace", details: '/proc/7/ns/net' }],
    [new catalogue.OvsdbNotConnectedError(), { code: 11, msg: `${what}: database connection lost`, details: 'not connected to the OVSDB server' }],
    [new catalogue.KernelError(17, 'RTM_NEWLINK veth1'), { code: 100, msg: `${what} failed`, details: 'RTM_NEWLINK veth1 failed: EEXIST' }],
    [new catalogue.OvsdbTransactionError(0, 'insert', 'constraint violation', 'dup'), { code: 100, msg: `${what} failed`, details: 'operation 0 (insert) failed: constraint violation: dup' }],
    [new TypeError('x is undefined'), { code: 999, msg: `${what} failed`, details: 'x is undefined' }],
    ['a string', { code: 999, msg: `${what} failed`, details: 'a string' }],
    [new catalogue.UnreachableError('unknown action'), { code: 999, msg: `${what} failed`, details: 'unknown action' }],
  ];
  for (const [err, want] of cases) {
    const got = toCniError(err, what);
    t.same({ code: got.code, msg: got.message, details: got.details }, want, want.msg);
    t.equal(got.cause, err, 'the error is the cause');
  }
});

t.test('a cancelled request: failures become 11 with the reason; answers stay as they are', async (t) => {
  const request = new AbortController();
  request.abort(new catalogue.DeadlineExceededError('CNI request: not done within 2000 ms'));
  const failed = toCniError(new catalogue.KernelError(4, 'RTM_NEWLINK x'), 'ADD on network red', request.signal);
  t.same([failed.code, failed.message, failed.details], [11, 'ADD on network red: CNI request: not done within 2000 ms', '']);
  const bug = toCniError(new Error('boom'), 'ADD on network red', request.signal);
  t.equal(bug.code, 11, 'even an unexpected error, once the request is cancelled');
  const refused = toCniError(new catalogue.InvalidConfigError('mtu: bad'), 'ADD on network red', request.signal);
  t.equal(refused.code, 7);
  t.ok(isAnswer(refused.cause));
  t.notOk(isAnswer(new catalogue.KernelError(4, 'x')));
  t.notOk(isAnswer(new Error('x')));
});
