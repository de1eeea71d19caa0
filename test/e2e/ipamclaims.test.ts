// Persistent addresses for VMs (IPAMClaims, as KubeVirt uses them), on two nodes sharing one NB
// and one fake API server: a pod whose network-selection element names an IPAMClaim, on a network
// with allowPersistentIPs, gets the claim's MAC and IPs; a new pod for the same VM on the other
// node (live migration: while the first still runs, sharing its logical switch port, which gets
// unicast to the target once the first is deleted, or at the VM's RARP: test/e2e/migration.test.ts;
// and after it is gone) gets the same ones; the
// claim's status carries the addresses and the owner pod; while no pod holds them, nobody else
// gets them; without allowPersistentIPs the reference is ignored; bad references are refused with
// 7 and create nothing; deleting the claim frees them (the controller's ipamclaim-release loop).
//
// The API server runs in node A's namespace (test/helpers/claims.ts).
import t, { type Test } from 'tap';
import { ping } from '../helpers/traffic.ts';
import { e2eSkipReason } from '../helpers/node.ts';
import { CLAIM_NAMESPACE as NAMESPACE, echoesIn, startClaimCluster, type ClaimPod as Pod } from '../helpers/claims.ts';
import { until } from '../helpers/until.ts';
import { startController } from '../helpers/controller.ts';

const skip = e2eSkipReason();
const NETWORK = 'vmnet';
// 10.70.0.0/29: five addresses a pod can get, .2 to .6 (.1 is left for a gateway, as OVN does).
const SUBNET = '10.70.0.0/29';

t.test('IPAMClaims across two nodes', { skip }, async (t) => {
  const c = await startClaimCluster(t, { network: NETWORK, subnet: SUBNET });
  const { nodes, api, kubeconfig, attach, reservations, claimStatus } = c;
  const claim = (name: string, network = NETWORK) => c.claim(name, network);
  const detach = async (t: Test, pod: Pod): Promise<void> => {
    const out = await c.del(pod);
    t.equal(out.exitCode, 0, `DEL: ${out.stdout}${out.stderr}`);
  };

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

    // The target shares the source's port (bound on both chassis); until the VM announces itself
    // there (a RARP), OVN lets nothing through to the target: unicast reaches the source only.
    const claimPorts = () => nodes.nbctl(['--bare', '--columns=addresses', 'find', 'Logical_Switch_Port', `external_ids:"ovn-multinet/ipam-claim"="${NAMESPACE}/vm1.vmnet"`]);
    t.equal(await claimPorts(), `${source.mac} ${source.ip.split('/')[0] ?? ''}`, 'one port for the claim');
    const ip = source.ip.split('/')[0] ?? '';
    const unicast = async (): Promise<{ source: number; target: number }> => {
      const before = [await echoesIn(source.ns), await echoesIn(target.ns)];
      t.ok(await ping(client.ns, ip, { count: 3 }), `the VM's IP answers`);
      return { source: (await echoesIn(source.ns)) - (before[0] ?? 0), target: (await echoesIn(target.ns)) - (before[1] ?? 0) };
    };
    t.same(await unicast(), { source: 3, target: 0 }, 'the source got the pings, the target none');

    // The migration is over: the source pod goes, its DEL hands the port over to the target.
    await detach(t, source);
    t.equal(await claimPorts(), `${target.mac} ${ip}`, 'the port stays, the target\'s now');
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

  t.test("a stopped VM's reservation the NB lacks is rebuilt by the controller from the claim's annotation", async (t) => {
    const controller = startController(t, { netns: nodes.a.netns.name, kubeconfig, nbDb: nodes.a.env.NB_DB, api, resyncInterval: '2s' });
    await controller.leading();
    await claim('vm2.vmnet');
    const vm = await attach(t, nodes.a, { claim: 'vm2.vmnet' });
    t.equal(vm.out.exitCode, 0, vm.out.stdout + vm.out.stderr);
    const ip = vm.ip.split('/')[0] ?? '';
    const recorded = await until('the reservation annotation', async () => {
      const metadata = (await api.get('ipamclaims', NAMESPACE, 'vm2.vmnet'))?.['metadata'] as { annotations?: Record<string, string> } | undefined;
      return metadata?.annotations?.['ovn-multinet.io/reservation'];
    });
    t.same(JSON.parse(recorded), { logicalSwitch: NETWORK, mac: vm.mac, ips: [vm.ip] }, 'the daemon recorded the switch, MAC and addresses on the claim');
    await detach(t, vm);
    const reservation = `"ovn-multinet/ipam-claim:${NAMESPACE}/vm2.vmnet"="${vm.mac} ${ip}"`;
    t.match(await reservations(), reservation, 'the stopped VM keeps its reservation');
    const rebuilt = (): number => controller.logs().split('\n').filter((l) => l.includes('rebuilt from its annotation') && l.includes('vm2.vmnet')).length;
    // The controller's log line may reach us after the NB change it made (its stdout is a pipe).
    const rebuiltTimes = (n: number): Promise<number> => until(`the controller's log of rebuild ${n}`, () => (rebuilt() >= n ? rebuilt() : undefined), 3000);
    t.equal(rebuilt(), 0, 'nothing to rebuild yet');

    // As an older NB would lack them: the reservation and its guard keys go, in one transaction.
    const ownKeys = [`"ovn-multinet/ipam-claim:${NAMESPACE}/vm2.vmnet"`, `"ovn-multinet/addr:${ip}"`, `"ovn-multinet/addr:${vm.mac}"`];
    await nodes.nbctl(['remove', 'logical_switch', NETWORK, 'external_ids', ...ownKeys]);
    const start = Date.now();
    const back = await until('the reservation rebuilt', async () => ((await reservations()).includes(reservation) ? Date.now() - start : undefined), 10_000);
    t.ok(back <= 5000, `rebuilt ${back} ms after it went (≤ 5 s)`);
    t.equal(await rebuiltTimes(1), 1, 'by the controller');
    t.match(await reservations(), `"ovn-multinet/addr:${ip}"="ipam-claim:${NAMESPACE}/vm2.vmnet"`, 'with its guard keys');
    const thief = await attach(t, nodes.b, { persistent: false, ips: [vm.ip] });
    t.equal(thief.out.json?.['code'], 103, `another pod asking for ${vm.ip} is refused: ${thief.out.stdout}`);
    const next = await attach(t, nodes.b, { claim: 'vm2.vmnet' });
    t.equal(next.out.exitCode, 0, next.out.stdout + next.out.stderr);
    t.equal(next.ip, vm.ip, "the claim's next pod gets its address");
    t.equal(next.mac, vm.mac, 'and its MAC');
    await detach(t, next);

    // Lost again while another port took the address (as an older NB gave it out): never taken back.
    await nodes.nbctl(['remove', 'logical_switch', NETWORK, 'external_ids', ...ownKeys, '--',
      'lsp-add', NETWORK, 'intruder', '--', 'set', 'logical_switch_port', 'intruder', `addresses="0a:00:00:00:00:fe ${ip}"`, '--',
      'set', 'logical_switch', NETWORK, `external_ids:"ovn-multinet/addr:${ip}"="port:intruder"`]);
    t.teardown(() => nodes.nbctl(['--if-exists', 'lsp-del', 'intruder']));
    const warned = await until('the warning', () => controller.logs().split('\n').find((l) => l.includes('is not rebuilt') && l.includes('vm2.vmnet')), 10_000);
    t.match(warned, `${ip} is held by port:intruder`, `logged, naming the holder: ${warned}`);
    await new Promise((r) => setTimeout(r, 2500));
    t.notMatch(await reservations(), `ipam-claim:${NAMESPACE}/vm2.vmnet`, 'not rebuilt, a resync later');
    t.match(await reservations(), `"ovn-multinet/addr:${ip}"="port:intruder"`, "the intruder's guard key is untouched");
    // Once the address is free again, the reservation is rebuilt.
    await nodes.nbctl(['lsp-del', 'intruder', '--', 'remove', 'logical_switch', NETWORK, 'external_ids', `"ovn-multinet/addr:${ip}"`]);
    await until('rebuilt once the address is free', async () => ((await reservations()).includes(reservation) ? true : undefined), 10_000);
    t.equal(await rebuiltTimes(2), 2, 'by the controller again');

    // A switch no Network admits the claim's namespace on (as when the annotation names another
    // tenant's switch): nothing is reserved there.
    await api.upsertNetwork({ name: NETWORK, logicalSwitch: NETWORK, namespaceSelector: { matchLabels: { tenant: 'other' } } });
    t.teardown(() => api.upsertNetwork({ name: NETWORK, logicalSwitch: NETWORK, namespaceSelector: {} }));
    await nodes.nbctl(['remove', 'logical_switch', NETWORK, 'external_ids', ...ownKeys]);
    const refused = await until('the warning', () => controller.logs().split('\n').find((l) => l.includes('no Network admits namespace vms')), 10_000);
    t.match(refused, 'vm2.vmnet', `logged: ${refused}`);
    await new Promise((r) => setTimeout(r, 2500));
    t.notMatch(await reservations(), `ipam-claim:${NAMESPACE}/vm2.vmnet`, 'not rebuilt on a switch the namespace may not use');
    await api.upsertNetwork({ name: NETWORK, logicalSwitch: NETWORK, namespaceSelector: {} });
    await until('rebuilt once a Network admits the namespace', async () => ((await reservations()).includes(reservation) ? true : undefined), 10_000);
    t.equal(await rebuiltTimes(3), 3, 'by the controller');
  });
});
