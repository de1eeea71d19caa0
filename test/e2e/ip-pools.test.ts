// IP pools (issue 23 item 2), with the daemon, the executable, real OVS/OVN and the fake API
// server (inside the sandbox's network namespace, as in k8s-networks.test.ts): a pod of a
// namespace a pool selects gets its address in the pool and its port names the pool; a pod a
// podSelector selects gets its own pool's; a pod no pool serves gets one outside every pool and
// outside the reserved range (the lowest free address, after it); a static request into another
// pool's range or a reserved one is refused with 7 naming the field; an exhausted pool refuses
// with 102 naming the pool and the network and leaves nothing behind; the controller writes each
// pool's usage and conditions (an overlapping pool not accepted), and a DEL frees the address in
// the status; two daemons allocating from one pool at once never hand out one address twice; a
// daemon restart changes nothing (repeated ADDs of the pool's pods give the same addresses).
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome, type DaemonProcess } from '../helpers/node.ts';
import { startSandbox, type Sandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer, type FakeApi } from '../helpers/fake-apiserver.ts';
import { startController } from '../helpers/controller.ts';
import { nodeState } from '../helpers/leftovers.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();

interface Attached {
  ns: Netns;
  out: CniOutcome;
  /** The address the ADD gave (without the prefix length). */
  ip: string | undefined;
  del: () => Promise<CniOutcome>;
  /** The same ADD again. */
  again: () => Promise<CniOutcome>;
}

const plugin = { cniVersion: '1.1.0', name: 'pooled', type: 'ovn-multinet', logicalSwitch: 'pooled' };
const ipamOnly = { cniVersion: '1.0.0', name: 'pooled', type: 'macvlan', ipam: { type: 'ovn-multinet', logicalSwitch: 'pooled' } };

function harness(sandbox: Sandbox, api: FakeApi) {
  let pods = 0;
  /** A pod of `namespace` (with `labels`) on `daemon`'s node, ADDed with `config`; a DEL armed at teardown when it worked. */
  async function attach(t: Test, daemon: DaemonProcess, namespace: string, config: Record<string, unknown>, labels?: Record<string, string>): Promise<Attached> {
    const name = `pod-${++pods}`;
    await api.upsert({ namespace, name, uid: `uid-${name}`, nodeName: daemon.nodeName, ...(labels === undefined ? {} : { labels }) });
    const ns = await createNetns(t);
    const ipam = config['ipam'];
    const full = typeof ipam === 'object' && ipam !== null ? { ...config, ipam: { ...ipam, socket: daemon.socket } } : { ...config, socket: daemon.socket };
    const call = { containerId: `k8s-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}` };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, full);
    const del = (): Promise<CniOutcome> => runCni(sandbox, { command: 'DEL', ...call }, full);
    const again = (): Promise<CniOutcome> => runCni(sandbox, { command: 'ADD', ...call }, full);
    if (out.exitCode === 0) t.teardown(del);
    const ips = out.json?.['ips'];
    const first: unknown = Array.isArray(ips) ? ips[0] : undefined;
    const address = typeof first === 'object' && first !== null && 'address' in first ? String(first.address) : undefined;
    return { ns, out, ip: address?.split('/')[0], del, again };
  }
  return { attach };
}

/** The last octet of an address of 10.70.0.0/24. */
const octet = (ip: string | undefined): number => Number(ip?.split('.')[3] ?? NaN);

async function portPool(sandbox: Sandbox, ip: string): Promise<string> {
  const rows = await sandbox.nbctl(['--bare', '--columns=external_ids,addresses', 'list', 'Logical_Switch_Port']);
  const row = rows.split('\n\n').find((r) => r.includes(` ${ip}`) || r.includes(`${ip}\n`) || r.endsWith(ip));
  return /ovn-multinet\/ip-pool=(\S+)/.exec(row ?? '')?.[1] ?? '';
}

t.test('IP pools on one switch', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  await sandbox.nbctl(['ls-add', 'pooled', '--', 'set', 'logical_switch', 'pooled', 'other_config:subnet=10.70.0.0/24']);
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  for (const team of ['a', 'b', 'c']) await api.upsertNamespace({ name: `tenant-${team}`, labels: { team } });
  await api.upsertNetwork({ name: 'pooled', logicalSwitch: 'pooled', namespaceSelector: {} });
  const ippool = (name: string, spec: Record<string, unknown>) => api.apply('ippools', { metadata: { name }, spec: { network: 'pooled', ...spec } });
  await ippool('a-pool', { ranges: ['10.70.0.16/30'], namespaceSelector: { matchLabels: { team: 'a' } } });
  await ippool('db-pool', { ranges: ['10.70.0.32-10.70.0.35'], podSelector: { matchLabels: { app: 'db' } } });
  await ippool('infra', { ranges: ['10.70.0.2-10.70.0.9'], reserved: true });
  // Overlaps the reserved range: not accepted, so it serves nobody (tenant-b gets the general range).
  await ippool('b-overlap', { ranges: ['10.70.0.8/29'], namespaceSelector: { matchLabels: { team: 'b' } } });
  await ippool('race', { ranges: ['10.70.0.64/29'], namespaceSelector: { matchLabels: { team: 'c' } } });
  let daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });
  const { attach } = harness(sandbox, api);
  const tenantA: Attached[] = [];

  await t.test('a pod no pool serves: outside every pool and the reserved range', async (t) => {
    const first = await attach(t, daemon, 'tenant-b', plugin);
    t.equal(first.out.exitCode, 0, first.out.stdout);
    t.equal(first.ip, '10.70.0.10', 'the lowest free address after the reserved 10.70.0.2-9 (10.70.0.1 is left for a gateway)');
    t.match(await first.ns.exec(['ip', '-o', 'addr', 'show', 'net1']), /inet 10\.70\.0\.10\/24/);
    t.equal(await portPool(sandbox, '10.70.0.10'), '', 'no pool on its port');
  });

  // tenant-a's pods live until the end (attached under the top test): the pool fills up.
  const top = t;
  await t.test('a pod of a selected namespace: in its pool, its port names the pool', async (t) => {
    const a = await attach(top, daemon, 'tenant-a', plugin);
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.ok(octet(a.ip) >= 16 && octet(a.ip) <= 19, `${a.ip ?? 'none'} in 10.70.0.16/30`);
    t.equal(await portPool(sandbox, a.ip ?? ''), 'a-pool');
    tenantA.push(a);
  });

  await t.test('a pod a podSelector selects: in that pool; another pod of the namespace is not', async (t) => {
    const db = await attach(top, daemon, 'tenant-b', plugin, { app: 'db' });
    t.equal(db.out.exitCode, 0, db.out.stdout);
    t.ok(octet(db.ip) >= 32 && octet(db.ip) <= 35, `${db.ip ?? 'none'} in 10.70.0.32-35`);
    const web = await attach(t, daemon, 'tenant-b', plugin, { app: 'web' });
    t.equal(web.out.exitCode, 0, web.out.stdout);
    t.ok(octet(web.ip) > 10 && (octet(web.ip) < 16 || (octet(web.ip) > 19 && octet(web.ip) < 32) || octet(web.ip) > 35), `${web.ip ?? 'none'} outside every pool`);
  });

  await t.test('static requests into a reserved range or another pool: 7 naming the field, nothing made', async (t) => {
    for (const [ip, reason] of [['10.70.0.3', /reserved by IPPool infra/], ['10.70.0.17', /in IPPool a-pool .*does not serve this pod/]] as const) {
      const before = await nodeState(sandbox);
      const r = await attach(t, daemon, 'tenant-b', { ...plugin, runtimeConfig: { ips: [`${ip}/24`] } });
      t.equal(r.out.exitCode, 1, r.out.stdout);
      t.equal(r.out.json?.['code'], 7, r.out.stdout);
      t.match(r.out.json?.['msg'], `runtimeConfig.ips[0]: ${ip} may not be requested`);
      t.match(r.out.json?.['details'], reason);
      t.same(await nodeState(sandbox), before, 'nothing made');
    }
  });

  await t.test('an exhausted pool: 102 naming the pool and the network, nothing made', async (t) => {
    for (let i = 0; i < 3; i++) {
      const a = await attach(top, daemon, 'tenant-a', plugin);
      t.equal(a.out.exitCode, 0, a.out.stdout);
      tenantA.push(a);
    }
    t.same(tenantA.map((a) => octet(a.ip)).sort(), [16, 17, 18, 19], 'the whole pool, once each');
    const before = await nodeState(sandbox);
    const refused = await attach(t, daemon, 'tenant-a', plugin);
    t.equal(refused.out.exitCode, 1, refused.out.stdout);
    t.equal(refused.out.json?.['code'], 102, refused.out.stdout);
    t.match(refused.out.json?.['msg'], 'IPPool a-pool of network pooled has no free address left');
    t.same(await nodeState(sandbox), before, 'nothing made: no logical switch port, address guard, br-int port or veth');
    t.same((await refused.ns.exec(['ls', '/sys/class/net'])).split(/\s+/).filter((l) => l !== ''), ['lo'], 'no interface in the pod');
  });

  await t.test('two daemons allocating from one pool at once never collide', async (t) => {
    const second = await startDaemon(t, sandbox, { nodeName: 'node-b', extraArgs: ['--kubeconfig', api.kubeconfig] });
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => attach(top, i % 2 === 0 ? daemon : second, 'tenant-c', ipamOnly)));
    const given = outcomes.filter((o) => o.out.exitCode === 0).map((o) => o.ip ?? '');
    const refused = outcomes.filter((o) => o.out.exitCode !== 0);
    t.equal(given.length, 8, 'the pool holds 8 addresses');
    t.same([...given.map(octet)].sort((a, b) => a - b), [64, 65, 66, 67, 68, 69, 70, 71], 'each address of 10.70.0.64/29 given once');
    t.same(refused.map((o) => o.out.json?.['code']), [102, 102, 102, 102], 'the others: pool exhausted');
  });

  await t.test('a daemon restart disturbs nothing: a repeated ADD of a pool pod gives the same address', async (t) => {
    const socket = daemon.socket;
    await daemon.stop();
    daemon = await startDaemon(top, sandbox, { socket, extraArgs: ['--kubeconfig', api.kubeconfig] });
    const before = await nodeState(sandbox);
    for (const a of tenantA) {
      const out = await a.again();
      t.equal(out.exitCode, 0, out.stdout);
      t.same(out.json?.['ips'], a.out.json?.['ips'], `${a.ip ?? ''} again`);
    }
    t.same(await nodeState(sandbox), before, 'nothing made or removed');
  });

  await t.test('the controller writes usage and conditions; a DEL frees the address in the status', async (t) => {
    const controller = startController(t, { netns: sandbox.env.SANDBOX_NETNS, kubeconfig: api.kubeconfig, nbDb: sandbox.env.NB_DB, api });
    await controller.leading();
    const status = async (name: string): Promise<Record<string, unknown> | undefined> => (await api.get('ippools', undefined, name))?.['status'] as Record<string, unknown> | undefined;
    const condition = (s: Record<string, unknown> | undefined, type: string): Record<string, unknown> | undefined =>
      (s?.['conditions'] as Array<Record<string, unknown>> | undefined)?.find((c) => c['type'] === type);
    const exhausted = await until('a-pool status', async () => {
      const s = await status('a-pool');
      return condition(s, 'Ready')?.['reason'] === 'Exhausted' ? s : undefined;
    }, 20_000);
    t.same(exhausted['usage'], [{ family: 'IPv4', capacity: 4, used: 4 }]);
    t.match(condition(exhausted, 'Accepted'), { status: 'True', reason: 'Accepted' });
    // Each pool's status is written in turn: wait for each to settle.
    const settled = (name: string, reason: string): Promise<Record<string, unknown>> =>
      until(`${name} status`, async () => {
        const s = await status(name);
        return condition(s, reason === 'Overlaps' ? 'Accepted' : 'Ready')?.['reason'] === reason ? s : undefined;
      }, 20_000);
    t.same((await settled('race', 'Exhausted'))['usage'], [{ family: 'IPv4', capacity: 8, used: 8 }], 'the race: all 8 taken');
    t.same((await settled('infra', 'Reserved'))['usage'], [{ family: 'IPv4', capacity: 8, used: 0 }], 'nothing in the reserved range');
    t.match(condition(await settled('b-overlap', 'Overlaps'), 'Accepted'), { status: 'False', message: /^spec\.ranges\[0\]: 10\.70\.0\.8\/29 overlaps reserved IPPool infra/ });
    t.match(condition(await settled('db-pool', 'Ready'), 'Ready'), { status: 'True', message: 'IPv4: 3 of 4 free' });

    const freed = tenantA.pop();
    t.equal((await freed?.del())?.exitCode, 0);
    const after = await until('a-pool usage after a DEL', async () => {
      const s = await status('a-pool');
      return condition(s, 'Ready')?.['status'] === 'True' ? s : undefined;
    }, 20_000);
    t.same(after['usage'], [{ family: 'IPv4', capacity: 4, used: 3 }]);
    t.match(condition(after, 'Ready'), { reason: 'Ready', message: 'IPv4: 1 of 4 free' });
  });
});
