// ovn-multinet as another plugin's IPAM: Debian's reference macvlan plugin, exec'd as a runtime
// does in each node's namespace of the two-node harness, execs our compiled executable for
// `"ipam": {"type": "ovn-multinet"}`. The macvlan master on each node is one end of a veth pair
// made between the two node namespaces (pod traffic stays inside the namespaces the test makes).
// Addresses come from an OVN logical switch, cluster-wide; the NB record changes no forwarding on
// the switch; DEL, a dead pod and GC free them; static ips are honoured; bad configs are refused
// naming the field and leave nothing behind.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { CNI_BINARY, e2eSkipReason, type CniOutcome } from '../helpers/node.ts';
import { ping } from '../helpers/traffic.ts';
import { ipOf, startTwoNodes, type ClusterNode, type TwoNodes } from '../helpers/two-nodes.ts';
import { until } from '../helpers/until.ts';

const MACVLAN = '/usr/lib/cni/macvlan';
const skip = e2eSkipReason() || (existsSync(MACVLAN) ? false : `needs ${MACVLAN} (containernetworking-plugins)`);
const NETWORK = 'mvnet';
const SWITCH = 'ls-mvnet';
const SUBNET = '10.77.0.0/24';
// macvlan finds its IPAM plugin in CNI_PATH, as it would in /opt/cni/bin.
const CNI_PATH = `${dirname(CNI_BINARY)}:${dirname(MACVLAN)}`;
// A reconciler that runs all the time with a short grace: a dead pod goes within seconds, and a
// pass that would free a live pod's address happens inside the test.
const DAEMON_ARGS = ['--reconcile-interval', '200', '--reconcile-grace', '1500'];
const IFNAME = 'net1';

const masterOf = (node: ClusterNode): string => `mvl-${node.id}`;

function macvlanConfig(node: ClusterNode, ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'macvlan',
    master: masterOf(node),
    mode: 'bridge',
    ipam: { type: 'ovn-multinet', logicalSwitch: SWITCH, socket: node.daemon.socket, ...ipam },
    ...extra,
  };
}

interface Pod {
  node: ClusterNode;
  id: string;
  ns: Netns;
  add: CniOutcome;
  ip: string;
}

/** macvlan ADD, exactly as a runtime runs it; a DEL is armed at teardown. */
async function attach(t: Test, node: ClusterNode, id: string, opts: { ns?: Netns; ipam?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Promise<Pod> {
  const ns = opts.ns ?? (await createNetns(t, 'ommv'));
  const config = macvlanConfig(node, opts.ipam, opts.extra);
  const call = { plugin: MACVLAN, path: CNI_PATH, containerId: id, netns: ns.path, ifName: IFNAME };
  const add = await node.cni({ command: 'ADD', ...call }, config);
  t.teardown(() => node.cni({ command: 'DEL', ...call }, config));
  return { node, id, ns, add, ip: ipOf(add) };
}

function macvlanDel(pod: Pod, config = macvlanConfig(pod.node)): Promise<CniOutcome> {
  return pod.node.cni({ command: 'DEL', plugin: MACVLAN, path: CNI_PATH, containerId: pod.id, netns: pod.ns.path, ifName: IFNAME }, config);
}

/** The IPAM records (logical switch ports) of a container, as ovn-nbctl lists them. */
async function recordOf(nodes: TwoNodes, containerId: string): Promise<Record<string, string> | undefined> {
  const out = await nodes.nbctl(['--format=json', '--columns=name,addresses,port_security,enabled,external_ids', 'find', 'Logical_Switch_Port', `external_ids:"ovn-multinet/container-id"="${containerId}"`]);
  const parsed = JSON.parse(out) as { headings: string[]; data: unknown[][] };
  const [row] = parsed.data;
  if (row === undefined) return undefined;
  return Object.fromEntries(parsed.headings.map((h, i) => [h, JSON.stringify(row[i])]));
}

/** The guard keys on the switch, `ovn-multinet/addr:<address>` = holder. */
async function guardKeys(nodes: TwoNodes): Promise<string[]> {
  const out = await nodes.nbctl(['--bare', '--columns=external_ids', 'list', 'Logical_Switch', SWITCH]);
  return out.split(/\s+/).filter((kv) => kv.startsWith('ovn-multinet/addr:'));
}

async function ipamRecords(nodes: TwoNodes): Promise<string[]> {
  const out = await nodes.nbctl(['--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'external_ids:"ovn-multinet/ipam-only"!=""']);
  return out.split('\n').filter((s) => s !== '');
}

function codeOf(outcome: CniOutcome): unknown {
  return outcome.json?.['code'];
}

t.test('macvlan with ovn-multinet IPAM on two nodes', { skip }, async (t) => {
  const nodes = await startTwoNodes(t, { daemonArgs: DAEMON_ARGS });
  const { a, b } = nodes;
  await nodes.nbctl(['ls-add', SWITCH, '--', 'set', 'logical_switch', SWITCH, `other_config:subnet=${SUBNET}`]);
  // The macvlan masters: a veth pair between the two node namespaces, nothing else on it.
  await a.netns.exec(['ip', 'link', 'add', masterOf(a), 'type', 'veth', 'peer', 'name', masterOf(b), 'netns', b.netns.name]);
  for (const node of nodes.nodes) await node.netns.exec(['ip', 'link', 'set', masterOf(node), 'up']);

  t.test('ADD through macvlan on both nodes: an IPAM result, an NB record that changes no forwarding, pods ping', async (t) => {
    const pa = await attach(t, a, 'mv-pa');
    const pb = await attach(t, b, 'mv-pb');
    for (const p of [pa, pb]) t.equal(p.add.exitCode, 0, `ADD on ${p.node.name}: ${p.add.stdout}${p.add.stderr}`);
    t.match(pa.add.json, { cniVersion: '1.0.0', interfaces: [{ name: IFNAME, sandbox: pa.ns.path }], ips: [{ address: /^10\.77\.0\.\d+\/24$/, interface: 0 }] }, 'macvlan\'s result with our address');
    t.not(pa.ip, pb.ip, 'distinct addresses on the two nodes');
    t.match(await pa.ns.exec(['ip', '-o', '-4', 'addr', 'show', IFNAME]), `${pa.ip}/24`, 'macvlan put the address on its interface');

    const record = await recordOf(nodes, 'mv-pa');
    t.ok(record, 'the address is recorded in the NB');
    t.match(record, { addresses: '["set",[]]', port_security: '["set",[]]', enabled: 'false' }, 'no addresses, no port security, enabled=false');
    t.match(record?.['external_ids'], `"ovn-multinet/ipam-only","${pa.ip}"`, 'the IPs it holds');
    t.match(record?.['external_ids'], `"ovn-multinet/node","${a.name}"`, 'owned by node A');
    t.match(record?.['external_ids'], '"ovn-multinet/netns-id"', 'the netns identity for the liveness rule');
    t.ok((await guardKeys(nodes)).includes(`ovn-multinet/addr:${pa.ip}=port:${JSON.parse(record?.['name'] ?? '""') as string}`), 'the guard key holds the address cluster-wide');
    await nodes.nbctl(['--wait=sb', 'sync']);
    const flows = await nodes.sbctl(['lflow-list', SWITCH]);
    t.notOk(flows.includes(pa.ip) || flows.includes(pb.ip), 'no logical flow names the pods\' addresses (no ARP responder, no L2 lookup)');
    const flood = await nodes.sbctl(['--bare', '--columns=ports', 'find', 'Multicast_Group', 'name=_MC_flood']);
    t.equal(flood, '', 'the records are in no flood group');

    t.ok(await ping(pa.ns, pb.ip), `${pa.ip} (A) pings ${pb.ip} (B) over macvlan`);
    t.ok(await ping(pb.ns, pa.ip), `${pb.ip} (B) pings ${pa.ip} (A) over macvlan`);

    const check = await a.cni({ command: 'CHECK', plugin: MACVLAN, path: CNI_PATH, containerId: pa.id, netns: pa.ns.path, ifName: IFNAME }, macvlanConfig(a, {}, { prevResult: pa.add.json }));
    t.equal(check.exitCode, 0, `CHECK through macvlan: ${check.stdout}${check.stderr}`);

    for (const p of [pa, pb]) {
      for (const round of [1, 2]) {
        const del = await macvlanDel(p);
        t.equal(del.exitCode, 0, `DEL ${round} on ${p.node.name}: ${del.stdout}${del.stderr}`);
      }
    }
    t.same(await ipamRecords(nodes), [], 'no record left');
    t.same(await guardKeys(nodes), [], 'no guard key left');
  });

  t.test('20 concurrent ADDs across both nodes: all succeed with distinct addresses; DEL frees all', async (t) => {
    const pods = await Promise.all(Array.from({ length: 20 }, (_, i) => attach(t, i % 2 === 0 ? a : b, `mv-conc-${i}`)));
    for (const p of pods) t.equal(p.add.exitCode, 0, `ADD ${p.id} on ${p.node.name}: ${p.add.stdout}${p.add.stderr}`);
    const ips = pods.map((p) => p.ip);
    t.equal(new Set(ips).size, 20, `20 distinct addresses: ${ips.join(' ')}`);
    t.equal((await ipamRecords(nodes)).length, 20, '20 records in the NB');
    t.equal((await guardKeys(nodes)).length, 20, 'one guard key per address');
    const dels = await Promise.all(pods.map((p) => macvlanDel(p)));
    dels.forEach((d, i) => t.equal(d.exitCode, 0, `DEL ${pods[i]?.id}: ${d.stdout}`));
    t.same(await ipamRecords(nodes), [], 'no record left');
    t.same(await guardKeys(nodes), [], 'no guard key left');
  });

  t.test('static ips are honoured; taken ones are refused (103); DEL frees the address for the next ADD', async (t) => {
    const wanted = '10.77.0.50';
    const extra = { capabilities: { ips: true }, runtimeConfig: { ips: [`${wanted}/24`] } };
    const first = await attach(t, a, 'mv-static-1', { extra });
    t.equal(first.add.exitCode, 0, first.add.stdout);
    t.equal(first.ip, wanted, 'the static address asked for');
    const second = await attach(t, b, 'mv-static-2', { extra });
    t.equal(second.add.exitCode, 1, 'the same address on the other node is refused');
    t.equal(codeOf(second.add), 103, 'code 103');
    t.match(second.add.json?.['msg'], 'runtimeConfig.ips', 'naming the field');
    t.equal(await recordOf(nodes, 'mv-static-2'), undefined, 'the refused ADD left no record');
    // (Debian's macvlan 1.1.1 itself leaves its interface in the pod netns when its IPAM call
    // fails, as measured here: not ours to test.)
    t.equal((await macvlanDel(first)).exitCode, 0, 'DEL of the first');
    const third = await attach(t, b, 'mv-static-3', { extra });
    t.equal(third.add.exitCode, 0, third.add.stdout);
    t.equal(third.ip, wanted, 'the freed address is given to the next ADD');
    t.equal((await macvlanDel(third)).exitCode, 0);
  });

  t.test('called as the IPAM plugin directly: ADD twice gives the same result, CHECK, DEL twice', async (t) => {
    const ns = await createNetns(t, 'ommv');
    // The calling plugin's interface (the liveness rule looks for it); no dummy module here.
    await ns.exec(['ip', 'link', 'add', IFNAME, 'type', 'veth', 'peer', 'name', `${IFNAME}p`]);
    const config = macvlanConfig(b, { routes: [{ dst: '10.99.0.0/16' }], dns: { nameservers: ['10.77.0.53'] } });
    const call = { path: CNI_PATH, containerId: 'mv-direct', netns: ns.path, ifName: IFNAME };
    t.teardown(() => b.cni({ command: 'DEL', ...call }, config));
    const add1 = await b.cni({ command: 'ADD', ...call }, config);
    const add2 = await b.cni({ command: 'ADD', ...call }, config);
    t.equal(add1.exitCode, 0, add1.stdout);
    t.same(add1.json, {
      cniVersion: '1.0.0',
      ips: [{ address: `${ipOf(add1)}/24` }],
      routes: [{ dst: '10.99.0.0/16' }],
      dns: { nameservers: ['10.77.0.53'] },
    }, 'an IPAM result: no interfaces, no interface index');
    t.equal(add2.stdout, add1.stdout, 'ADD again prints the same result');
    const check = await b.cni({ command: 'CHECK', ...call }, { ...config, prevResult: add1.json });
    t.equal(check.exitCode, 0, `CHECK: ${check.stdout}`);
    const wrong = await b.cni({ command: 'CHECK', ...call }, { ...config, prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.77.0.250/24' }] } });
    t.equal(codeOf(wrong), 101, `CHECK with an address it does not hold: 101 (${wrong.stdout})`);
    for (const round of [1, 2]) {
      const del = await b.cni({ command: 'DEL', ...call }, config);
      t.equal(del.exitCode, 0, `DEL ${round}: ${del.stdout}`);
    }
    t.equal(await recordOf(nodes, 'mv-direct'), undefined, 'no record left');
    const check2 = await b.cni({ command: 'CHECK', ...call }, { ...config, prevResult: add1.json });
    t.equal(codeOf(check2), 101, 'CHECK after DEL: 101');
  });

  t.test('a dead pod (netns deleted, no DEL) is freed by the reconciler; a live one is kept', async (t) => {
    const live = await attach(t, a, 'mv-live');
    const dead = await attach(t, b, 'mv-dead');
    t.equal(dead.add.exitCode, 0, dead.add.stdout);
    t.equal(live.add.exitCode, 0, live.add.stdout);
    await dead.ns.remove();
    await until('the reconciler to remove the dead pod\'s record', async () => ((await recordOf(nodes, 'mv-dead')) === undefined ? true : undefined), 15_000);
    t.equal(await recordOf(nodes, 'mv-dead'), undefined, 'the dead pod\'s record is removed');
    t.notOk((await guardKeys(nodes)).some((k) => k.startsWith(`ovn-multinet/addr:${dead.ip}=`)), 'and its address freed');
    t.ok(b.daemon.logs.some((l) => l['msg'] === 'reconciler removed attachment' && l['containerId'] === 'mv-dead'), 'the reconciler says so');
    t.ok(await recordOf(nodes, 'mv-live'), 'the live pod keeps its record through many passes');
    const reuse = await attach(t, a, 'mv-reuse', { extra: { runtimeConfig: { ips: [`${dead.ip}/24`] } } });
    t.equal(reuse.add.exitCode, 0, `the freed address can be asked for again: ${reuse.add.stdout}`);
    for (const p of [live, reuse]) t.equal((await macvlanDel(p)).exitCode, 0);
  });

  t.test('GC (cni.dev/valid-attachments) removes the records no longer listed', async (t) => {
    const keep = await attach(t, a, 'mv-gc-keep');
    const drop = await attach(t, a, 'mv-gc-drop');
    t.equal(keep.add.exitCode + drop.add.exitCode, 0);
    const gc = await a.cni(
      { command: 'GC', path: CNI_PATH },
      { ...macvlanConfig(a), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'mv-gc-keep', ifname: IFNAME }] },
    );
    t.equal(gc.exitCode, 0, `GC: ${gc.stdout}`);
    t.equal(await recordOf(nodes, 'mv-gc-drop'), undefined, 'the unlisted attachment\'s record is gone');
    t.ok(await recordOf(nodes, 'mv-gc-keep'), 'the listed one stays');
    t.equal((await macvlanDel(keep)).exitCode, 0);
  });

  t.test('bad ipam configs: the right code naming the field, nothing left in the NB', async (t) => {
    const switchesBefore = await nodes.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch']);
    const rows: Array<{ name: string; ipam: Record<string, unknown>; code: number; field: string }> = [
      { name: 'unknown switch', ipam: { logicalSwitch: 'no-such-switch' }, code: 7, field: 'ipam.logicalSwitch' },
      { name: 'bad managed subnet', ipam: { logicalSwitch: 'mv-managed', topology: 'layer2', subnets: ['10.78.0.0/33'] }, code: 7, field: 'ipam.subnets[0]' },
      { name: 'a setting of the plugin', ipam: { mtu: 1400 }, code: 7, field: 'ipam.mtu' },
      { name: 'switch without a subnet', ipam: { logicalSwitch: 'mv-l2only' }, code: 7, field: 'ipam.logicalSwitch' },
    ];
    await nodes.nbctl(['ls-add', 'mv-l2only']);
    for (const row of rows) {
      const pod = await attach(t, a, `mv-bad-${rows.indexOf(row)}`, { ipam: row.ipam });
      t.equal(pod.add.exitCode, 1, `${row.name}: ADD fails`);
      t.equal(codeOf(pod.add), row.code, `${row.name}: code ${row.code}`);
      t.match(pod.add.json?.['msg'], row.field, `${row.name}: names ${row.field} (${String(pod.add.json?.['msg'])})`);
      t.equal(await recordOf(nodes, pod.id), undefined, `${row.name}: no record`);
    }
    await nodes.nbctl(['ls-del', 'mv-l2only']);
    t.equal(await nodes.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch']), switchesBefore, 'no switch made');
    t.same(await ipamRecords(nodes), [], 'no record at all');
    t.same(await guardKeys(nodes), [], 'no guard key at all');
  });
});
