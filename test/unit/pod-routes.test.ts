// The routes a pod asks for on one network (attachments/pod-routes.ts): where the request comes
// from, its checks against the network, and the routes built for the kernel and the result.
import t from 'tap';
import { checkRouteRequest, missingRoutes, podRoutes, routeRequest, type RouteNetwork, type RouteRequest } from '../../daemon/attachments/pod-routes.ts';
import type { PodAddressRequest } from '../../daemon/k8s/requests.ts';
import { parseSubnet, subnetContains, type Subnet } from '../../daemon/lib/ip.ts';
import { InvalidConfigError } from '../../daemon/errors.ts';

const FIELD = 'pod ns/p: annotation k8s.v1.cni.cncf.io/networks (network ns/red)';
const element = (more: Partial<PodAddressRequest>): PodAddressRequest => ({ ips: undefined, mac: undefined, ipamClaim: undefined, defaultRoute: undefined, routes: undefined, field: FIELD, ...more });
const subnet = (cidr: string): Subnet => {
  const s = parseSubnet(cidr);
  if (s === undefined) throw new Error(cidr);
  return s;
};
const request = (more: Partial<RouteRequest>): RouteRequest => ({ defaultRoute: [], defaultRouteField: `${FIELD} default-route`, routes: [], routesField: `${FIELD} cni-args.routes`, ...more });
const GATEWAYS = ['10.1.0.1', 'fd00:1::1'];
const dualStack: RouteNetwork = {
  name: 'red',
  ifName: 'net1',
  subnets: [subnet('10.1.0.0/24'), subnet('fd00:1::/64')],
  gatewayOf: (s) => GATEWAYS.find((gw) => subnetContains(s, gw)),
};

t.test('where the request comes from', async (t) => {
  t.same(routeRequest({ argsRoutes: undefined }, undefined), request({ defaultRouteField: ' default-route', routesField: ' cni-args.routes' }), 'nothing asked');
  const pod = element({ defaultRoute: ['10.1.0.1'], routes: [{ dst: '10.9.0.0/16' }] });
  t.same(routeRequest({ argsRoutes: undefined }, pod), request({ defaultRoute: ['10.1.0.1'], routes: [{ dst: '10.9.0.0/16' }] }), 'the element');
  t.same(
    routeRequest({ argsRoutes: [{ dst: '10.8.0.0/16' }] }, pod),
    request({ defaultRoute: ['10.1.0.1'], routes: [{ dst: '10.8.0.0/16' }], routesField: 'args.cni.routes' }),
    'args.cni.routes on stdin over the element\'s cni-args.routes (Multus puts them there); default-route only from the element',
  );
  t.same(routeRequest({ argsRoutes: [] }, pod).routes, [], 'an empty args.cni.routes is an answer too');
});

t.test('checks against the network', async (t) => {
  t.doesNotThrow(() => checkRouteRequest(request({ defaultRoute: ['10.1.0.1', 'fd00:1:0::1'], routes: [{ dst: '10.9.0.0/16', gw: '10.1.0.254' }, { dst: '10.8.0.0/16' }] }), dualStack, [{ dst: '192.0.2.0/24' }]), 'the gateways (any spelling), gw inside');
  const refused = (name: string, req: RouteRequest, network: RouteNetwork, message: string, configRoutes = [{ dst: '192.0.2.0/24' }]): void => {
    t.throws(() => checkRouteRequest(req, network, configRoutes), InvalidConfigError, name);
    t.throws(() => checkRouteRequest(req, network, configRoutes), { message, code: 'ERR_INVALID_CONFIG' }, `${name}: the message`);
  };
  refused('not the gateway', request({ defaultRoute: ['10.1.0.5'] }), dualStack, `${FIELD} default-route[0]: "10.1.0.5" is not the IPv4 gateway of network "red" on net1`);
  refused('not the IPv6 gateway', request({ defaultRoute: ['10.1.0.1', 'fd00:1::5'] }), dualStack, `${FIELD} default-route[1]: "fd00:1::5" is not the IPv6 gateway of network "red" on net1`);
  const v4only: RouteNetwork = { ...dualStack, subnets: [subnet('10.1.0.0/24')] };
  refused('no subnet of the family', request({ defaultRoute: ['fd00:1::1'] }), v4only, `${FIELD} default-route[0]: network "red" on net1 has no IPv6 gateway`);
  refused('no gateway', request({ defaultRoute: ['10.1.0.1'] }), { ...dualStack, gatewayOf: () => undefined }, `${FIELD} default-route[0]: network "red" on net1 has no IPv4 gateway`);
  refused('gw outside', request({ routes: [{ dst: '10.9.0.0/16', gw: '10.2.0.1' }] }), dualStack, `${FIELD} cni-args.routes[0].gw: "10.2.0.1" is outside the subnets of network "red" on net1`);
  refused('no subnet at all', request({ routes: [{ dst: '10.9.0.0/16', gw: '10.2.0.1' }] }), { ...dualStack, subnets: [] }, `${FIELD} cni-args.routes[0].gw: "10.2.0.1" is outside the subnets of network "red" on net1`);
  refused('dst of the config', request({ routes: [{ dst: '192.0.2.0/24' }], routesField: 'args.cni.routes' }), dualStack, "args.cni.routes[0].dst: 192.0.2.0/24 is routed by the config's routes already");
  t.doesNotThrow(() => checkRouteRequest(request({ routes: [{ dst: '10.9.0.0/16' }] }), { ...dualStack, subnets: [] }, []), 'a direct route needs no subnet');
});

t.test('the routes built', async (t) => {
  const config = [{ dst: '192.0.2.0/24', gw: '10.1.0.1' }, { dst: '0.0.0.0/0', gw: '10.1.0.254' }, { dst: '::/0', gw: 'fd00:1::fe' }];
  const built = podRoutes(config, request({ defaultRoute: ['10.1.0.1'], routes: [{ dst: '10.9.0.0/16', gw: '10.1.0.254' }, { dst: 'fd00:9::/48' }] }));
  t.same(built.result, [
    { dst: '192.0.2.0/24', gw: '10.1.0.1' },
    { dst: '::/0', gw: 'fd00:1::fe' },
    { dst: '10.9.0.0/16', gw: '10.1.0.254' },
    { dst: 'fd00:9::/48' },
    { dst: '0.0.0.0/0', gw: '10.1.0.1' },
  ], 'the config\'s (but its IPv4 default route, which default-route decides), the pod\'s, then the default route');
  t.same(built.kernel, [
    { destination: '192.0.2.0/24', gateway: '10.1.0.1' },
    { destination: '::/0', gateway: 'fd00:1::fe' },
    { destination: '10.9.0.0/16', gateway: '10.1.0.254' },
    { destination: 'fd00:9::/48' },
    { destination: '0.0.0.0/0', gateway: '10.1.0.1', replace: true },
  ], 'only the default-route one replaces');
  t.same(podRoutes([], request({ defaultRoute: ['fd00:1::1'] })).result, [{ dst: '::/0', gw: 'fd00:1::1' }]);
  t.same(podRoutes(config, request({})).kernel.length, 3, 'without a request: the config\'s routes as they are');
});

t.test('missing routes, as CHECK reports them', async (t) => {
  const wanted = [{ destination: '10.9.0.0/16', gateway: '10.1.0.254' }, { destination: '::/0', gateway: 'fd00:1::1', replace: true }, { destination: '198.51.100.0/24' }];
  t.same(missingRoutes(wanted, [{ destination: '10.9.0.0/16', gateway: '10.1.0.254' }, { destination: '::/0', gateway: 'fd00:1:0::1' }, { destination: '198.51.100.0/24' }]), [], 'all there');
  t.same(missingRoutes(wanted, [{ destination: '10.9.0.0/16', gateway: '10.1.0.1' }, { destination: '198.51.100.0/24', gateway: '10.1.0.1' }]), ['10.9.0.0/16 via 10.1.0.254', '::/0 via fd00:1::1', '198.51.100.0/24'], 'another gateway is not it');
});
