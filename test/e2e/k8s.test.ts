// Per-pod network requests from Kubernetes: with --kubeconfig the daemon watches this node's pods
// and an ADD takes ips/mac from the pod's k8s.v1.cni.cncf.io/networks element for the network,
// through the same static-address path as runtimeConfig (in use: 103 naming the owner, outside
// the subnet: 7). Without --kubeconfig the annotation is ignored.
//
// The fake API server runs inside the sandbox's network namespace (where the daemon runs and
// 127.0.0.1 is that namespace's loopback) and is driven over its stdin/stdout.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome, type DaemonProcess } from '../helpers/node.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';

const skip = e2eSkipReason();
const NETWORK = 'k8snet';
const ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

interface Attached {
  ns: Netns;
  out: CniOutcome;
  ip: string;
  mac: string;
}

t.test('kubernetes pod requests', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  await sandbox.nbctl(['ls-add', NETWORK, '--', 'set', 'logical_switch', NETWORK, 'other_config:subnet=10.50.0.0/24']);
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  // In a cluster a pod reaches a switch only through a Network admitting its namespace.
  await api.upsertNamespace({ name: 'tenant' });
  await api.upsertNetwork({ name: NETWORK, logicalSwitch: NETWORK, namespaceSelector: {} });
  let daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });
  t.ok(daemon.logs.some((l) => l['msg'] === "watching this node's pods for network requests"), 'the daemon watches pods');

  const pod = (name: string, annotation: string, uid = `uid-${name}`) =>
    api.upsert({ namespace: 'tenant', name, uid, nodeName: daemon.nodeName, annotations: { [ANNOTATION]: annotation } });

  async function attach(t: Test, d: DaemonProcess, name: string, uid = `uid-${name}`): Promise<Attached> {
    const ns = await createNetns(t);
    const config = { cniVersion: '1.1.0', name: NETWORK, type: 'ovn-multinet', socket: d.socket };
    const call = { containerId: `k8s-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=tenant;K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=k8s-${name};K8S_POD_UID=${uid}` };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, config);
    if (out.exitCode === 0) t.teardown(() => runCni(sandbox, { command: 'DEL', ...call }, config));
    const ips = out.json?.['ips'] as Array<{ address: string }> | undefined;
    const ifaces = out.json?.['interfaces'] as Array<{ mac: string }> | undefined;
    return { ns, out, ip: ips?.[0]?.address ?? '', mac: ifaces?.[1]?.mac ?? '' };
  }
  const ports = async (): Promise<number> => (await sandbox.nbctl(['lsp-list', NETWORK])).split('\n').filter((l) => l.trim() !== '').length;

  t.test('ips and mac from the pod annotation', async (t) => {
    await pod('a', JSON.stringify([{ name: NETWORK, ips: ['10.50.0.50/24'], mac: '0a:00:00:00:50:50' }]));
    const a = await attach(t, daemon, 'a');
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.equal(a.ip, '10.50.0.50/24');
    t.equal(a.mac, '0a:00:00:00:50:50');
    t.match(await a.ns.exec(['ip', '-o', 'addr', 'show', 'net1']), 'inet 10.50.0.50/24');
    t.match(await a.ns.exec(['ip', '-o', 'link', 'show', 'net1']), '0a:00:00:00:50:50');

    const before = await ports();
    await pod('b', `[{"name":"${NETWORK}","ips":["10.50.0.50/24"]}]`);
    const b = await attach(t, daemon, 'b');
    t.equal(b.out.json?.['code'], 103, `the same IP: ${b.out.stdout}`);
    t.match(String(b.out.json?.['msg']), /pod tenant\/b: annotation k8s\.v1\.cni\.cncf\.io\/networks \(network tenant\/k8snet\) ips: 10\.50\.0\.50 is already in use/);
    t.match(String(b.out.json?.['details']), /container k8s-a/, 'names the owner');
    t.equal(await ports(), before, 'nothing created');
    t.notOk(await b.ns.exec(['ls', '/sys/class/net']).then((l) => l.includes('net1')), 'no interface in the refused pod');

    await pod('outside', `[{"name":"${NETWORK}","ips":["10.51.0.5/24"]}]`);
    const o = await attach(t, daemon, 'outside');
    t.equal(o.out.json?.['code'], 7, `outside the subnet: ${o.out.stdout}`);
    t.match(String(o.out.json?.['msg']), /annotation k8s\.v1\.cni\.cncf\.io\/networks .* ips\[0\]: "10\.51\.0\.5" is outside/);
    // The allocator's rules hold for the element's ips too (issue 19 item 3).
    await pod('bcast', `[{"name":"${NETWORK}","ips":["10.50.0.9/24","10.50.0.255/24"]}]`);
    const bc = await attach(t, daemon, 'bcast');
    t.equal(bc.out.json?.['code'], 7, `the broadcast address: ${bc.out.stdout}`);
    t.match(String(bc.out.json?.['msg']), /annotation k8s\.v1\.cni\.cncf\.io\/networks \(network tenant\/k8snet\) ips\[1\]: 10\.50\.0\.255 may not be requested$/);
    t.match(String(bc.out.json?.['details']), /broadcast address of 10\.50\.0\.0\/24/);
    t.equal(await ports(), before, 'nothing created');
  });

  t.test('CSV form: a dynamic address', async (t) => {
    await pod('c', `other, ${NETWORK}`);
    const c = await attach(t, daemon, 'c');
    t.equal(c.out.exitCode, 0, c.out.stdout);
    t.match(c.ip, /^10\.50\.0\.\d+\/24$/);
    t.not(c.ip, '10.50.0.50/24');
  });

  t.test('an ADD before the watch event: one GET', async (t) => {
    await api.upsert({ namespace: 'tenant', name: 'late', uid: 'uid-late', nodeName: daemon.nodeName, annotations: { [ANNOTATION]: `[{"name":"${NETWORK}","ips":["10.50.0.70/24"]}]` } }, { hidden: true });
    const late = await attach(t, daemon, 'late');
    t.equal(late.out.exitCode, 0, late.out.stdout);
    t.equal(late.ip, '10.50.0.70/24');
    t.ok((await api.requests()).includes('GET /api/v1/namespaces/tenant/pods/late'), 'read from the API server');
    t.notOk((await api.requests()).includes('GET /api/v1/namespaces/tenant/pods/a'), 'cached pods were not');
  });

  t.test('errors', async (t) => {
    const before = await ports();
    await pod('d', `[{"name":"${NETWORK}","ips":["10.50.0.80/24"]}]`);
    const d = await attach(t, daemon, 'd', 'not-the-uid');
    t.equal(d.out.json?.['code'], 3, `wrong UID: ${d.out.stdout}`);
    t.match(String(d.out.json?.['msg']), /K8S_POD_UID not-the-uid is not the UID of pod tenant\/d/);
    await pod('bad', `[{"name":"${NETWORK}","ips":["10.50.0.300"]}]`);
    const bad = await attach(t, daemon, 'bad');
    t.equal(bad.out.json?.['code'], 7, `invalid annotation: ${bad.out.stdout}`);
    t.match(String(bad.out.json?.['msg']), /pod tenant\/bad: annotation k8s\.v1\.cni\.cncf\.io\/networks is invalid/);
    const gone = await attach(t, daemon, 'nobody');
    t.equal(gone.out.json?.['code'], 3, `no such pod: ${gone.out.stdout}`);
    t.equal(await ports(), before, 'nothing created');
  });

  t.test('without --kubeconfig the annotation is ignored', async (t) => {
    await daemon.stop();
    daemon = await startDaemon(t, sandbox);
    await pod('e', `[{"name":"${NETWORK}","ips":["10.50.0.90/24"],"mac":"0a:00:00:00:50:90"}]`);
    const requestsBefore = (await api.requests()).length;
    const e = await attach(t, daemon, 'e');
    t.equal(e.out.exitCode, 0, e.out.stdout);
    t.not(e.ip, '10.50.0.90/24', `a dynamic address (${e.ip})`);
    t.not(e.mac, '0a:00:00:00:50:90');
    t.equal((await api.requests()).length, requestsBefore, 'the API server was not asked');
  });
});
