import t from 'tap';
import { convertResult, type Result } from '../../daemon/cni-spec/result.ts';
import { SUPPORTED_VERSIONS, supportsCheck, supportsStatusAndGc } from '../../daemon/cni-spec/version.ts';

const result: Result = {
  interfaces: [{ name: 'net1', mac: '0a:58:0a:01:00:02', mtu: 1400, sandbox: '/var/run/netns/p' }],
  ips: [
    { address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 0 },
    { address: 'fd00::2/64', interface: 0 },
  ],
  routes: [],
  dns: {},
};

t.test('1.1.0 keeps mtu and has no ip version', (tt) => {
  const out = convertResult(result, '1.1.0');
  tt.same(out, { cniVersion: '1.1.0', interfaces: result.interfaces, ips: result.ips, routes: [], dns: {} });
  tt.end();
});

t.test('1.0.0 drops interface mtu', (tt) => {
  const out = convertResult(result, '1.0.0');
  tt.same(out['interfaces'], [{ name: 'net1', mac: '0a:58:0a:01:00:02', sandbox: '/var/run/netns/p' }]);
  tt.end();
});

t.test('0.x results carry ip versions', (tt) => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    const out = convertResult(result, v);
    tt.equal(out.cniVersion, v);
    tt.same(out['ips'], [
      { version: '4', address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 0 },
      { version: '6', address: 'fd00::2/64', interface: 0 },
    ]);
  }
  tt.end();
});

t.test('capabilities by version', (tt) => {
  tt.same(SUPPORTED_VERSIONS.filter(supportsCheck), ['0.4.0', '1.0.0', '1.1.0']);
  tt.same(SUPPORTED_VERSIONS.filter(supportsStatusAndGc), ['1.1.0']);
  tt.end();
});
