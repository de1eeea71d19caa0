// A decoded config validated into a NetConf (attach mode): defaults, each setting, and the field
// each refusal names. IPAM mode: ipam-mode.test.ts; DHCP: dhcp-options.test.ts.
import t, { type Test } from 'tap';
import { DEFAULT_SOCKET, requireValidAttachments } from '../../daemon/netconf/fields.ts';
import { parseConfig } from '../../daemon/netconf/parse.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { expectCniError } from '../helpers/cni-error.ts';

const good = { cniVersion: '1.1.0', name: 'red', type: 'ovn-multinet' };

function expectConfigError(tt: Test, raw: Record<string, unknown>, code: number, field: string): void {
  expectCniError(tt, () => parseConfig(raw), code, field);
}

t.test('defaults', (tt) => {
  const conf = parseConfig(good);
  tt.equal(conf.logicalSwitch, 'red', 'logicalSwitch defaults to name');
  tt.equal(conf.socket, DEFAULT_SOCKET);
  tt.equal(conf.mtu, undefined);
  tt.equal(conf.portSecurity, true);
  tt.equal(conf.allowPersistentIPs, false, 'no persistent IPs unless asked');
  tt.equal(parseConfig({ ...good, allowPersistentIPs: true }).allowPersistentIPs, true);
  tt.end();
});

t.test('all keys', (tt) => {
  const conf = parseConfig({ ...good, logicalSwitch: 'ls-red', socket: '/run/ovn-multinet/x.sock', mtu: 1400, portSecurity: false });
  tt.match(conf, { logicalSwitch: 'ls-red', socket: '/run/ovn-multinet/x.sock', mtu: 1400, portSecurity: false });
  tt.end();
});

t.test('cniVersions picks the highest supported', (tt) => {
  tt.equal(parseConfig({ ...good, cniVersion: undefined, cniVersions: ['0.4.0', '1.0.0', '9.9.9'] }).cniVersion, '1.0.0');
  tt.equal(parseConfig({ ...good, cniVersion: '0.3.1' }).cniVersion, '0.3.1');
  tt.end();
});

t.test('bad configs name the field', (tt) => {
  expectConfigError(tt, { ...good, cniVersion: '0.2.0' }, ErrorCode.IncompatibleVersion, 'cniVersion');
  expectConfigError(tt, { ...good, cniVersion: 7 }, ErrorCode.IncompatibleVersion, 'cniVersion');
  expectConfigError(tt, { ...good, cniVersion: undefined }, ErrorCode.InvalidConfig, 'cniVersion');
  expectConfigError(tt, { ...good, cniVersion: undefined, cniVersions: ['2.0.0'] }, ErrorCode.IncompatibleVersion, 'cniVersions');
  expectConfigError(tt, { ...good, cniVersions: 'x' }, ErrorCode.InvalidConfig, 'cniVersions');
  expectConfigError(tt, { ...good, name: undefined }, ErrorCode.InvalidConfig, 'name');
  expectConfigError(tt, { ...good, name: 42 }, ErrorCode.InvalidConfig, 'name');
  expectConfigError(tt, { ...good, name: 'bad name' }, ErrorCode.InvalidConfig, 'name');
  expectConfigError(tt, { ...good, type: undefined }, ErrorCode.InvalidConfig, 'type');
  expectConfigError(tt, { ...good, logicalSwitch: 3 }, ErrorCode.InvalidConfig, 'logicalSwitch');
  expectConfigError(tt, { ...good, logicalSwitch: '' }, ErrorCode.InvalidConfig, 'logicalSwitch');
  expectConfigError(tt, { ...good, socket: 'relative.sock' }, ErrorCode.InvalidConfig, 'socket');
  expectConfigError(tt, { ...good, socket: '/tmp/x.sock' }, ErrorCode.InvalidConfig, 'socket');
  expectConfigError(tt, { ...good, socket: '/run/ovn-multinet/../x.sock' }, ErrorCode.InvalidConfig, 'socket');
  expectConfigError(tt, { ...good, socket: `/${'s'.repeat(200)}` }, ErrorCode.InvalidConfig, 'socket');
  expectConfigError(tt, { ...good, allowPersistentIPs: 'yes' }, ErrorCode.InvalidConfig, 'allowPersistentIPs');
  expectConfigError(tt, { ...good, mtu: '1400' }, ErrorCode.InvalidConfig, 'mtu');
  expectConfigError(tt, { ...good, mtu: 10 }, ErrorCode.InvalidConfig, 'mtu');
  expectConfigError(tt, { ...good, mtu: 1e9 }, ErrorCode.InvalidConfig, 'mtu');
  expectConfigError(tt, { ...good, mtu: 1400.5 }, ErrorCode.InvalidConfig, 'mtu');
  expectConfigError(tt, { ...good, portSecurity: 'yes' }, ErrorCode.InvalidConfig, 'portSecurity');
  expectConfigError(tt, { ...good, prevResult: 'x' }, ErrorCode.InvalidConfig, 'prevResult');
  expectConfigError(tt, { ...good, 'cni.dev/valid-attachments': [{ containerID: 1 }] }, ErrorCode.InvalidConfig, 'cni.dev/valid-attachments[0]');
  expectConfigError(tt, { ...good, ipam: { type: 'host-local' } }, ErrorCode.UnsupportedField, 'ipam');
  tt.end();
});

t.test('valid attachments for GC', (tt) => {
  const conf = parseConfig({ ...good, 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'net1' }] });
  tt.same(conf.validAttachments, [{ containerId: 'c1', ifName: 'net1' }]);
  tt.same(requireValidAttachments(conf.validAttachments), [{ containerId: 'c1', ifName: 'net1' }]);
  tt.same(requireValidAttachments(parseConfig({ ...good, 'cni.dev/valid-attachments': [] }).validAttachments), [], 'an empty list: none is valid');
  // Without the key a GC would remove every attachment of the network, live ones included.
  tt.equal(parseConfig(good).validAttachments, undefined);
  expectCniError(tt, () => requireValidAttachments(parseConfig(good).validAttachments), ErrorCode.InvalidConfig, 'cni.dev/valid-attachments');
  tt.end();
});

t.test('runtimeConfig ips and mac (CNI capabilities)', (tt) => {
  const conf = parseConfig({ ...good, runtimeConfig: { ips: ['10.1.0.50/24', 'fd00::50'], mac: '0A:58:0A:01:00:32' } });
  tt.same(conf.staticIps, [
    { address: '10.1.0.50', prefixLength: 24 },
    { address: 'fd00::50', prefixLength: undefined },
  ]);
  tt.equal(conf.staticMac, '0a:58:0a:01:00:32');
  tt.equal(parseConfig(good).staticIps, undefined);
  expectConfigError(tt, { ...good, runtimeConfig: 'x' }, ErrorCode.InvalidConfig, 'runtimeConfig');
  expectConfigError(tt, { ...good, runtimeConfig: { ips: '10.1.0.5' } }, ErrorCode.InvalidConfig, 'runtimeConfig.ips');
  expectConfigError(tt, { ...good, runtimeConfig: { ips: [] } }, ErrorCode.InvalidConfig, 'runtimeConfig.ips');
  expectConfigError(tt, { ...good, runtimeConfig: { ips: ['10.1.0.500'] } }, ErrorCode.InvalidConfig, 'runtimeConfig.ips[0]');
  expectConfigError(tt, { ...good, runtimeConfig: { ips: ['10.1.0.5/33'] } }, ErrorCode.InvalidConfig, 'runtimeConfig.ips[0]');
  expectConfigError(tt, { ...good, runtimeConfig: { ips: ['10.1.0.5', '10.1.0.5/24'] } }, ErrorCode.InvalidConfig, 'runtimeConfig.ips[1]');
  expectConfigError(tt, { ...good, runtimeConfig: { mac: '01:00:5e:00:00:01' } }, ErrorCode.InvalidConfig, 'runtimeConfig.mac');
  expectConfigError(tt, { ...good, runtimeConfig: { mac: 'zz' } }, ErrorCode.InvalidConfig, 'runtimeConfig.mac');
  tt.end();
});

t.test('managed network definitions', (tt) => {
  const l2 = parseConfig({ ...good, topology: 'layer2', subnets: '10.1.0.0/24, fd00::/64', excludeSubnets: ['10.1.0.0/28'] });
  tt.same(l2.managed, { topology: 'layer2', subnets: ['10.1.0.0/24', 'fd00::/64'], excludeSubnets: ['10.1.0.0/28'], physicalNetworkName: undefined, vlanId: undefined, gateways: [] });
  tt.same(parseConfig({ ...good, topology: 'layer2', subnets: ['10.1.0.0/24'], gateway: '10.1.0.1' }).managed?.gateways, ['10.1.0.1']);
  expectConfigError(tt, { ...good, topology: 'layer2', gateway: ['10.1.0.1', '10.1.0.2'] }, ErrorCode.InvalidConfig, 'gateway');
  expectConfigError(tt, { ...good, gateway: '10.1.0.1' }, ErrorCode.InvalidConfig, 'gateway');
  const ln = parseConfig({ ...good, topology: 'localnet', physicalNetworkName: 'physnet1', vlanID: 100 });
  tt.match(ln.managed, { topology: 'localnet', physicalNetworkName: 'physnet1', vlanId: 100 });
  tt.equal(parseConfig(good).managed, undefined, 'no topology: attach to an existing switch');
  expectConfigError(tt, { ...good, topology: 'layer4' }, ErrorCode.InvalidConfig, 'topology');
  expectConfigError(tt, { ...good, subnets: ['10.1.0.0/24'] }, ErrorCode.InvalidConfig, 'subnets');
  expectConfigError(tt, { ...good, topology: 'layer2', subnets: ['10.1.0.0/24', '10.2.0.0/24'] }, ErrorCode.InvalidConfig, 'subnets');
  expectConfigError(tt, { ...good, topology: 'layer2', subnets: ['10.1.0.0'] }, ErrorCode.InvalidConfig, 'subnets[0]');
  expectConfigError(tt, { ...good, topology: 'layer2', subnets: 5 }, ErrorCode.InvalidConfig, 'subnets');
  expectConfigError(tt, { ...good, topology: 'layer2', excludeSubnets: ['10.1.0.0/28'] }, ErrorCode.InvalidConfig, 'excludeSubnets');
  expectConfigError(tt, { ...good, topology: 'localnet' }, ErrorCode.InvalidConfig, 'physicalNetworkName');
  expectConfigError(tt, { ...good, topology: 'localnet', physicalNetworkName: 'p', vlanID: 4095 }, ErrorCode.InvalidConfig, 'vlanID');
  expectConfigError(tt, { ...good, topology: 'layer2', vlanID: 10 }, ErrorCode.InvalidConfig, 'vlanID');
  tt.end();
});

t.test('routes', (tt) => {
  tt.same(parseConfig({ ...good, routes: [{ dst: '192.168.0.0/16', gw: '10.1.0.1' }, { dst: 'fd00:1::/64' }] }).routes, [
    { dst: '192.168.0.0/16', gw: '10.1.0.1' },
    { dst: 'fd00:1::/64' },
  ]);
  tt.same(parseConfig(good).routes, []);
  expectConfigError(tt, { ...good, routes: {} }, ErrorCode.InvalidConfig, 'routes');
  expectConfigError(tt, { ...good, routes: [{ dst: '10.0.0.0' }] }, ErrorCode.InvalidConfig, 'routes[0].dst');
  expectConfigError(tt, { ...good, routes: [{ dst: '10.0.0.0/8', gw: 'fd00::1' }] }, ErrorCode.InvalidConfig, 'routes[0].gw');
  tt.end();
});

t.test('args.cni.routes: the pod\'s routes (a network-selection element\'s cni-args, as Multus passes them)', (tt) => {
  tt.equal(parseConfig(good).argsRoutes, undefined, 'none');
  tt.equal(parseConfig({ ...good, args: { cni: { ips: ['10.1.0.5'] } } }).argsRoutes, undefined, 'other keys are not ours');
  tt.equal(parseConfig({ ...good, args: 'x' }).argsRoutes, undefined, 'args of another shape: not ours either');
  tt.same(parseConfig({ ...good, args: { cni: { routes: [{ dst: '10.9.0.0/16', gw: '10.1.0.1' }, { dst: 'fd00:9:0::/48' }] } } }).argsRoutes, [
    { dst: '10.9.0.0/16', gw: '10.1.0.1' },
    { dst: 'fd00:9::/48' },
  ], 'destinations canonical');
  tt.same(parseConfig({ ...good, args: { cni: { routes: [] } } }).argsRoutes, []);
  expectConfigError(tt, { ...good, args: { cni: { routes: 'x' } } }, ErrorCode.InvalidConfig, 'args.cni.routes');
  expectConfigError(tt, { ...good, args: { cni: { routes: [{ dst: '10.9.0.1/16' }] } } }, ErrorCode.InvalidConfig, 'args.cni.routes[0].dst');
  expectConfigError(tt, { ...good, args: { cni: { routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] } } }, ErrorCode.InvalidConfig, 'args.cni.routes[0].dst');
  expectConfigError(tt, { ...good, args: { cni: { routes: [{ dst: '10.9.0.0/16' }, { dst: '10.9.0.0/16' }] } } }, ErrorCode.InvalidConfig, 'args.cni.routes[1].dst');
  expectConfigError(tt, { ...good, args: { cni: { routes: [{ dst: '10.9.0.0/16', gw: 'fd00::1' }] } } }, ErrorCode.InvalidConfig, 'args.cni.routes[0].gw');
  tt.end();
});

t.test('CNI_ARGS IP= and MAC=: checked as runtimeConfig is, InvalidEnvironmentError (code 4) naming the key', async (t) => {
  const { cniArgsAddresses } = await import('../../daemon/netconf/static.ts');
  t.same(cniArgsAddresses({ IgnoreUnknown: '1' }), { ips: undefined, mac: undefined }, 'none asked');
  t.same(cniArgsAddresses({ IP: '', MAC: '' }), { ips: undefined, mac: undefined }, 'empty values ask nothing');
  t.same(cniArgsAddresses({ IP: '10.0.0.5/24,fd00::5', MAC: '0A:58:0A:00:00:05' }), {
    ips: [{ address: '10.0.0.5', prefixLength: 24 }, { address: 'fd00::5', prefixLength: undefined }],
    mac: '0a:58:0a:00:00:05',
  }, 'dual-stack, prefix lengths kept, the MAC lower case');
  t.throws(() => cniArgsAddresses({ IP: '10.0.0.5,10.0.0.5' }), { name: 'InvalidEnvironmentError', message: 'CNI_ARGS IP[1]: is given twice', field: 'CNI_ARGS' });
  t.throws(() => cniArgsAddresses({ IP: 'x' }), { name: 'InvalidEnvironmentError', message: /^CNI_ARGS IP\[0\]: must be an IP address/ });
  t.throws(() => cniArgsAddresses({ MAC: '00:00:00:00:00:00' }), { name: 'InvalidEnvironmentError', message: /^CNI_ARGS MAC: must be a unicast address/ });
  t.throws(() => cniArgsAddresses({ IP: Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}`).join(',') }), { name: 'InvalidEnvironmentError', message: /^CNI_ARGS IP: must be a list of 1 to 16 addresses/ });
});
