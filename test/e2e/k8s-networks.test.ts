// Network objects (networks.ovn-multinet.io) restrict which namespaces may attach: with
// --kubeconfig the daemon watches Networks and Namespaces; an ADD for a pod whose namespace the
// Network of the same name does not select is refused with 7 before anything is created. A
// network without a Network object attaches by its config, as before.
//
// The fake API server runs inside the sandbox's network namespace, like in k8s.test.ts.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome } from '../helpers/node.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';

const skip = e2eSkipReason();

t.test('Network namespaceSelector', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  for (const [sw, subnet] of [['red', '10.60.0.0/24'], ['blue', '10.61.0.0/24']] as const) {
    await sandbox.nbctl(['ls-add', sw, '--', 'set', 'logical_switch', sw, `other_config:subnet=${subnet}`]);
  }
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  await api.upsertNetwork({ name: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  await api.upsertNamespace({ name: 'tenant-a', labels: { team: 'a' } });
  await api.upsertNamespace({ name: 'tenant-b', labels: { team: 'b' } });
  const daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });

  async function attach(t: Test, network: string, namespace: string, name: string): Promise<{ ns: Netns; out: CniOutcome }> {
    await api.upsert({ namespace, name, uid: `uid-${name}`, nodeName: daemon.nodeName });
    const ns = await createNetns(t);
    const config = { cniVersion: '1.1.0', name: network, type: 'ovn-multinet', socket: daemon.socket };
    const call = { containerId: `k8s-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}` };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, config);
    if (out.exitCode === 0) t.teardown(() => runCni(sandbox, { command: 'DEL', ...call }, config));
    return { ns, out };
  }
  const ports = async (sw: string): Promise<number> => (await sandbox.nbctl(['lsp-list', sw])).split('\n').filter((l) => l.trim() !== '').length;

  t.test('a selected namespace attaches', async (t) => {
    const a = await attach(t, 'red', 'tenant-a', 'pod-a');
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.match(await a.ns.exec(['ip', '-o', 'addr', 'show', 'net1']), /inet 10\.60\.0\.\d+\/24/);
  });

  t.test('a namespace not selected is refused, nothing created', async (t) => {
    const before = await ports('red');
    const b = await attach(t, 'red', 'tenant-b', 'pod-b');
    t.equal(b.out.exitCode, 1, b.out.stderr);
    t.equal(b.out.json?.['code'], 7, b.out.stdout);
    t.equal(b.out.json?.['msg'], 'network red: namespace tenant-b is not selected by its namespaceSelector');
    t.match(String(b.out.json?.['details']), /"team":"b"/);
    t.equal(await ports('red'), before, 'no logical switch port');
    t.notOk((await b.ns.exec(['ls', '/sys/class/net'])).includes('net1'), 'no interface in the pod');
  });

  t.test('a relabelled namespace (watch event) lets the next ADD through', async (t) => {
    await api.upsertNamespace({ name: 'tenant-b', labels: { team: 'a' } });
    let b: { ns: Netns; out: CniOutcome } | undefined;
    // The watch event races the ADD; a refused ADD creates nothing, so retrying is safe.
    for (let i = 0; i < 20; i++) {
      b = await attach(t, 'red', 'tenant-b', `pod-b2-${i}`);
      if (b.out.exitCode === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(b?.out.exitCode, 0, b?.out.stdout ?? '');
    const requests = await api.requests();
    t.notOk(requests.some((r) => /^GET \/api\/v1\/namespaces\/tenant-[ab]$/.test(r)), 'namespaces came from the cache, not a GET');
  });

  t.test('a network without a Network object attaches by its config', async (t) => {
    await api.upsertNamespace({ name: 'tenant-c', labels: { team: 'c' } });
    const c = await attach(t, 'blue', 'tenant-c', 'pod-c');
    t.equal(c.out.exitCode, 0, c.out.stdout);
    t.match(await c.ns.exec(['ip', '-o', 'addr', 'show', 'net1']), /inet 10\.61\.0\.\d+\/24/);
  });
});
