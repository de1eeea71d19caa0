import t from 'tap';
import { FlagsNew, rt } from '../../daemon/netlink/codec.ts';
import { addressRequest } from '../../daemon/netlink/addr.ts';
import { InvalidAddressError } from '../../daemon/errors.ts';
import { AF_INET, AF_INET6 } from '../../daemon/lib/ip.ts';
import { linkUpRequest } from '../../daemon/netlink/link.ts';
import { routeRequest } from '../../daemon/netlink/route.ts';
import { createFlags } from '../../daemon/netlink/rtnl.ts';

t.test('addresses: IPv6 without DAD, IPv4 plain, both create-exclusive', (tt) => {
  const v6 = addressRequest(7, { address: 'fd00::5', prefixLength: 64 });
  tt.equal(v6.type, rt.MessageType.NEWADDR);
  tt.equal(v6.flags, createFlags);
  tt.match(v6.message, { kind: 'address', data: { family: AF_INET6, prefixlen: 64, index: 7, flags: { nodad: true } }, attrs: { flags: { nodad: true } } });
  const v4 = addressRequest(7, { address: '10.0.0.5', prefixLength: 24 });
  tt.match(v4.message, { kind: 'address', data: { family: AF_INET, prefixlen: 24, index: 7, flags: {} }, attrs: { local: Buffer.from([10, 0, 0, 5]) } });
  tt.equal(v4.operation, 'RTM_NEWADDR 10.0.0.5/24 dev 7');
  tt.throws(() => addressRequest(7, { address: '10.0.0.5', prefixLength: 40 }), InvalidAddressError);
  tt.end();
});

t.test('routes: gateway routes are universe scope, direct ones link scope; no dst for /0', (tt) => {
  const viaGateway = routeRequest(3, { destination: '0.0.0.0/0', gateway: '10.0.0.1' });
  tt.equal(viaGateway.type, rt.MessageType.NEWROUTE);
  tt.match(viaGateway.message, { kind: 'route', data: { family: AF_INET, dstLen: 0, table: 254, scope: rt.RouteScope.UNIVERSE, type: rt.RouteType.UNICAST }, attrs: { oif: 3, gateway: Buffer.from([10, 0, 0, 1]) } });
  tt.equal(viaGateway.message.kind === 'route' ? viaGateway.message.attrs.dst : 'not a route', undefined);
  const direct = routeRequest(3, { destination: 'fd00:10::/64' });
  tt.match(direct.message, { kind: 'route', data: { family: AF_INET6, dstLen: 64, scope: rt.RouteScope.LINK }, attrs: { oif: 3, dst: Buffer.from(`fd000010${'0'.repeat(24)}`, 'hex') } });
  tt.equal(direct.operation, 'RTM_NEWROUTE fd00:10::/64 dev 3');
  tt.throws(() => routeRequest(3, { destination: '0.0.0.0/0', gateway: 'fd00::1' }), InvalidAddressError, 'gateway of the other family');
  tt.throws(() => routeRequest(3, { destination: '10.0.0.1/24' }), InvalidAddressError, 'host bits set');
  tt.equal(viaGateway.flags, createFlags, 'create-exclusive by default');
  const replacing = routeRequest(3, { destination: '::/0', gateway: 'fd00::1', replace: true });
  tt.equal(replacing.flags, FlagsNew.CREATE | FlagsNew.REPLACE, 'a default-route replaces (NLM_F_REPLACE, no NLM_F_EXCL)');
  tt.equal(replacing.operation, 'RTM_NEWROUTE ::/0 via fd00::1 dev 3 (replace)');
  tt.end();
});

t.test('link up sets IFF_UP through the change mask', (tt) => {
  tt.match(linkUpRequest(9), { type: rt.MessageType.NEWLINK, flags: 0, message: { kind: 'link', data: { index: 9, flags: { up: true }, change: { up: true } } } });
  tt.end();
});
