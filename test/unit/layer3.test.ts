// Layer3 networks without OVN: the node subnet allocator (pure), the config keys and their
// checks, the canonical definition (defaults, hash) and the access rule's comparison of it.
import t, { type Test } from 'tap';
import { freeNodeSubnet, nodeSubnetKey, nodeSubnetsOf } from '../../daemon/ovn/node-subnets.ts';
import { parseSubnet, type Subnet } from '../../daemon/lib/ip.ts';
import { parseConfig } from '../../daemon/netconf/parse.ts';
import { networkDefinition } from '../../daemon/ovn/managed.ts';
import { layer3SwitchName } from '../../daemon/ovn/layer3.ts';
import { firstDifference, grantOf } from '../../daemon/k8s/access.ts';
import { definitionOf } from '../../daemon/k8s/definition.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { NetworkDefinitionError, NetworkSpecError } from '../../daemon/errors.ts';
import { expectCniError } from '../helpers/cni-error.ts';

const subnet = (cidr: string): Subnet => {
  const s = parseSubnet(cidr);
  if (s === undefined) throw new Error(`bad test CIDR ${cidr}`);
  return s;
};
const keys = (pairs: Record<string, string>): Map<string, string> => new Map(Object.entries(pairs).map(([cidr, node]) => [nodeSubnetKey(cidr), node]));
const base = { cniVersion: '1.1.0', name: 'l3', type: 'ovn-multinet' };
const layer3 = (extra: Record<string, unknown> = {}) => parseConfig({ ...base, topology: 'layer3', subnets: ['10.128.0.0/14'], ...extra });

t.test('node subnets: the first free one of the cluster subnet, in order', (t) => {
  const cluster = subnet('10.128.0.0/14');
  t.equal(freeNodeSubnet(cluster, 23, new Map())?.cidr, '10.128.0.0/23', 'the first');
  t.equal(freeNodeSubnet(cluster, 23, keys({ '10.128.0.0/23': 'a' }))?.cidr, '10.128.2.0/23', 'the next one when the first is taken');
  t.equal(freeNodeSubnet(cluster, 23, keys({ '10.128.0.0/23': 'a', '10.128.4.0/23': 'c' }))?.cidr, '10.128.2.0/23', 'a hole is filled');
  const got = freeNodeSubnet(cluster, 23, new Map());
  t.same(got, { family: 4, cidr: '10.128.0.0/23', network: subnet('10.128.0.0/23').network, prefixLength: 23, last: subnet('10.128.0.0/23').last }, 'a whole Subnet, as parseSubnet makes it');
  t.end();
});

t.test('node subnets: a full cluster subnet gives none', (t) => {
  const cluster = subnet('10.0.0.0/24');
  t.equal(freeNodeSubnet(cluster, 25, keys({ '10.0.0.0/25': 'a', '10.0.0.128/25': 'b' })), undefined, 'two /25 in a /24, both taken');
  t.equal(freeNodeSubnet(cluster, 25, keys({ '10.0.0.0/25': 'a' }))?.cidr, '10.0.0.128/25');
  t.end();
});

t.test('node subnets: IPv6, canonical CIDRs', (t) => {
  const cluster = subnet('fd00:10::/48');
  t.equal(freeNodeSubnet(cluster, 64, new Map())?.cidr, 'fd00:10::/64');
  t.equal(freeNodeSubnet(cluster, 64, keys({ 'fd00:10::/64': 'a' }))?.cidr, 'fd00:10:0:1::/64');
  t.end();
});

t.test("a node's subnets are read back from the router's keys", (t) => {
  const ids = new Map([...keys({ '10.128.0.0/23': 'a', '10.128.2.0/23': 'b', 'fd00:10::/64': 'a' }), ['ovn-multinet/owner', 'ovn-multinet']]);
  t.same(nodeSubnetsOf(ids, 'a').map((s) => s.cidr).sort(), ['10.128.0.0/23', 'fd00:10::/64']);
  t.same(nodeSubnetsOf(ids, 'b').map((s) => s.cidr), ['10.128.2.0/23']);
  t.same(nodeSubnetsOf(ids, 'c'), [], 'none for a node without keys');
  t.end();
});

t.test('layer3 config keys', (t) => {
  t.match(layer3().managed, { topology: 'layer3', subnets: ['10.128.0.0/14'] });
  t.equal(layer3({ hostSubnetLength: 23 }).managed?.hostSubnetLength, 23);
  t.equal(layer3({ subnets: ['10.128.0.0/14', 'fd00:10::/48'], hostSubnetLengthV6: 80 }).managed?.hostSubnetLengthV6, 80);
  const refused = (tt: Test, raw: Record<string, unknown>, field: string): void => expectCniError(tt, () => parseConfig({ ...base, ...raw }), ErrorCode.InvalidConfig, field);
  refused(t, { topology: 'layer3' }, 'subnets');
  refused(t, { topology: 'layer3', subnets: [] }, 'subnets');
  refused(t, { topology: 'layer3', subnets: ['10.128.0.0/14'], hostSubnetLength: 33 }, 'hostSubnetLength');
  refused(t, { topology: 'layer3', subnets: ['10.128.0.0/14'], hostSubnetLength: 23.5 }, 'hostSubnetLength');
  refused(t, { topology: 'layer3', subnets: ['10.128.0.0/14'], hostSubnetLengthV6: '64' }, 'hostSubnetLengthV6');
  refused(t, { topology: 'layer3', subnets: ['10.128.0.0/14'], gateway: '10.128.0.1' }, 'gateway');
  refused(t, { topology: 'layer2', subnets: ['10.128.0.0/14'], hostSubnetLength: 23 }, 'hostSubnetLength');
  refused(t, { hostSubnetLength: 23 }, 'hostSubnetLength');
  expectCniError(t, () => parseConfig({ ...base, type: 'macvlan', ipam: { type: 'ovn-multinet', topology: 'layer3', subnets: ['10.128.0.0/14'] } }), ErrorCode.InvalidConfig, 'ipam.topology');
  t.end();
});

t.test('layer3 definitions: defaults, checks, and a hash of their own', (t) => {
  const def = (extra: Record<string, unknown> = {}) => {
    const managed = layer3(extra).managed;
    if (managed === undefined) throw new Error('not managed');
    return networkDefinition(managed).definition;
  };
  t.same(def(), { topology: 'layer3', subnets: ['10.128.0.0/14'], excludeSubnets: [], hostSubnetLength: 24 }, 'IPv4 node subnets are /24 by default');
  t.same(def({ subnets: ['fd00:10::/48', '10.128.0.0/14'] }).hostSubnetLengthV6, 64, 'IPv6 node subnets are /64 by default');
  t.same(def({ hostSubnetLength: 24 }), def(), 'the default written out is the same definition');
  t.not(JSON.stringify(def({ hostSubnetLength: 23 })), JSON.stringify(def()), 'another length is another definition');
  const field = (extra: Record<string, unknown>): string => {
    try {
      def(extra);
    } catch (err) {
      if (err instanceof NetworkDefinitionError) return `${err.field}: ${err.message}`;
      throw err;
    }
    return 'accepted';
  };
  t.match(field({ hostSubnetLength: 14 }), /^hostSubnetLength: 14 must be longer than the prefix of 10\.128\.0\.0\/14/);
  t.match(field({ hostSubnetLength: 31 }), /^hostSubnetLength: 31 leaves no address/);
  t.equal(field({ hostSubnetLength: 30 }), 'accepted', '/30: the gateway and one pod');
  t.match(field({ subnets: ['fd00:10::/48'], hostSubnetLengthV6: 127 }), /^hostSubnetLengthV6: 127 leaves no address/);
  t.match(field({ hostSubnetLengthV6: 64 }), /^hostSubnetLengthV6: the subnets have no IPv6 subnet/);
  t.match(field({ subnets: ['fd00:10::/48'], hostSubnetLength: 24 }), /^hostSubnetLength: the subnets have no IPv4 subnet/);
  t.end();
});

t.test("the access rule compares the node subnet length; the controller's Network check refuses bad ones", (t) => {
  const grant = grantOf(layer3({ hostSubnetLength: 23 }));
  t.equal(firstDifference(layer3({ hostSubnetLength: 23 }), grant), undefined, 'the same definition is given');
  t.match(firstDifference(layer3(), grant), { key: 'hostSubnetLength', why: /Network has 23, this config 24/ }, 'a namespace user cannot pick another node subnet length');
  t.match(firstDifference(parseConfig({ ...base, topology: 'layer2', subnets: ['10.128.0.0/14'] }), grant), { key: 'topology' });
  t.equal(definitionOf('l3', { config: { topology: 'layer3', subnets: ['10.128.0.0/14'] } }).managed, '{"topology":"layer3","subnets":["10.128.0.0/14"],"excludeSubnets":[],"hostSubnetLength":24}');
  t.throws(() => definitionOf('l3', { config: { topology: 'layer3', subnets: ['10.128.0.0/14'], hostSubnetLength: 8 } }), new NetworkSpecError('spec.config.hostSubnetLength', '8 must be longer than the prefix of 10.128.0.0/14 (a node subnet is a part of it)'));
  t.end();
});

t.test('node switch names: network and node joined by "_", which node names never hold', (t) => {
  t.equal(layer3SwitchName('l3', 'node-a.example'), 'l3_node-a.example');
  t.end();
});
