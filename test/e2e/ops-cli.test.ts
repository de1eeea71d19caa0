// The operator commands (issue 22, item 4; docs/operations.md) run as an operator runs them: the
// built dist/ovn-multinetd, inside the node's network namespace (where the daemon's metrics
// listener and the fake API server listen on 127.0.0.1), against a live NB holding real
// attachments (two ADDs through the CNI executable), a port of another node, a port whose ids are
// malformed, someone else's port and an IPAMClaim's reservation. Values are asserted in the
// three formats, and the exit codes: 1 for an NB or a daemon that cannot be reached, 2 for a
// usage error, 3 for a pod nobody knows.
import t from 'tap';
import { execa } from 'execa';
import { loadYaml } from '@kubernetes/client-node';
import { createNetns } from '../helpers/netns.ts';
import { DAEMON_BINARY, e2eSkipReason, startNode } from '../helpers/node.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const SWITCH = 'opsnet';
const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

t.test('operator commands against a live NB', { skip }, async (t) => {
  // The daemon's metrics listener on the default port of `status`, in the node's own netns.
  const node = await startNode(t, { daemon: { extraArgs: ['--metrics-port', '9479', '--reconcile-interval', '300', '--reconcile-grace', '1000'] } });
  const { sandbox } = node;
  const netns = sandbox.env.SANDBOX_NETNS;
  const api = await startFakeApiServer(t, { netns });
  const ops = async (...args: string[]): Promise<Run> => {
    const r = await execa('ip', ['netns', 'exec', netns, DAEMON_BINARY, ...args], { reject: false, timeout: 60_000 });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const nb = ['--nb-db', node.env.NB_DB];
  const local = ['--ovs-db', node.env.OVS_DB, '--node-name', node.daemon.nodeName];
  const json = async (...args: string[]): Promise<Record<string, unknown>> => {
    const r = await ops(...args, '-o', 'json');
    t.equal(r.exitCode, 0, `${args[0] ?? ''} -o json: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  // 10.60.0.2 to .254, ten of them excluded: 243 addresses the allocator may hand out.
  await sandbox.nbctl(['ls-add', SWITCH, '--', 'set', 'logical_switch', SWITCH, 'other_config:subnet=10.60.0.0/24', 'other_config:exclude_ips="10.60.0.10..10.60.0.19"',
    'external_ids:"ovn-multinet/ipam-claim:tenant/claim1"="0a:00:00:00:00:77 10.60.0.77"', 'external_ids:"ovn-multinet/addr:10.60.0.77"="ipam-claim:tenant/claim1"']);
  await sandbox.nbctl(['ls-add', 'unrelated']);
  await sandbox.nbctl(['lsp-add', SWITCH, 'someone-else', '--', 'lsp-set-addresses', 'someone-else', '0a:00:00:00:00:99 10.60.0.200']);
  const owned = (name: string, ids: Record<string, string>, addresses: string): string[] => [
    // `set`, not lsp-set-addresses: ovn-nbctl checks what the latter is given.
    'lsp-add', SWITCH, name, '--', 'set', 'logical_switch_port', name, `addresses=${JSON.stringify(addresses)}`,
    ...Object.entries({ 'ovn-multinet/owner': 'ovn-multinet', ...ids }).map(([k, v]) => `external_ids:"${k}"="${v}"`),
  ];
  await sandbox.nbctl(owned('omn-remote', { 'ovn-multinet/container-id': 'remote-c', 'ovn-multinet/ifname': 'net1', 'ovn-multinet/node': 'node-b',
    'ovn-multinet/network': SWITCH, 'ovn-multinet/pod-namespace': 'tenant', 'ovn-multinet/pod-name': 'c' }, '0a:00:00:00:00:0c 10.60.0.100'));
  await sandbox.nbctl(owned('omn-broken', { 'ovn-multinet/container-id': 'bad id!', 'ovn-multinet/ifname': 'a/b', 'ovn-multinet/node': 'node-x' }, 'garbage'));

  const config = node.config(SWITCH);
  const pods: Record<string, { ip: string; mac: string }> = {};
  for (const name of ['a', 'b']) {
    const ns = await createNetns(t);
    const call = { containerId: `ops-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=tenant;K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}` };
    const add = await node.cni({ command: 'ADD', ...call }, config);
    t.equal(add.exitCode, 0, `ADD ${name}: ${add.stdout}`);
    t.teardown(() => node.cni({ command: 'DEL', ...call }, config));
    const ips = add.json?.['ips'] as Array<{ address: string }>;
    const ifaces = add.json?.['interfaces'] as Array<{ mac: string }>;
    pods[name] = { ip: ips[0]?.address.split('/')[0] ?? '', mac: ifaces[1]?.mac ?? '' };
  }
  const a = pods['a'] ?? { ip: '', mac: '' };
  const b = pods['b'] ?? { ip: '', mac: '' };
  // ovn-northd sets `up` once ovn-controller has bound the two ports.
  await until('both ports up', async () => ((await sandbox.nbctl(['--bare', '--columns=up', 'find', 'logical_switch_port', 'up=true'])).split('\n').filter((l) => l.trim() !== '').length >= 2 ? true : undefined), 15_000);

  t.test('networks', async (t) => {
    const out = await json('networks', ...nb);
    const networks = out['networks'] as Array<Record<string, unknown>>;
    t.same(networks.map((n) => n['switch']), [SWITCH], 'only the switch ovn-multinet attaches to');
    t.same(networks[0], {
      switch: SWITCH,
      network: SWITCH,
      managed: false,
      // Used: a, b, the remote pod, someone else's port, the reservation; all five in the pool.
      subnets: [{ cidr: '10.60.0.0/24', family: 4, capacity: '243', used: 5, reserved: 1, free: '238' }],
      invalid: null,
      ports: [{ node: node.daemon.nodeName, ports: 2 }, { node: 'node-b', ports: 1 }, { node: 'node-x', ports: 1 }].sort((x, y) => x.node.localeCompare(y.node)),
    });
    const yaml = await ops('networks', ...nb, '-o', 'yaml');
    t.equal(yaml.exitCode, 0, yaml.stderr);
    t.same(loadYaml(yaml.stdout), out, 'YAML holds the same data');
    const table = await ops('networks', ...nb);
    t.equal(table.exitCode, 0, table.stderr);
    const [header, ...lines] = table.stdout.trimEnd().split('\n');
    t.match(header, /^SWITCH\s+NETWORK\s+SUBNET\s+USED\s+FREE\s+RESERVED\s+PORTS$/, 'the header');
    t.equal(lines.length, 1, table.stdout);
    t.match(lines[0], new RegExp(`^${SWITCH}\\s+${SWITCH}\\s+10\\.60\\.0\\.0/24\\s+5\\s+238\\s+1\\s+\\S*node-b=1`), 'the row');
    t.equal(header?.indexOf('USED'), lines[0]?.indexOf('5'), 'columns aligned');
  });

  t.test('attachments', async (t) => {
    const rows = (await json('attachments', ...nb, ...local))['attachments'] as Array<Record<string, unknown>>;
    t.equal(rows.length, 4, 'a, b, the remote pod, the broken port');
    const yaml = await ops('attachments', ...nb, ...local, '-o', 'yaml');
    t.same(loadYaml(yaml.stdout), { attachments: rows }, 'YAML holds the same data');
    const byPort = new Map(rows.map((r) => [r['port'], r]));
    const mine = rows.filter((r) => r['node'] === node.daemon.nodeName);
    t.same(mine.map((r) => r['pod']), ['tenant/a', 'tenant/b']);
    t.match(mine[0], { interface: 'net1', containerId: 'ops-a', network: SWITCH, switch: SWITCH, addresses: [a.ip], mac: a.mac, role: 'owner', up: true, ovnInstalled: true, veth: true, ipamOnly: false, invalid: [] });
    t.match(mine[1], { addresses: [b.ip], mac: b.mac, up: true, ovnInstalled: true, veth: true });
    t.match(byPort.get('omn-remote'), { pod: 'tenant/c', node: 'node-b', addresses: ['10.60.0.100'], mac: '0a:00:00:00:00:0c', ovnInstalled: null, veth: null, invalid: [] }, 'another node: not looked at');
    const broken = byPort.get('omn-broken');
    t.match(broken, { pod: null, node: 'node-x', addresses: [], mac: null }, 'a malformed port is a row');
    t.match((broken?.['invalid'] as string[]).join('; '), /container-id "bad id!" is not valid; .*ifname "a\/b" is not valid; .*no "MAC IP\.\.\." entry/, 'its problems named');

    const filtered = async (...args: string[]): Promise<unknown[]> => ((await json('attachments', ...nb, ...args))['attachments'] as Array<Record<string, unknown>>).map((r) => r['port']);
    t.same(await filtered('--node', 'node-b'), ['omn-remote'], '--node');
    t.same((await filtered('--pod', 'tenant/a')).length, 1, '--pod');
    t.equal((await filtered('--network', SWITCH)).length, 4, '--network');
    t.same(await filtered('--network', 'unrelated'), [], 'a network without attachments');
    const noLocal = (await json('attachments', ...nb, '--pod', 'tenant/a'))['attachments'] as Array<Record<string, unknown>>;
    t.match(noLocal[0], { up: true, ovnInstalled: null, veth: null }, 'without --ovs-db nothing local is looked at');

    const table = await ops('attachments', ...nb, ...local);
    t.equal(table.exitCode, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    t.match(lines[0], /^POD\s+INTERFACE\s+NETWORK\s+ADDRESSES\s+MAC\s+PORT\s+NODE\s+UP\s+OVN-INSTALLED\s+VETH\s+PROBLEMS$/);
    t.match(table.stdout, new RegExp(`^tenant/a\\s+net1\\s+${SWITCH}\\s+${a.ip.replaceAll('.', '\\.')}\\s+${a.mac}\\s+omn-\\S+\\s+${node.daemon.nodeName}\\s+true\\s+yes\\s+yes\\s+-$`, 'm'), 'a row of this node (no problems: -)');
    t.match(table.stdout, /^tenant\/c\s+net1\s+opsnet\s+10\.60\.0\.100\s+0a:00:00:00:00:0c\s+omn-remote\s+node-b\s+false\s+-\s+-\s+-$/m, 'a row of another node: not up (no chassis bound it), nothing looked at');
    t.match(table.stdout, /^-\s+a\/b\s+.*omn-broken\s+node-x\s+.*invalid: /m, 'the broken row');
  });

  t.test('inspect', async (t) => {
    const status = JSON.stringify([{ name: `tenant/${SWITCH}`, interface: 'net1', ips: [a.ip], mac: a.mac }]);
    await api.upsert({ namespace: 'tenant', name: 'a', uid: 'uid-a', nodeName: node.daemon.nodeName, annotations: { [NETWORKS]: SWITCH, [NETWORK_STATUS]: status } });
    const event = (name: string, pod: string, reason: string, type: string, last: string) => api.apply('events', {
      metadata: { namespace: 'tenant', name },
      regarding: { kind: 'Pod', namespace: 'tenant', name: pod, uid: `uid-${pod}` },
      reason, type, note: `${reason} of ${pod}`, series: { count: 3, lastObservedTime: last }, eventTime: last, reportingController: 'ovn-multinet.io/daemon', reportingInstance: 'node-1', action: 'Attach',
    });
    await event('a.1', 'a', 'AttachFailed', 'Warning', '2026-12-07T10:00:00Z');
    await event('a.2', 'a', 'Attached', 'Normal', '2026-12-07T10:01:00Z');
    await event('b.1', 'b', 'AttachFailed', 'Warning', '2026-12-07T10:02:00Z');
    const kube = ['--kubeconfig', api.kubeconfig];

    const report = await json('inspect', 'tenant/a', ...nb, ...local, ...kube);
    t.match(report, { pod: 'tenant/a', api: true, exists: true, uid: 'uid-a', node: node.daemon.nodeName, networks: SWITCH, networkStatus: JSON.parse(status) as unknown });
    t.match(report['attachments'], [{ pod: 'tenant/a', addresses: [a.ip], mac: a.mac, ovnInstalled: true, veth: true }], 'its attachment, looked at locally');
    t.equal((report['attachments'] as unknown[]).length, 1, 'its one attachment');
    t.same((report['events'] as Array<Record<string, unknown>>).map((e) => [e['reason'], e['count'], e['last']]), [['AttachFailed', 3, '2026-12-07T10:00:00.000Z'], ['Attached', 3, '2026-12-07T10:01:00.000Z']], 'its Events only, oldest first');
    t.match(report['lastError'], { reason: 'AttachFailed', type: 'Warning', message: 'AttachFailed of a', source: 'ovn-multinet.io/daemon' }, 'the newest Warning');
    const yaml = await ops('inspect', 'tenant/a', ...nb, ...local, ...kube, '-o', 'yaml');
    t.same(loadYaml(yaml.stdout), report, 'YAML holds the same data');
    const table = await ops('inspect', 'tenant/a', ...nb, ...local, ...kube);
    t.equal(table.exitCode, 0, table.stderr);
    t.match(table.stdout, /^Pod:\s+tenant\/a$/m);
    t.match(table.stdout, /^In the API:\s+yes, uid uid-a$/m);
    t.match(table.stdout, /^Last error:\s+AttachFailed: AttachFailed of a$/m);
    t.match(table.stdout, /^Attachments:\nPOD\s+INTERFACE/m);
    t.match(table.stdout, /^2026-12-07T10:00:00\.000Z\s+Warning\s+AttachFailed\s+3\s+ovn-multinet\.io\/daemon\s+AttachFailed of a$/m, 'an Event row');

    const remote = await json('inspect', 'tenant/c', ...nb, ...kube);
    t.match(remote, { exists: false, uid: null, lastError: null, events: [] }, 'attachments but no pod object: still a report');
    t.equal((remote['attachments'] as unknown[]).length, 1);
    const withoutApi = await json('inspect', 'tenant/a', ...nb);
    t.match(withoutApi, { api: false, exists: null, networks: null }, 'without the API: only the NB');

    const ghost = await ops('inspect', 'tenant/ghost', ...nb, ...kube);
    t.equal(ghost.exitCode, 3, 'a pod nobody knows: exit code 3');
    t.match(ghost.stderr, /pod tenant\/ghost: no attachment in the NB and no such pod in the Kubernetes API/);
    t.equal(ghost.stdout, '');
  });

  t.test('status', async (t) => {
    await until('a reconciler pass', async () => ((((await json('status'))['reconciler'] as Record<string, unknown>)['passes'] as number) > 0 ? true : undefined), 10_000);
    const status = await json('status');
    t.match(status, {
      node: node.daemon.nodeName,
      socket: { path: node.daemon.socket, listening: true },
      databases: { nb: { connected: true, remote: node.env.NB_DB }, ovs: { connected: true, remote: node.env.OVS_DB } },
      requests: { running: 0, queued: 0, limit: 32 },
      reconciler: { lastPassRemoved: 0, removedTotal: 0, suspects: 0 },
    });
    t.ok((status['servedSwitches'] as string[]).includes(SWITCH), 'the switch is served');
    t.match((status['reconciler'] as Record<string, unknown>)['lastPassAt'], /^\d{4}-\d\d-\d\dT/);
    const yaml = await ops('status', '-o', 'yaml');
    t.match(loadYaml(yaml.stdout), { node: node.daemon.nodeName, databases: { nb: { connected: true } } });
    const table = await ops('status', '--address', '127.0.0.1', '--port', '9479');
    t.equal(table.exitCode, 0, table.stderr);
    t.match(table.stdout, new RegExp(`^Northbound:\\s+connected to ${node.env.NB_DB.replaceAll('.', '\\.')}$`, 'm'));
    t.match(table.stdout, /^Requests:\s+0 running, 0 queued \(at most 32 at once\)$/m);
    t.match(table.stdout, new RegExp(`^Served switches:\\s+.*\\b${SWITCH}\\b`, 'm'));

    // A pod gone without DEL: the reconciler removes its attachment, and status counts it.
    const gone = await createNetns(t);
    const add = await node.cni({ command: 'ADD', containerId: 'ops-gone', netns: gone.path, ifName: 'net1' }, config);
    t.equal(add.exitCode, 0, add.stdout);
    await gone.remove();
    const after = await until('the removal counted', async () => {
      const s = await json('status');
      return (s['reconciler'] as Record<string, unknown>)['removedTotal'] === 1 ? s : undefined;
    }, 15_000);
    t.match(after['reconciler'], { removedTotal: 1, suspects: 0 }, 'one removal since the start');
    t.equal(((await json('attachments', ...nb, '--node', node.daemon.nodeName))['attachments'] as unknown[]).length, 2, 'a and b are left');

    const nobody = await ops('status', '--port', '9478');
    t.equal(nobody.exitCode, 1, 'nothing listens there: exit code 1');
    t.match(nobody.stderr, /no daemon answers at http:\/\/127\.0\.0\.1:9478\/status \(address 127\.0\.0\.1, port 9478\).*--metrics-port/);
  });

  t.test('failures and usage errors', async (t) => {
    const unreachable = await ops('networks', '--nb-db', 'unix:/nonexistent/nb.sock', '--timeout', '1s');
    t.equal(unreachable.exitCode, 1, 'an NB that cannot be reached: exit code 1');
    t.match(unreachable.stderr, /^ovn-multinetd: cannot reach the OVN Northbound database at unix:\/nonexistent\/nb\.sock within 1000 ms/);
    t.equal(unreachable.stdout, '');
    const format = await ops('networks', ...nb, '-o', 'xml');
    t.equal(format.exitCode, 2, 'an output format that does not exist: exit code 2');
    t.match(format.stderr, /argument 'xml' is invalid\. Allowed choices are table, json, yaml/);
    const pod = await ops('attachments', ...nb, '--pod', 'no-slash');
    t.equal(pod.exitCode, 2, 'a --pod that is not NAMESPACE/NAME: exit code 2');
    t.equal((await ops('inspect', ...nb)).exitCode, 2, 'inspect without its pod: exit code 2');
    t.equal((await ops('completion', 'fish')).exitCode, 2, 'a shell without completion: exit code 2');
  });

  t.test('gc shows its progress', async (t) => {
    const gc = await ops('gc', '--node', 'node-b', ...nb, '--progress');
    t.equal(gc.exitCode, 0, gc.stderr);
    t.match(gc.stderr, /^releasing the ports of node node-b: 1\/1$/m, 'a progress line on stderr (not a terminal: --progress)');
    t.match(gc.stdout, /1 logical switch port of node node-b removed/);
    const silent = await ops('gc', '--node', 'node-b', ...nb);
    t.equal(silent.stderr, '', 'without --progress and no terminal: nothing on stderr');
    const after = (await json('networks', ...nb))['networks'] as Array<Record<string, unknown>>;
    t.notOk((after[0]?.['ports'] as Array<Record<string, unknown>>).some((p) => p['node'] === 'node-b'), 'node-b has no port left');
  });
});
