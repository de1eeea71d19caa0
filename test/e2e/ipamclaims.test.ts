// Persistent addresses for VMs (IPAMClaims, as KubeVirt uses them), on two nodes sharing one NB
// and one fake API server: a pod whose network-selection element names an IPAMClaim, on a network
// with allowPersistentIPs, gets the claim's MAC and IPs; a new pod for the same VM on the other
// node (live migration: while the first still runs, as a standby that gets unicast only once the
// first is deleted; and after it is gone) gets the same ones; the
// claim's status carries the addresses and the owner pod; while no pod holds them, nobody else
// gets them; without allowPersistentIPs the reference is ignored; bad references are refused with
// 7 and create nothing; deleting the claim frees them (the controller's ipamclaim-release loop).
//
// The API server runs in node A's namespace, on a veth pair of its own between the two node
// namespaces (192.168.201.0/24), so both daemons reach it and no traffic leaves the test's
// namespaces. The daemons start before it is up: their list+watch retries until it is.
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { ping } from '../helpers/traffic.ts';
import { e2eSkipReason, type CniOutcome } from '../helpers/node.ts';
import { kubeconfigFor, startFakeApiServer, type FakeApi } from '../helpers/fake-apiserver.ts';
import { startTwoNodes, type ClusterNode, type TwoNodes } from '../helpers/two-nodes.ts';
import { until } from '../helpers/until.ts';
import { startController } from '../helpers/controller.ts';

const skip = e2eSkipReason();
const NETWORK = 'vmnet';
const NAMESPACE = 'vms';
// 10.70.0.0/29: five addresses a pod can get, .2 to .6 (.1 is left for a gateway, as OVN does).
const SUBNET = '10.70.0.0/29';
const API_HOST = '192.168.201.1';
const API_PORT = 6443;
const ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

interface Pod {
  ns: Netns;
  out: CniOutcome;
  ip: string;
  mac: string;
  call: { containerId: string; netns: string; ifName: string };
  node: ClusterNode;
  persistent: boolean;
}

/** The management link the API server listens on: a plain veth pair between the node namespaces. */
async function connectManagement(nodes: TwoNodes): Promise<void> {
  await nodes.a.netns.exec(['ip', 'link', 'add', 'mgmt-a', 'type', 'veth', 'peer', 'name', 'mgmt-b', 'netns', nodes.b.netns.name]);
  await nodes.a.netns.exec(['ip', 'addr', 'add', `${API_HOST}/24`, 'dev', 'mgmt-a']);
  await nodes.a.netns.exec(['ip', 'link', 'set', 'mgmt-a', 'up']);
  await nodes.b.netns.exec(['ip', 'addr', 'add', '192.168.201.2/24', 'dev', 'mgmt-b']);
  await nodes.b.netns.exec(['ip', 'link', 'set', 'mgmt-b', 'up']);
}

t.test('IPAMClaims across two nodes', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'om-claims-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigFor(`http://${API_HOST}:${API_PORT}`));
  const nodes = await startTwoNodes(t, { daemonArgs: ['--kubeconfig', kubeconfig] });
  await connectManagement(nodes);
  const api: FakeApi = await startFakeApiServer(t, { netns: nodes.a.netns.name, host: API_HOST, port: API_PORT });
  await nodes.nbctl(['ls-add', NETWORK, '--', 'set', 'logical_switch', NETWORK, `other_config:subnet=${SUBNET}`]);
  // Both daemons list+watch pods and claims once the API server is up (they retry with backoff).
  await until('both daemons watching IPAMClaims', async () => {
    const watches = (await api.requests()).filter((r) => r.startsWith('GET /apis/k8s.cni.cncf.io/v1alpha1/ipamclaims?') && r.includes('watch=true'));
    return watches.length >= 2 ? true : undefined;
  }, 30_000);

  const claim = (name: string, network = NETWORK) => api.apply('ipamclaims', { metadata: { namespace: NAMESPACE, name }, spec: { network, interface: 'net1' } });
  const reservations = async (): Promise<string> => nodes.nbctl(['get', 'logical_switch', NETWORK, 'external_ids']);

  let podCount = 0;
  async function attach(t: Test, node: ClusterNode, opts: { claim?: string; persistent?: boolean; ips?: string[] } = {}): Promise<Pod> {
    const name = `pod-${++podCount}`;
    const element: Record<string, unknown> = { name: NETWORK };
    if (opts.claim !== undefined) element['ipam-claim-reference'] = opts.claim;
    if (opts.ips !== undefined) element['ips'] = opts.ips;
    await api.upsert({ namespace: NAMESPACE, name, uid: `uid-${name}`, nodeName: node.name, annotations: { [ANNOTATION]: JSON.stringify([element]) } });
    const ns = await createNetns(t, 'omclaim');
    const call = { containerId: `c-${name}`, netns: ns.path, ifName: 'net1' };
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NAMESPACE};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}`;
    const persistent = opts.persistent ?? true;
    const config = node.config(NETWORK, persistent ? { allowPersistentIPs: true } : {});
    const out = await node.cni({ command: 'ADD', ...call, args }, config);
    t.teardown(() => node.cni({ command: 'DEL', ...call, args }, config));
    const ips = out.json?.['ips'] as Array<{ address: string }> | undefined;
    const ifaces = out.json?.['interfaces'] as Array<{ mac: string }> | undefined;
    return { ns, out, ip: ips?.[0]?.address ?? '', mac: ifaces?.[1]?.mac ?? '', call: { ...call }, node, persistent };
  }
  async function detach(t: Test, pod: Pod): Promise<void> {
    const config = pod.node.config(NETWORK, pod.persistent ? { allowPersistentIPs: true } : {});
    const out = await pod.node.cni({ command: 'DEL', ...pod.call }, config);
    t.equal(out.exitCode, 0, `DEL: ${out.stdout}${out.stderr}`);
  }
  /** ICMP echo requests the pod's namespace has received (its Icmp InEchos counter). */
  const echoesIn = async (p: Pod): Promise<number> => {
    const [names = [], values = []] = (await p.ns.exec(['cat', '/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Icmp:')).map((l) => l.split(/\s+/));
    return Number(values[names.indexOf('InEchos')]);
  };
  const claimStatus = async (name: string): Promise<unknown> => (await api.get('ipamclaims', NAMESPACE, name))?.['status'];

  // The VM's first pod lives on across the subtests (a live migration starts from it).
  const top = t;
  let first: Pod | undefined;
  t.test('the first pod of a claim gets addresses, reserved in the NB, reported in the status', async (t) => {
    await claim('vm1.vmnet');
    first = await attach(top, nodes.a, { claim: 'vm1.vmnet' });
    t.equal(first.out.exitCode, 0, first.out.stdout + first.out.stderr);
    t.match(first.ip, /^10\.70\.0\.[2-6]\/29$/);
    const ip = first.ip.split('/')[0] ?? '';
    t.match(await reservations(), `"ovn-multinet/ipam-claim:${NAMESPACE}/vm1.vmnet"="${first.mac} ${ip}"`, 'the reservation is on the switch');
    const status = await until('claim status', async () => {
      const s = await claimStatus('vm1.vmnet');
      return JSON.stringify(s)?.includes('pod-1') === true ? s : undefined;
    });
    t.same(status, { ips: [first.ip], ownerPod: { name: 'pod-1' } });
  });

  t.test('a second pod of the VM on the other node (live migration) gets the same addresses', async (t) => {
    if (first === undefined) {
      t.fail('no first pod');
      return;
    }
    const source = first;
    const client = await attach(t, nodes.a);
    const target = await attach(t, nodes.b, { claim: 'vm1.vmnet' });
    t.equal(target.out.exitCode, 0, target.out.stdout + target.out.stderr);
    t.equal(target.ip, source.ip);
    t.equal(target.mac, source.mac);
    await until('owner pod-3', async () => (JSON.stringify(await claimStatus('vm1.vmnet')).includes('pod-3') ? true : undefined));
    t.pass('the status names the new owner');

    // The target is a standby: port security, but no addresses (no L2 lookup flow) while the
    // source runs, so unicast for the VM's MAC goes to the source only.
    const lsp = (p: Pod) => nodes.nbctl(['--bare', '--columns=addresses', 'find', 'Logical_Switch_Port', `external_ids:"ovn-multinet/container-id"="${p.call.containerId}"`]);
    t.equal(await lsp(target), '', 'the target port has no addresses yet');
    t.equal(await lsp(source), `${source.mac} ${source.ip.split('/')[0] ?? ''}`);
    const ip = source.ip.split('/')[0] ?? '';
    const unicast = async (): Promise<{ source: number; target: number }> => {
      const before = [await echoesIn(source), await echoesIn(target)];
      t.ok(await ping(client.ns, ip, { count: 3 }), `the VM's IP answers`);
      return { source: (await echoesIn(source)) - (before[0] ?? 0), target: (await echoesIn(target)) - (before[1] ?? 0) };
    };
    t.same(await unicast(), { source: 3, target: 0 }, 'the source got the pings, the target none');

    // The migration is over: the source pod goes, its DEL promotes the target in the same transaction.
    await detach(t, source);
    t.equal(await lsp(target), `${target.mac} ${ip}`, 'the target port now has the addresses');
    await until('the target to get unicast', async () => ((await unicast()).target === 3 ? true : undefined), 10_000);
    t.pass('traffic for the VM goes to the target');
    await detach(t, target);
    await detach(t, client);
    t.match(await reservations(), 'ovn-multinet/ipam-claim:vms/vm1.vmnet', 'the reservation outlives the pods');
  });

  t.test('bad references are refused with 7 and create nothing', async (t) => {
    const before = await nodes.nbctl(['lsp-list', NETWORK]);
    const missing = await attach(t, nodes.a, { claim: 'nope' });
    t.equal(missing.out.json?.['code'], 7, missing.out.stdout);
    t.match(String(missing.out.json?.['msg']), /ipam-claim-reference: IPAMClaim vms\/nope does not exist/);
    await claim('other.net', 'othernet');
    const wrong = await attach(t, nodes.b, { claim: 'other.net' });
    t.equal(wrong.out.json?.['code'], 7, wrong.out.stdout);
    t.match(String(wrong.out.json?.['msg']), /IPAMClaim vms\/other\.net is for network "othernet", not "vmnet"/);
    const otherIp = first?.ip === '10.70.0.6/29' ? '10.70.0.5' : '10.70.0.6';
    const mismatch = await attach(t, nodes.a, { claim: 'vm1.vmnet', ips: [`${otherIp}/29`] });
    t.equal(mismatch.out.json?.['code'], 7, mismatch.out.stdout);
    t.match(String(mismatch.out.json?.['msg']), `ips: ${otherIp} differ from what IPAMClaim vms/vm1.vmnet holds`);
    t.equal(await nodes.nbctl(['lsp-list', NETWORK]), before, 'no logical switch port');
  });

  t.test('without allowPersistentIPs the reference is ignored', async (t) => {
    await claim('vm2.vmnet');
    const pod = await attach(t, nodes.a, { claim: 'vm2.vmnet', persistent: false });
    t.equal(pod.out.exitCode, 0, pod.out.stdout);
    t.notMatch(await reservations(), 'vm2.vmnet', 'no reservation');
    t.equal(await claimStatus('vm2.vmnet'), undefined, 'no status');
    await detach(t, pod);
  });

  t.test('while no pod holds them, the claim\'s addresses go to nobody else; its next pod gets them', async (t) => {
    if (first === undefined) {
      t.fail('no first pod');
      return;
    }
    const others: Pod[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await attach(t, i % 2 === 0 ? nodes.a : nodes.b);
      if (p.out.exitCode !== 0) {
        t.equal(p.out.json?.['code'], 102, `the pool runs out: ${p.out.stdout}`);
        break;
      }
      others.push(p);
    }
    t.equal(others.length, 4, 'the four other addresses went to other pods, then the pool ran out');
    t.notOk(others.some((p) => p.ip === first?.ip), `none of them got ${first.ip}`);
    const back = await attach(t, nodes.a, { claim: 'vm1.vmnet' });
    t.equal(back.out.exitCode, 0, back.out.stdout);
    t.equal(back.ip, first.ip, 'the VM comes back with its IP');
    t.equal(back.mac, first.mac, 'and its MAC');
    await detach(t, back);
    for (const p of others) await detach(t, p);
  });

  t.test('deleting the claim frees its addresses (the controller releases the reservation)', async (t) => {
    const controller = startController(t, { netns: nodes.a.netns.name, kubeconfig, nbDb: nodes.a.env.NB_DB, api, resyncInterval: '2s' });
    await controller.leading();
    // A full resync later, a claim that exists keeps its addresses.
    await new Promise((r) => setTimeout(r, 2500));
    t.match(await reservations(), 'ovn-multinet/ipam-claim:vms/vm1.vmnet', 'an existing claim keeps its reservation');
    await api.remove('ipamclaims', NAMESPACE, 'vm1.vmnet');
    await until('the reservation released', async () => (!(await reservations()).includes('vm1.vmnet') ? true : undefined), 10_000);
    t.notMatch(await reservations(), 'ipam-claim:vms/vm1.vmnet', 'no guard key of the claim left');
    const all: Pod[] = [];
    for (let i = 0; i < 5; i++) all.push(await attach(t, i % 2 === 0 ? nodes.a : nodes.b));
    t.same(all.map((p) => p.out.exitCode), [0, 0, 0, 0, 0], 'all five addresses can be handed out again');
    t.ok(all.some((p) => p.ip === first?.ip), `including ${first?.ip ?? '?'}`);
    for (const p of all) await detach(t, p);
  });
});
