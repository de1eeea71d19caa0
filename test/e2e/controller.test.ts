// The Network controller as it runs (dist/ovn-multinetd controller) against a real OVN NB and the
// fake API server, both in the sandbox's network namespace: an admin marks a logical switch with
// ovn-nbctl → a Network appears → NADs appear in the namespaces it selects; unmark → all gone.
// A managed Network whose switch an admin already made is reported as a conflict from the NB.
// A daemon with --kubeconfig (strict network access) serves ADDs with the NADs the controller
// wrote, by construction; hand-written NADs that reach another tenant's switch, turn port
// security off or define a localnet network are refused and leave nothing.
import t, { type Test } from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome } from '../helpers/node.ts';
import { nodeState } from '../helpers/leftovers.ts';
import { startController } from '../helpers/controller.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer, type FakeApi, type KubeObject } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();

const nadNamespaces = async (api: FakeApi, name: string): Promise<string[]> =>
  (await api.list('network-attachment-definitions')).filter((n) => n.metadata.name === name).map((n) => n.metadata.namespace ?? '').sort();
const nadsAre = (api: FakeApi, name: string, expected: string[]): Promise<true> =>
  until(`NADs ${name} in [${expected.join(', ')}]`, async () => (JSON.stringify(await nadNamespaces(api, name)) === JSON.stringify(expected) ? true : undefined), 10_000);
type Cond = { type: string; status: string; reason: string; message: string };
const condition = (api: FakeApi, network: string, type: string): Promise<Cond> =>
  until(`${network} ${type}`, async () => {
    const o: KubeObject | undefined = await api.get('networks', undefined, network);
    const conditions = (((o?.['status'] ?? {}) as Record<string, unknown>)['conditions'] ?? []) as Cond[];
    return conditions.find((c) => c.type === type);
  }, 10_000);

t.test('controller against a real NB', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  await api.upsertNamespace({ name: 'team-a', labels: { team: 'a' } });
  await api.upsertNamespace({ name: 'team-b', labels: { team: 'b' } });

  const controller = startController(t, { netns: sandbox.env.SANDBOX_NETNS, kubeconfig: api.kubeconfig, nbDb: sandbox.env.NB_DB, api });
  const { child, exited } = controller;
  await controller.leading();
  const daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });
  let pods = 0;
  /** ADD of a new pod of `namespace` with `config` (the daemon's socket added); DEL at teardown. */
  const add = async (t: Test, namespace: string, config: Record<string, unknown>): Promise<CniOutcome> => {
    const name = `pod-${++pods}`;
    await api.upsert({ namespace, name, uid: `uid-${name}`, nodeName: daemon.nodeName });
    const ns = await createNetns(t);
    const call = { containerId: `ctl-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}` };
    const full = { ...config, socket: daemon.socket };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, full);
    if (out.exitCode === 0) t.teardown(() => runCni(sandbox, { command: 'DEL', ...call }, full));
    return out;
  };
  const nadConfig = async (namespace: string, name: string): Promise<Record<string, unknown>> =>
    JSON.parse(String(((await api.get('network-attachment-definitions', namespace, name))?.['spec'] as Record<string, unknown>)['config'])) as Record<string, unknown>;

  await t.test('a marked switch becomes a Network, with NADs where it is allowed', async (t) => {
    await sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.70.0.0/24',
      'external_ids:"ovn-multinet/expose"=true', 'external_ids:"ovn-multinet/expose-namespaces"="team=a"']);
    const red = await until('Network red', () => api.get('networks', undefined, 'red'), 10_000);
    t.equal(red.metadata.labels?.['ovn-multinet.io/discovered'], 'true');
    t.same(red['spec'], { logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
    await nadsAre(api, 'red', ['team-a']);
    const config = JSON.parse(String(((await api.get('network-attachment-definitions', 'team-a', 'red'))?.['spec'] as Record<string, unknown>)['config'])) as Record<string, unknown>;
    t.match(config, { cniVersion: '1.0.0', name: 'red', type: 'ovn-multinet', logicalSwitch: 'red' });
    t.match(await condition(api, 'red', 'Ready'), { status: 'True', reason: 'NetworkAttachmentDefinitionsReady', message: '1 namespace: team-a' });
  });

  await t.test("the controller's NAD passes the daemon's strict check; hand-written ones that reach further are refused", async (t) => {
    const written = await add(t, 'team-a', await nadConfig('team-a', 'red'));
    t.equal(written.exitCode, 0, `the NAD the controller wrote: ${written.stdout}`);
    const rows: Array<{ what: string; namespace: string; config: Record<string, unknown>; msg: RegExp }> = [
      { what: "another tenant's switch", namespace: 'team-b', config: { name: 'mine', logicalSwitch: 'red' }, msg: /^logicalSwitch: no Network admits namespace team-b on logical switch "red"/ },
      { what: 'portSecurity false', namespace: 'team-a', config: { name: 'red', logicalSwitch: 'red', portSecurity: false }, msg: /^portSecurity: not given to namespace team-a on logical switch "red"/ },
      { what: 'a localnet network on a physical network', namespace: 'team-a', config: { name: 'uplink', topology: 'localnet', physicalNetworkName: 'physnet', vlanID: 7 }, msg: /^logicalSwitch: no Network admits namespace team-a on logical switch "uplink"/ },
    ];
    for (const row of rows) {
      const before = await nodeState(sandbox);
      const out = await add(t, row.namespace, { cniVersion: '1.0.0', type: 'ovn-multinet', ...row.config });
      t.equal(out.json?.['code'], 104, `${row.what}: ${out.stdout}`);
      t.match(out.json?.['msg'], row.msg, row.what);
      t.same(await nodeState(sandbox), before, `${row.what}: nothing left`);
    }
  });

  await t.test('a changed mark changes the Network and its NADs', async (t) => {
    await sandbox.nbctl(['set', 'logical_switch', 'red', 'external_ids:"ovn-multinet/expose-namespaces"="*"']);
    await nadsAre(api, 'red', ['team-a', 'team-b']);
    t.pass('every namespace');
  });

  await t.test('a managed Network on a switch an admin made is a conflict, read from the NB', async (t) => {
    await sandbox.nbctl(['ls-add', 'blue']);
    await api.upsertNetwork({ name: 'blue', config: { topology: 'layer2', subnets: ['10.71.0.0/24'] }, namespaceSelector: {} });
    t.match(await condition(api, 'blue', 'Accepted'), { status: 'False', reason: 'DefinitionConflict', message: /logical switch blue exists and was not created by ovn-multinet/ });
    t.same(await nadNamespaces(api, 'blue'), []);
    await sandbox.nbctl(['ls-del', 'blue']);
    await until('blue accepted', async () => ((await condition(api, 'blue', 'Accepted')).status === 'True' ? true : undefined), 10_000);
    await nadsAre(api, 'blue', ['team-a', 'team-b']);
    const managed = await add(t, 'team-b', await nadConfig('team-b', 'blue'));
    t.equal(managed.exitCode, 0, `the managed network's NAD makes its switch: ${managed.stdout}`);
    t.match(await sandbox.nbctl(['get', 'logical_switch', 'blue', 'external_ids']), /10\.71\.0\.0\/24/);
  });

  await t.test('unmarked or deleted: the Network and its NADs go', async (t) => {
    await sandbox.nbctl(['remove', 'logical_switch', 'red', 'external_ids', 'ovn-multinet/expose']);
    await until('Network red gone', async () => ((await api.get('networks', undefined, 'red')) === undefined ? true : undefined), 10_000);
    await nadsAre(api, 'red', []);
    t.match(await sandbox.nbctl(['ls-list']), /red/, 'the switch itself is untouched');

    await sandbox.nbctl(['ls-add', 'green', '--', 'set', 'logical_switch', 'green', 'external_ids:"ovn-multinet/expose"=true']);
    await until('Network green', () => api.get('networks', undefined, 'green'), 10_000);
    await sandbox.nbctl(['ls-del', 'green']);
    await until('Network green gone', async () => ((await api.get('networks', undefined, 'green')) === undefined ? true : undefined), 10_000);
    t.ok(await api.get('networks', undefined, 'blue'), 'a Network the controller did not discover stays');
  });

  await t.test('SIGTERM: exits 0 and releases the Lease', async (t) => {
    child.kill('SIGTERM');
    await exited;
    t.equal(child.exitCode, 0, controller.logs().split('\n').slice(-5).join('\n'));
    t.equal(await controller.holder(), undefined);
  });
});
