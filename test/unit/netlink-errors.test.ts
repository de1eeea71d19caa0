import t from 'tap';
import {
  InvalidAddressError,
  isErrno,
  KernelError,
  NativeAddonError,
  NetnsNotFoundError,
  NotANetnsError,
} from '../../daemon/errors.ts';

t.test('every error class has a stable code, a name, a message and a brand', (tt) => {
  const rows = [
    { err: new KernelError(17, 'RTM_NEWLINK veth1'), name: 'KernelError', code: 'EEXIST', message: 'RTM_NEWLINK veth1 failed: EEXIST' },
    { err: new KernelError(19, 'RTM_DELLINK x'), name: 'KernelError', code: 'ENODEV', message: 'RTM_DELLINK x failed: ENODEV' },
    { err: new NetnsNotFoundError('/run/netns/x'), name: 'NetnsNotFoundError', code: 'ERR_NETNS_NOT_FOUND', message: 'network namespace /run/netns/x does not exist' },
    { err: new NotANetnsError('/etc/hostname'), name: 'NotANetnsError', code: 'ERR_NOT_A_NETNS', message: '/etc/hostname is not a network namespace' },
    { err: new InvalidAddressError('x', 'bad'), name: 'InvalidAddressError', code: 'ERR_INVALID_ADDRESS', message: 'invalid address "x": bad' },
    { err: new NativeAddonError('/a.node'), name: 'NativeAddonError', code: 'ERR_NATIVE_ADDON', message: 'cannot load native addon /a.node' },
  ];
  const classes = [KernelError, NetnsNotFoundError, NotANetnsError, InvalidAddressError, NativeAddonError];
  for (const { err, name, code, message } of rows) {
    tt.equal(err.name, name);
    tt.equal(err.code, code, `${name} code`);
    tt.equal(err.message, message);
    tt.ok(err instanceof Error);
    tt.same(classes.filter((cls) => err instanceof cls).map((cls) => cls.name), [name], `${name} is only its own class`);
    tt.ok(Object.assign(new Error('copy'), { ...err }) instanceof err.constructor, `${name}: instanceof works through the Symbol.for brand`);
  }
  tt.end();
});

t.test('KernelError carries errno; isErrno matches names', (tt) => {
  const err = new KernelError(2, 'setns', { cause: new Error('inner') });
  tt.equal(err.errno, 2);
  tt.equal(err.code, 'ENOENT');
  tt.equal(err.operation, 'setns');
  tt.ok(err.cause instanceof Error);
  tt.equal(new KernelError(4095, 'x').code, 'E4095', 'unknown errno keeps its number');
  tt.same([95, 11, 35].map((errno) => new KernelError(errno, 'x').code), ['EOPNOTSUPP', 'EAGAIN', 'EDEADLK'], 'glibc names for aliased numbers');
  tt.ok(isErrno(err, 'ENODEV', 'ENOENT'));
  tt.notOk(isErrno(err, 'EEXIST'));
  tt.notOk(isErrno(Object.assign(new Error('x'), { code: 'ENOENT' }), 'ENOENT'), 'only KernelError');
  tt.end();
});
