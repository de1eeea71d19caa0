// Routes a pod asks for (issue 23 item 4): the network-selection element's `default-route` (the
// pod's default route of each family through this interface, replacing the one it had) and its
// `cni-args.routes`, or `args.cni.routes` on stdin (as Multus passes cni-args on), added to the
// config's routes. Seen in the pod (`ip route`), in the result and by CHECK; a second ADD
// answers the same; what Multus does after our ADD (delete the interface's default routes, add
// its own) succeeds; DEL leaves nothing; the default route carries traffic through an OVN router.
// Refusals are code 7 naming the field, and leave nothing.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome } from '../helpers/node.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { nodeState } from '../helpers/leftovers.ts';
import { ping } from '../helpers/traffic.ts';

const skip = e2eSkipReason();
const ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
// A managed dual-stack network with its gateways, and an admin's switch without a gateway.
const ROUTED = { topology: 'layer2', subnets: ['10.61.0.0/24', 'fd00:61::/64'], gateway: ['10.61.0.1', 'fd00:61::1'] };

t.test('routes from the pod', { skip }, async (t) => {
  // The daemon outlives each subtest, a restarted one too.
  const whole = t;
  const sandbox = await startSandbox({ netns: true, t });
  await sandbox.nbctl(['ls-add', 'plain', '--', 'set', 'logical_switch', 'plain', 'other_config:subnet=10.62.0.0/24']);
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  await api.upsertNamespace({ name: 'tenant' });
  await api.upsertNetwork({ name: 'routed', namespaceSelector: {}, config: ROUTED });
  await api.upsertNetwork({ name: 'plain', logicalSwitch: 'plain', namespaceSelector: {} });
  let daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });

  const config = (name: string, more: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.1.0',
    name,
    type: 'ovn-multinet',
    socket: daemon.socket,
    ...(name === 'routed' ? ROUTED : {}),
    ...more,
  });
  const callOf = (pod: string, ns: Netns) => ({
    containerId: `rt-${pod}`,
    netns: ns.path,
    ifName: 'net1',
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=tenant;K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=rt-${pod};K8S_POD_UID=uid-${pod}`,
  });
  const pod = (name: string, elements: unknown[]) =>
    api.upsert({ namespace: 'tenant', name, uid: `uid-${name}`, nodeName: daemon.nodeName, annotations: { [ANNOTATION]: JSON.stringify(elements) } });

  // A pod netns with the cluster network's eth0 and its default routes, as a runtime leaves it.
  async function podNetns(t: Test): Promise<Netns> {
    const ns = await createNetns(t);
    const steps = [
      ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer'],
      ['ip', 'link', 'set', 'eth0-peer', 'up'],
      ['ip', 'link', 'set', 'eth0', 'up'],
      ['ip', 'addr', 'add', '192.168.200.2/24', 'dev', 'eth0'],
      ['ip', '-6', 'addr', 'add', 'fd00:200::2/64', 'dev', 'eth0', 'nodad'],
      ['ip', 'route', 'add', 'default', 'via', '192.168.200.1', 'dev', 'eth0'],
      ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:200::1', 'dev', 'eth0'],
    ];
    for (const step of steps) await ns.exec(step);
    return ns;
  }
  const defaults = async (ns: Netns, family: '-4' | '-6'): Promise<string[]> =>
    (await ns.exec(['ip', family, 'route', 'show', 'default'])).split('\n').map((l) => l.trim()).filter((l) => l !== '');

  t.test('refusals: code 7 naming the field, nothing left behind', async (t) => {
    const refused = async (t: Test, name: string, network: string, elements: unknown[], more: Record<string, unknown> = {}): Promise<CniOutcome> => {
      await pod(name, elements);
      const ns = await podNetns(t);
      const before = await nodeState(sandbox);
      const out = await runCni(sandbox, { command: 'ADD', ...callOf(name, ns) }, config(network, more));
      t.equal(out.json?.['code'], 7, `${name}: ${out.stdout}`);
      t.same(await nodeState(sandbox), before, `${name}: no switch, port, OVS port or veth left`);
      t.notMatch(await ns.exec(['ip', '-o', 'link']), /net1/, `${name}: no interface in the pod`);
      t.same(await defaults(ns, '-4'), ['default via 192.168.200.1 dev eth0'], `${name}: the pod's default route untouched`);
      return out;
    };
    const msg = (out: CniOutcome): string => String(out.json?.['msg']);
    const element = `pod tenant/%s: annotation k8s\\.v1\\.cni\\.cncf\\.io/networks \\(network tenant/%s\\)`;
    const named = (podName: string, network: string, rest: string): RegExp => new RegExp(`^${element.replace('%s', podName).replace('%s', network)} ${rest}`);

    // Before any ADD on it succeeded: a managed network is checked against its definition, and a refusal leaves no switch.
    const notGateway = await refused(t, 'notgw', 'routed', [{ name: 'routed', 'default-route': ['10.61.0.5'] }]);
    t.match(msg(notGateway), named('notgw', 'routed', 'default-route\\[0\\]: "10\\.61\\.0\\.5" is not the IPv4 gateway of network "routed" on net1$'));
    t.match(String(notGateway.json?.['details']), 'its gateway is 10.61.0.1');
    const noGateway = await refused(t, 'nogw', 'plain', [{ name: 'plain', 'default-route': ['10.62.0.1'] }]);
    t.match(msg(noGateway), named('nogw', 'plain', 'default-route\\[0\\]: network "plain" on net1 has no IPv4 gateway$'));
    const noFamily = await refused(t, 'nov6', 'plain', [{ name: 'plain', 'default-route': ['fd00:62::1'] }]);
    t.match(msg(noFamily), named('nov6', 'plain', 'default-route\\[0\\]: network "plain" on net1 has no IPv6 gateway$'));
    const notIp = await refused(t, 'notip', 'routed', [{ name: 'routed', 'default-route': ['10.61.0.1/24'] }]);
    t.match(msg(notIp), /^pod tenant\/notip: annotation k8s\.v1\.cni\.cncf\.io\/networks is invalid at \[0\]\.default-route\[0\]$/);
    t.match(String(notIp.json?.['details']), '"10.61.0.1/24" is not an IP address');
    const outside = await refused(t, 'outside', 'routed', [{ name: 'routed', 'cni-args': { routes: [{ dst: '10.9.0.0/16', gw: '10.99.0.1' }] } }]);
    t.match(msg(outside), named('outside', 'routed', 'cni-args\\.routes\\[0\\]\\.gw: "10\\.99\\.0\\.1" is outside the subnets of network "routed" on net1$'));
    const twice = await refused(t, 'twice', 'routed', [{ name: 'routed', 'cni-args': { routes: [{ dst: '192.0.2.0/24' }] } }], { routes: [{ dst: '192.0.2.0/24', gw: '10.61.0.1' }] });
    t.match(msg(twice), named('twice', 'routed', "cni-args\\.routes\\[0\\]\\.dst: 192\\.0\\.2\\.0/24 is routed by the config's routes already$"));
    const stdinDefault = await refused(t, 'stdin', 'routed', [], { args: { cni: { routes: [{ dst: '0.0.0.0/0', gw: '10.61.0.1' }] } } });
    t.match(msg(stdinDefault), /^args\.cni\.routes\[0\]\.dst: a default route is set by the network-selection element's "default-route"$/);
    const stdinOutside = await refused(t, 'stdin2', 'plain', [], { args: { cni: { routes: [{ dst: '10.10.0.0/16', gw: '10.61.0.254' }] } } });
    t.match(msg(stdinOutside), /^args\.cni\.routes\[0\]\.gw: "10\.61\.0\.254" is outside the subnets of network "plain" on net1$/);
  });

  t.test('default-route and cni-args.routes from the element, IPv4 and IPv6', async (t) => {
    await pod('a', [
      { name: 'other' },
      { name: 'routed', interface: 'net1', 'default-route': ['10.61.0.1', 'fd00:61::1'], 'cni-args': { routes: [{ dst: '10.9.0.0/16', gw: '10.61.0.254' }, { dst: 'fd00:9::/48', gw: 'fd00:61::fe' }] } },
    ]);
    const ns = await podNetns(t);
    const call = callOf('a', ns);
    const conf = config('routed', { routes: [{ dst: '192.0.2.0/24', gw: '10.61.0.1' }] });
    const out = await runCni(sandbox, { command: 'ADD', ...call }, conf);
    t.equal(out.exitCode, 0, out.stdout);
    const expected = [
      { dst: '192.0.2.0/24', gw: '10.61.0.1' },
      { dst: '10.9.0.0/16', gw: '10.61.0.254' },
      { dst: 'fd00:9::/48', gw: 'fd00:61::fe' },
      { dst: '0.0.0.0/0', gw: '10.61.0.1' },
      { dst: '::/0', gw: 'fd00:61::1' },
    ];
    t.same(out.json?.['routes'], expected, 'the result: the config\'s routes, the element\'s, the default routes');
    t.same(await defaults(ns, '-4'), ['default via 10.61.0.1 dev net1'], 'one IPv4 default route, through net1 (eth0\'s replaced)');
    t.match((await defaults(ns, '-6')).join('\n'), /^default via fd00:61::1 dev net1 metric 1024[^\n]*$/, 'one IPv6 default route, through net1');
    t.match(await ns.exec(['ip', 'route', 'show', '10.9.0.0/16']), '10.9.0.0/16 via 10.61.0.254 dev net1');
    t.match(await ns.exec(['ip', 'route', 'show', '192.0.2.0/24']), '192.0.2.0/24 via 10.61.0.1 dev net1');
    t.match(await ns.exec(['ip', '-6', 'route', 'show', 'fd00:9::/48']), 'fd00:9::/48 via fd00:61::fe dev net1');

    const check = async (): Promise<CniOutcome> => runCni(sandbox, { command: 'CHECK', ...call }, { ...conf, prevResult: out.json });
    t.equal((await check()).exitCode, 0, 'CHECK agrees');
    const again = await runCni(sandbox, { command: 'ADD', ...call }, conf);
    t.equal(again.exitCode, 0, again.stdout);
    t.same(again.json, out.json, 'a second ADD answers the same');
    t.same(await defaults(ns, '-4'), ['default via 10.61.0.1 dev net1'], 'still one IPv4 default route');
    await daemon.stop();
    daemon = await startDaemon(whole, sandbox, { socket: daemon.socket, extraArgs: ['--kubeconfig', api.kubeconfig] });
    t.equal((await check()).exitCode, 0, 'CHECK agrees after a daemon restart');
    t.same((await runCni(sandbox, { command: 'ADD', ...call }, conf)).json, out.json, 'and an ADD answers the same');

    // What Multus does after a delegate's ADD for the element with default-route
    // (netutils.DeleteDefaultGW, then SetDefaultGW: a plain RTM_NEWROUTE with NLM_F_EXCL).
    await ns.exec(['ip', 'route', 'del', 'default', 'dev', 'net1']);
    await ns.exec(['ip', '-6', 'route', 'del', 'default', 'dev', 'net1']);
    await ns.exec(['ip', 'route', 'add', 'default', 'via', '10.61.0.1', 'dev', 'net1']);
    await ns.exec(['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:61::1', 'dev', 'net1']);
    t.same(await defaults(ns, '-4'), ['default via 10.61.0.1 dev net1'], 'after Multus: one IPv4 default route through net1');
    t.match((await defaults(ns, '-6')).join('\n'), /^default via fd00:61::1 dev net1 metric 1024[^\n]*$/, 'and one IPv6');
    t.equal((await check()).exitCode, 0, 'CHECK agrees with Multus\'s routes too');

    await ns.exec(['ip', 'route', 'del', '10.9.0.0/16']);
    const missing = await check();
    t.equal(missing.json?.['code'], 101, `CHECK sees a route gone: ${missing.stdout}`);
    t.match(String(missing.json?.['details']), 'interface net1 lacks route 10.9.0.0/16 via 10.61.0.254');

    const del = await runCni(sandbox, { command: 'DEL', ...call }, conf);
    t.equal(del.exitCode, 0, del.stdout);
    t.notMatch(await ns.exec(['ip', '-o', 'link']), /net1/, 'the interface is gone');
    t.same(await defaults(ns, '-4'), [], 'the default route it replaced is not put back (the pod is going away)');
    t.match(await ns.exec(['ip', 'route', 'show', '192.168.200.0/24']), '192.168.200.0/24 dev eth0', 'eth0 keeps its own routes');
    t.equal((await runCni(sandbox, { command: 'DEL', ...call }, conf)).exitCode, 0, 'a second DEL succeeds');
  });

  t.test('the default route carries traffic: through an OVN router to a subnet no other route reaches', async (t) => {
    // An admin's router joins `plain` (10.62.0.0/24) and `far` (10.63.0.0/24).
    const link = (sw: string, octet: number): string[][] => [
      ['lrp-add', 'edge', `edge-${sw}`, `02:00:00:00:${octet}:01`, `10.${octet}.0.1/24`],
      ['lsp-add', sw, `${sw}-edge`],
      ['lsp-set-type', `${sw}-edge`, 'router'],
      ['lsp-set-addresses', `${sw}-edge`, 'router'],
      ['lsp-set-options', `${sw}-edge`, `router-port=edge-${sw}`],
    ];
    await sandbox.nbctl(['ls-add', 'far', '--', 'set', 'logical_switch', 'far', 'other_config:subnet=10.63.0.0/24']);
    await sandbox.nbctl(['lr-add', 'edge']);
    for (const step of [...link('plain', 62), ...link('far', 63)]) await sandbox.nbctl(step);
    t.teardown(async () => {
      await sandbox.nbctl(['lr-del', 'edge']);
      await sandbox.nbctl(['lsp-del', 'plain-edge']);
      await sandbox.nbctl(['ls-del', 'far']);
    });
    // A peer on `far` (a call naming no pod), routed back to `plain`.
    const farNs = await createNetns(t);
    const farCall = { containerId: 'rt-far', netns: farNs.path, ifName: 'net1' };
    const farConf = { ...config('far'), logicalSwitch: 'far', args: { cni: { routes: [{ dst: '10.62.0.0/24', gw: '10.63.0.1' }] } } };
    const far = await runCni(sandbox, { command: 'ADD', ...farCall }, farConf);
    t.equal(far.exitCode, 0, far.stdout);
    t.teardown(() => runCni(sandbox, { command: 'DEL', ...farCall }, farConf));
    const farIp = ((far.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address ?? '').split('/')[0] ?? '';

    const attach = async (name: string, element: Record<string, unknown>): Promise<Netns> => {
      await pod(name, [{ name: 'plain', interface: 'net1', ...element }]);
      const ns = await podNetns(t);
      const call = callOf(name, ns);
      const out = await runCni(sandbox, { command: 'ADD', ...call }, config('plain', { logicalSwitch: 'plain' }));
      t.equal(out.exitCode, 0, `ADD ${name}: ${out.stdout}`);
      t.teardown(() => runCni(sandbox, { command: 'DEL', ...call }, config('plain', { logicalSwitch: 'plain' })));
      return ns;
    };
    const routed = await attach('dflt', { 'default-route': ['10.62.0.1'] });
    const unrouted = await attach('nodflt', {});
    t.same(await defaults(routed, '-4'), ['default via 10.62.0.1 dev net1'], 'the default route through the router port');
    t.equal(await routed.exec(['ip', 'route', 'show', '10.63.0.0/24']), '', 'and no route of its own to far\'s subnet');
    t.ok(await ping(routed, farIp, { count: 3 }), `through its default route, the pod reaches ${farIp} behind the router`);
    t.notOk(await ping(unrouted, farIp, { count: 2 }), 'a pod of the same network without default-route does not (its default route is eth0\'s)');
  });

  t.test('args.cni.routes on stdin, alone and over the element\'s', async (t) => {
    const ns = await podNetns(t);
    const plain = { containerId: 'rt-stdin', netns: ns.path, ifName: 'net1' };
    const conf = config('routed', { args: { cni: { routes: [{ dst: '10.10.0.0/16', gw: '10.61.0.254' }, { dst: '198.51.100.0/24' }] } } });
    const out = await runCni(sandbox, { command: 'ADD', ...plain }, conf);
    t.equal(out.exitCode, 0, out.stdout);
    t.teardown(() => runCni(sandbox, { command: 'DEL', ...plain }, conf));
    t.same(out.json?.['routes'], [{ dst: '10.10.0.0/16', gw: '10.61.0.254' }, { dst: '198.51.100.0/24' }]);
    t.match(await ns.exec(['ip', 'route', 'show', '10.10.0.0/16']), '10.10.0.0/16 via 10.61.0.254 dev net1');
    t.match(await ns.exec(['ip', 'route', 'show', '198.51.100.0/24']), '198.51.100.0/24 dev net1 scope link');
    t.same(await defaults(ns, '-4'), ['default via 192.168.200.1 dev eth0'], 'no default-route asked: the pod keeps its own');
    t.equal((await runCni(sandbox, { command: 'CHECK', ...plain }, { ...conf, prevResult: out.json })).exitCode, 0, 'CHECK agrees');

    // Multus passes the element's cni-args as args.cni: the same routes, taken once, from stdin.
    await pod('b', [{ name: 'routed', 'cni-args': { routes: [{ dst: '10.11.0.0/16', gw: '10.61.0.254' }] } }]);
    const nsB = await podNetns(t);
    const call = callOf('b', nsB);
    const confB = config('routed', { args: { cni: { routes: [{ dst: '10.12.0.0/16', gw: '10.61.0.254' }] } } });
    const b = await runCni(sandbox, { command: 'ADD', ...call }, confB);
    t.equal(b.exitCode, 0, b.stdout);
    t.teardown(() => runCni(sandbox, { command: 'DEL', ...call }, confB));
    t.same(b.json?.['routes'], [{ dst: '10.12.0.0/16', gw: '10.61.0.254' }], 'stdin\'s args.cni.routes, not the element\'s');
    t.equal(await nsB.exec(['ip', 'route', 'show', '10.11.0.0/16']), '', 'the element\'s are not added');
  });
});
