// IPAM mode: ovn-multinet run as another plugin's IPAM plugin (macvlan, ipvlan, bridge,
// host-device). How the config is told apart and read, the field names errors carry, and the
// shape of the result it prints (an IPAM result: no interfaces, no interface index).
import t from 'tap';
import { DEFAULT_SOCKET } from '../../daemon/netconf/fields.ts';
import { ipamSection } from '../../daemon/netconf/ipam-mode.ts';
import { fieldOf, parseConfig } from '../../daemon/netconf/parse.ts';
import { convertResult, type Result } from '../../daemon/cni-spec/result.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { SUPPORTED_VERSIONS } from '../../daemon/cni-spec/version.ts';
import { expectCniError } from '../helpers/cni-error.ts';

const macvlan = { cniVersion: '1.0.0', name: 'mv', type: 'macvlan', master: 'eth1', ipam: { type: 'ovn-multinet' } };
const withIpam = (ipam: Record<string, unknown>): Record<string, unknown> => ({ ...macvlan, ipam: { type: 'ovn-multinet', ...ipam } });

t.test('the mode is told by the top-level type and ipam.type', (t) => {
  t.ok(ipamSection(macvlan), 'another plugin naming us as its IPAM');
  t.equal(ipamSection({ ...macvlan, type: 'ovn-multinet' }), undefined, 'our own config with an ipam section is not IPAM mode');
  t.equal(ipamSection({ ...macvlan, ipam: { type: 'host-local' } }), undefined, 'another IPAM plugin');
  t.equal(ipamSection({ ...macvlan, ipam: 'ovn-multinet' }), undefined, 'ipam not an object');
  t.equal(parseConfig(macvlan).mode, 'ipam');
  t.equal(parseConfig({ cniVersion: '1.0.0', name: 'red', type: 'ovn-multinet' }).mode, 'attach');
  expectCniError(t, () => parseConfig({ ...macvlan, type: 'ovn-multinet' }), ErrorCode.UnsupportedField, 'ipam');
  t.end();
});

t.test('defaults and settings come from the ipam section', (t) => {
  const conf = parseConfig(macvlan);
  t.match(conf, { name: 'mv', type: 'macvlan', logicalSwitch: 'mv', socket: DEFAULT_SOCKET, portSecurity: false, staticMac: undefined, dhcp: undefined, routes: [], dns: {} });
  const full = parseConfig({
    ...withIpam({
      logicalSwitch: 'ls-mv',
      socket: '/run/ovn-multinet/om.sock',
      routes: [{ dst: '10.50.0.0/16', gw: '10.9.0.1' }],
      dns: { nameservers: ['10.9.0.53'], domain: 'example.org', search: ['example.org'], options: ['ndots:2'] },
    }),
    socket: '/top/level/is/macvlan.s',
    logicalSwitch: 'not-this-one',
    runtimeConfig: { ips: ['10.9.0.40/24'], mac: '0a:00:00:00:00:01' },
    prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'net1', mac: '0a:00:00:00:00:01', sandbox: '/var/run/netns/x' }], ips: [{ address: '10.9.0.40/24', interface: 0 }] },
  });
  t.match(full, {
    mode: 'ipam',
    logicalSwitch: 'ls-mv',
    socket: '/run/ovn-multinet/om.sock',
    routes: [{ dst: '10.50.0.0/16', gw: '10.9.0.1' }],
    dns: { nameservers: ['10.9.0.53'], domain: 'example.org', search: ['example.org'], options: ['ndots:2'] },
    staticIps: [{ address: '10.9.0.40', prefixLength: 24 }],
  });
  t.equal(full.staticMac, undefined, 'runtimeConfig.mac is the calling plugin\'s');
  t.equal(full.prevResult?.ips[0]?.address, '10.9.0.40/24');
  const managed = parseConfig(withIpam({ topology: 'layer2', subnets: ['10.60.0.0/24'], gateway: '10.60.0.1' }));
  t.match(managed.managed, { topology: 'layer2', subnets: ['10.60.0.0/24'], gateways: ['10.60.0.1'] });
  t.end();
});

t.test('errors name the field inside the ipam section', (t) => {
  const rows: Array<[string, Record<string, unknown>, number, string]> = [
    ['logicalSwitch', withIpam({ logicalSwitch: '' }), ErrorCode.InvalidConfig, 'ipam.logicalSwitch'],
    ['socket', withIpam({ socket: 'relative' }), ErrorCode.InvalidConfig, 'ipam.socket'],
    ['socket outside /run/ovn-multinet/', withIpam({ socket: '/tmp/om.sock' }), ErrorCode.InvalidConfig, 'ipam.socket'],
    ['subnets without topology', withIpam({ subnets: ['10.0.0.0/24'] }), ErrorCode.InvalidConfig, 'ipam.subnets'],
    ['bad subnet', withIpam({ topology: 'layer2', subnets: ['10.0.0.0/33'] }), ErrorCode.InvalidConfig, 'ipam.subnets[0]'],
    ['bad route', withIpam({ routes: [{ dst: 'x' }] }), ErrorCode.InvalidConfig, 'ipam.routes[0].dst'],
    ['dns not an object', withIpam({ dns: [] }), ErrorCode.InvalidConfig, 'ipam.dns'],
    ['bad nameserver', withIpam({ dns: { nameservers: ['ns1'] } }), ErrorCode.InvalidConfig, 'ipam.dns.nameservers[0]'],
    ['bad domain', withIpam({ dns: { domain: 'a b' } }), ErrorCode.InvalidConfig, 'ipam.dns.domain'],
    ['mtu is the plugin\'s', withIpam({ mtu: 1400 }), ErrorCode.InvalidConfig, 'ipam.mtu'],
    ['dhcp is the plugin\'s', withIpam({ dhcp: {} }), ErrorCode.InvalidConfig, 'ipam.dhcp'],
    ['portSecurity is the plugin\'s', withIpam({ portSecurity: false }), ErrorCode.InvalidConfig, 'ipam.portSecurity'],
    ['static ips at the top level', { ...macvlan, runtimeConfig: { ips: ['nope'] } }, ErrorCode.InvalidConfig, 'runtimeConfig.ips[0]'],
    ['name at the top level', { ...macvlan, name: 'bad name' }, ErrorCode.InvalidConfig, 'name'],
  ];
  for (const [name, raw, code, field] of rows) t.test(name, (t) => {
    expectCniError(t, () => parseConfig(raw), code, field);
    t.end();
  });
  t.equal(fieldOf({ mode: 'ipam' }, 'logicalSwitch'), 'ipam.logicalSwitch');
  t.equal(fieldOf({ mode: 'attach' }, 'logicalSwitch'), 'logicalSwitch');
  t.end();
});

t.test('an IPAM result prints no interfaces and no interface index, in every version', (t) => {
  const result: Result = {
    interfaces: [],
    ips: [{ address: '10.9.0.5/24', gateway: '10.9.0.1' }, { address: 'fd00:9::5/64' }],
    routes: [{ dst: '10.50.0.0/16', gw: '10.9.0.1' }],
    dns: { nameservers: ['10.9.0.53'] },
  };
  for (const version of SUPPORTED_VERSIONS) {
    const printed = convertResult(result, version);
    t.notOk('interfaces' in printed, `${version}: no interfaces key`);
    const ips = printed['ips'] as Array<Record<string, unknown>>;
    t.notOk(ips.some((ip) => 'interface' in ip), `${version}: no interface index`);
    t.same(ips.map((ip) => ip['address']), ['10.9.0.5/24', 'fd00:9::5/64']);
    t.same(printed['dns'], { nameservers: ['10.9.0.53'] });
    t.same(printed['routes'], [{ dst: '10.50.0.0/16', gw: '10.9.0.1' }]);
    if (version.startsWith('0.')) t.same(ips.map((ip) => ip['version']), ['4', '6'], `${version}: version per IP`);
  }
  t.end();
});

t.test('the example NetworkAttachmentDefinition is an IPAM-mode config', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const yaml = await readFile(new URL('../../manifests/nad-macvlan-ovn-ipam.yaml', import.meta.url), 'utf8');
  const json = yaml.slice(yaml.indexOf('config: |') + 'config: |'.length);
  const conf = parseConfig(JSON.parse(json) as Record<string, unknown>);
  t.match(conf, { mode: 'ipam', type: 'macvlan', logicalSwitch: 'storage', dns: { nameservers: ['10.30.0.53'] } });
});
