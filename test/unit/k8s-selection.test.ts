// The pod annotation k8s.v1.cni.cncf.io/networks in both forms, and which element a CNI call
// (network name + CNI_IFNAME) is for.
import t from 'tap';
import { parseNetworkSelections, selectNetwork, type NetworkSelection } from '../../daemon/k8s/selection.ts';
import { NetworkSelectionError } from '../../daemon/errors.ts';

const el = (name: string, more: Partial<NetworkSelection> = {}): NetworkSelection => ({
  name,
  namespace: 'pods',
  interface: undefined,
  ips: undefined,
  mac: undefined,
  ipamClaimReference: undefined,
  defaultRoute: undefined,
  routes: undefined,
  ...more,
});

t.test('valid annotations', async (t) => {
  const rows: Array<{ name: string; value: string; want: NetworkSelection[] }> = [
    { name: 'empty', value: '  ', want: [] },
    { name: 'one name', value: 'red', want: [el('red')] },
    { name: 'CSV with namespace and interface', value: 'net1, ns2/net2@eth3', want: [el('net1'), el('net2', { namespace: 'ns2', interface: 'eth3' })] },
    { name: 'CSV, interface only', value: 'blue@data0', want: [el('blue', { interface: 'data0' })] },
    {
      name: 'JSON, every field used',
      value: '[{"name":"red","namespace":"ns","interface":"net1","ips":["10.1.0.5/24"],"mac":"0A:00:00:00:00:05","ipam-claim-reference":"vm1-red"}]',
      want: [el('red', { namespace: 'ns', interface: 'net1', ips: [{ address: '10.1.0.5', prefixLength: 24 }], mac: '0a:00:00:00:00:05', ipamClaimReference: 'vm1-red' })],
    },
    { name: 'JSON, namespace defaults to the pod', value: '[{"name":"red"},{"name":"blue","ips":["10.2.0.7","fd00::7/64"]}]', want: [el('red'), el('blue', { ips: [{ address: '10.2.0.7', prefixLength: undefined }, { address: 'fd00::7', prefixLength: 64 }] })] },
    { name: 'JSON, unknown fields ignored', value: ' [{"name":"red","bandwidth":{},"cni-args":{"a":1}}] ', want: [el('red')] },
    {
      name: 'JSON, default-route and cni-args.routes',
      value: '[{"name":"red","default-route":["10.1.0.1","fd00:1::1"],"cni-args":{"routes":[{"dst":"10.9.0.0/16","gw":"10.1.0.1"},{"dst":"fd00:9:0::/48"}],"other":true}}]',
      want: [el('red', { defaultRoute: ['10.1.0.1', 'fd00:1::1'], routes: [{ dst: '10.9.0.0/16', gw: '10.1.0.1' }, { dst: 'fd00:9::/48' }] })],
    },
    { name: 'JSON, an empty default-route asks nothing', value: '[{"name":"red","default-route":[],"cni-args":null}]', want: [el('red')] },
    { name: 'JSON empty list', value: '[]', want: [] },
  ];
  for (const row of rows) t.same(parseNetworkSelections(row.value, 'pods'), row.want, row.name);
});

t.test('invalid annotations', async (t) => {
  const rows: Array<{ name: string; value: string; path: RegExp }> = [
    { name: 'broken JSON', value: '[{"name":', path: /^value: not valid JSON/ },
    { name: 'JSON object, not a list', value: '{"name":"red"}', path: /^value: must be a JSON list/ },
    { name: 'element not an object', value: '["red"]', path: /^\[0\]: must be an object/ },
    { name: 'no name', value: '[{"namespace":"ns"}]', path: /^\[0\]\.name: is required/ },
    { name: 'name not a string', value: '[{"name":5}]', path: /^\[0\]\.name: must be a string/ },
    { name: 'bad name', value: '[{"name":"Red_Net"}]', path: /^\[0\]\.name: .* not a valid object name/ },
    { name: 'bad namespace', value: '[{"name":"red","namespace":"a.b"}]', path: /^\[0\]\.namespace/ },
    { name: 'bad interface', value: '[{"name":"red","interface":"a very long name"}]', path: /^\[0\]\.interface/ },
    { name: 'ips not a list', value: '[{"name":"red","ips":"10.1.0.5"}]', path: /^\[0\]\.ips: must be a list/ },
    { name: 'bad ip', value: '[{"name":"red","ips":["10.1.0.500/24"]}]', path: /^\[0\]\.ips\[0\]/ },
    { name: 'bad prefix', value: '[{"name":"red","ips":["10.1.0.5/33"]}]', path: /^\[0\]\.ips\[0\]/ },
    { name: 'ip twice', value: '[{"name":"red","ips":["10.1.0.5/24","10.1.0.5"]}]', path: /^\[0\]\.ips\[1\]: 10\.1\.0\.5 is given twice/ },
    { name: 'bad mac', value: '[{"name":"red","mac":"zz:00:00:00:00:01"}]', path: /^\[0\]\.mac/ },
    { name: 'bad claim name', value: '[{"name":"red","ipam-claim-reference":"VM 1"}]', path: /^\[0\]\.ipam-claim-reference: .* not a valid object name/ },
    { name: 'claim name not a string', value: '[{"name":"red","ipam-claim-reference":7}]', path: /^\[0\]\.ipam-claim-reference: must be a string/ },
    { name: 'multicast mac', value: '[{"name":"red","mac":"01:00:00:00:00:01"}]', path: /^\[0\]\.mac/ },
    { name: 'default-route not a list', value: '[{"name":"red","default-route":"10.1.0.1"}]', path: /^\[0\]\.default-route: must be a list/ },
    { name: 'default-route not an IP', value: '[{"name":"red","default-route":["10.1.0.1/24"]}]', path: /^\[0\]\.default-route\[0\]: "10\.1\.0\.1\/24" is not an IP address/ },
    { name: 'default-route twice IPv4', value: '[{"name":"red","default-route":["10.1.0.1","10.1.0.2"]}]', path: /^\[0\]\.default-route: at most one gateway per family/ },
    { name: 'cni-args not an object', value: '[{"name":"red","cni-args":[1]}]', path: /^\[0\]\.cni-args: must be an object/ },
    { name: 'cni-args.routes not a list', value: '[{"name":"red","cni-args":{"routes":{}}}]', path: /^\[0\]\.cni-args\.routes: must be a list/ },
    { name: 'cni-args route without dst', value: '[{"name":"red","cni-args":{"routes":[{"gw":"10.1.0.1"}]}}]', path: /^\[0\]\.cni-args\.routes\[0\]\.dst: must be a CIDR/ },
    { name: 'cni-args route, host bits', value: '[{"name":"red","cni-args":{"routes":[{"dst":"10.9.0.1/16"}]}}]', path: /^\[0\]\.cni-args\.routes\[0\]\.dst: must be a subnet address .*10\.9\.0\.1\/16/ },
    { name: 'cni-args route, a default route', value: '[{"name":"red","cni-args":{"routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}]}}]', path: /^\[0\]\.cni-args\.routes\[0\]\.dst: a default route is set by .*default-route/ },
    { name: 'cni-args route twice', value: '[{"name":"red","cni-args":{"routes":[{"dst":"10.9.0.0/16"},{"dst":"10.9.0.0/16","gw":"10.1.0.1"}]}}]', path: /^\[0\]\.cni-args\.routes\[1\]\.dst: is given twice/ },
    { name: 'cni-args route, gw of the other family', value: '[{"name":"red","cni-args":{"routes":[{"dst":"10.9.0.0/16","gw":"fd00::1"}]}}]', path: /^\[0\]\.cni-args\.routes\[0\]\.gw: must be an address of the same family/ },
    { name: 'CSV, two slashes', value: 'a/b/c', path: /^\[0\]: .* more than one "\/"/ },
    { name: 'CSV, two @', value: 'red@a@b', path: /^\[0\]: .* more than one "@"/ },
    { name: 'CSV, empty item', value: 'red,,blue', path: /^\[1\]: .* names no network/ },
    { name: 'CSV, bad name', value: 'red, Blue', path: /^\[1\]\.name/ },
  ];
  for (const row of rows) {
    t.throws(() => parseNetworkSelections(row.value, 'pods'), NetworkSelectionError, row.name);
    t.throws(() => parseNetworkSelections(row.value, 'pods'), { message: row.path }, `${row.name}: names the bad part`);
  }
  t.throws(() => parseNetworkSelections('x'.repeat(70_000), 'pods'), NetworkSelectionError, 'too long');
});

t.test('picking the element of one CNI call', async (t) => {
  const list = parseNetworkSelections('[{"name":"red","ips":["10.1.0.5/24"]},{"name":"blue"},{"name":"red","interface":"data0","ips":["10.1.0.6/24"]},{"name":"red"}]', 'pods');
  t.equal(selectNetwork(list, 'red', 'net1')?.ips?.[0]?.address, '10.1.0.5', 'no interface: net<position>');
  t.equal(selectNetwork(list, 'red', 'data0')?.ips?.[0]?.address, '10.1.0.6', 'by interface');
  t.equal(selectNetwork(list, 'red', 'net4'), list[3], 'the second unnamed red is net4');
  t.equal(selectNetwork(list, 'red', 'eth9'), undefined, 'red appears several times: no guess');
  t.equal(selectNetwork(list, 'blue', 'net2'), list[1]);
  t.equal(selectNetwork(list, 'blue', 'eth0'), list[1], 'a network listed once without interface is that one');
  t.equal(selectNetwork(list, 'green', 'net1'), undefined, 'not asked for');
  const named = parseNetworkSelections('green@data1', 'pods');
  t.equal(selectNetwork(named, 'green', 'net1'), undefined, 'an element with another interface is not this call');
});
