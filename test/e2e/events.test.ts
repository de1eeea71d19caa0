// Kubernetes Events (docs/events.md) as the compiled daemon and controller write them, against
// real OVS/OVN and the fake API server (which validates events.k8s.io/v1 as the real one does),
// all in the sandbox's network namespace:
// - repeated failed ADDs of one pod are ONE AttachFailed Event on the pod (its uid), naming the
//   network, the interface and the CNI code, whose series count is the number of failures;
// - a pod whose host veth is deleted gets AttachmentRemoved once the reconciler removes the
//   attachment (short --reconcile-interval and --reconcile-grace); when the pod's namespace is
//   gone, the API server refuses the Event and the daemon logs it at debug level;
// - a /29 Network (5 addresses to hand out) filled by ADDs gets AddressesLow at the threshold
//   (--network-low-threshold 60: 3 of 5), AddressesExhausted at 5 of 5, and AddressesAvailable
//   once DELs bring it under the threshold again.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome } from '../helpers/node.ts';
import { startController } from '../helpers/controller.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer, type KubeObject } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';
import { hostVethName } from '../../daemon/cni-spec/names.ts';

const skip = e2eSkipReason();
const ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

type Regarding = { kind?: string; namespace?: string; name?: string; uid?: string };
const regarding = (e: KubeObject): Regarding => (e['regarding'] ?? {});
const seriesCount = (e: KubeObject | undefined): number => ((e?.['series'] as { count?: number } | undefined)?.count ?? (e === undefined ? 0 : 1));

t.test('Events from the daemon and the controller', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  await sandbox.nbctl(['ls-add', 'evnet', '--', 'set', 'logical_switch', 'evnet', 'other_config:subnet=10.60.0.0/24']);
  await sandbox.nbctl(['ls-add', 'small', '--', 'set', 'logical_switch', 'small', 'other_config:subnet=10.61.0.0/29']);
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  await api.upsertNamespace({ name: 'tenant' });
  await api.upsertNetwork({ name: 'evnet', logicalSwitch: 'evnet', namespaceSelector: {} });
  await api.upsertNetwork({ name: 'small', logicalSwitch: 'small', namespaceSelector: {} });
  const daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig, '--reconcile-interval', '300', '--reconcile-grace', '1000'] });
  const controller = startController(t, { netns: sandbox.env.SANDBOX_NETNS, kubeconfig: api.kubeconfig, nbDb: sandbox.env.NB_DB, api, extraArgs: ['--network-low-threshold', '60'] });
  await controller.leading();

  const eventsAbout = async (kind: string, name: string): Promise<KubeObject[]> => (await api.list('events')).filter((e) => regarding(e).kind === kind && regarding(e).name === name);
  let sandboxes = 0;
  /** One ADD for pod `name` (a new sandbox each time, as the kubelet retries); DEL at teardown when it succeeded. */
  const add = async (t: Test, name: string, network: string, ns?: Netns, namespace = 'tenant'): Promise<{ out: CniOutcome; del: () => Promise<CniOutcome>; containerId: string }> => {
    const netns = ns ?? (await createNetns(t));
    const containerId = `ev-${name}-${++sandboxes}`;
    const call = { containerId, netns: netns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerId};K8S_POD_UID=uid-${name}` };
    const config = { cniVersion: '1.1.0', name: network, type: 'ovn-multinet', socket: daemon.socket };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, config);
    const del = (): Promise<CniOutcome> => runCni(sandbox, { command: 'DEL', ...call }, config);
    if (out.exitCode === 0) t.teardown(del);
    return { out, del, containerId };
  };
  const pod = (name: string, annotations: Record<string, string> = {}, namespace = 'tenant'): Promise<void> => api.upsert({ namespace, name, uid: `uid-${name}`, nodeName: daemon.nodeName, annotations });

  await t.test('repeated failed ADDs of one pod: one AttachFailed Event, its series counting them', async (t) => {
    await pod('crash', { [ANNOTATION]: JSON.stringify([{ name: 'evnet', ips: ['10.99.0.5/24'] }]) });
    const ns = await createNetns(t);
    const failures = 4;
    for (let i = 0; i < failures; i++) {
      const { out } = await add(t, 'crash', 'evnet', ns);
      t.equal(out.json?.['code'], 7, `ADD ${i + 1} refused: ${out.stdout}`);
    }
    const [event] = await until(`one Event with count ${failures}`, async () => {
      const found = await eventsAbout('Pod', 'crash');
      return found.length === 1 && seriesCount(found[0]) === failures ? found : undefined;
    }, 10_000);
    t.match(event, {
      metadata: { namespace: 'tenant' },
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'tenant', name: 'crash', uid: 'uid-crash' },
      type: 'Warning',
      reason: 'AttachFailed',
      action: 'Attach',
      reportingController: 'ovn-multinet.io/daemon',
      reportingInstance: daemon.nodeName,
      note: /^network evnet, interface net1: pod tenant\/crash: annotation k8s\.v1\.cni\.cncf\.io\/networks .*10\.99\.0\.5.* is outside .* \(CNI error code 7\)$/,
      series: { count: failures, lastObservedTime: String },
    });
    const { out } = await add(t, 'nobody', 'evnet', ns);
    t.equal(out.json?.['code'], 3, 'a pod that does not exist is refused');
    // The ADD asked for it once; the Event's look-up asks once more (after the cache's wait).
    const gets = async (): Promise<number> => (await api.requests()).filter((r) => r === 'GET /api/v1/namespaces/tenant/pods/nobody').length;
    await until("the Event's look-up of the pod", async () => ((await gets()) >= 2 ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    t.same(await eventsAbout('Pod', 'nobody'), [], 'and gets no Event: the daemon does not know it');
  });

  await t.test('the reconciler removes an attachment whose veth is gone: AttachmentRemoved on the pod', async (t) => {
    await pod('victim');
    const { out, containerId } = await add(t, 'victim', 'evnet');
    t.equal(out.exitCode, 0, out.stdout);
    await sandbox.exec(['ip', 'link', 'del', hostVethName(containerId, 'net1')]);
    const [event] = await until('AttachmentRemoved', async () => {
      const found = (await eventsAbout('Pod', 'victim')).filter((e) => e['reason'] === 'AttachmentRemoved');
      return found.length > 0 ? found : undefined;
    }, 15_000);
    t.match(event, {
      regarding: { kind: 'Pod', namespace: 'tenant', name: 'victim', uid: 'uid-victim' },
      type: 'Warning',
      action: 'Detach',
      reportingInstance: daemon.nodeName,
      note: 'network evnet, interface net1: removed by the reconciler: container gone without DEL',
    });
    t.same(await sandbox.nbctl(['--bare', '--columns=name', 'find', 'logical_switch_port', `external_ids:"ovn-multinet/container-id"=${containerId}`]), '', 'its port is gone');
  });

  await t.test('a pod whose namespace is gone: the refused Event is logged at debug level, nothing else', async (t) => {
    await api.upsertNamespace({ name: 'leaving' });
    await pod('left', {}, 'leaving');
    const { out, containerId } = await add(t, 'left', 'evnet', undefined, 'leaving');
    t.equal(out.exitCode, 0, out.stdout);
    await api.delete('leaving', 'left');
    await api.deleteCluster('namespaces', 'leaving');
    await sandbox.exec(['ip', 'link', 'del', hostVethName(containerId, 'net1')]);
    const refused = await until('the refused Event in the log', () => daemon.logs.find((l) => l['msg'] === 'Event not written' && l['reason'] === 'AttachmentRemoved'), 15_000);
    t.match(refused, { level: 20, code: 404, regarding: 'Pod leaving/left' }, 'debug level, the API server\'s 404');
    t.notOk(daemon.logs.some((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('Event not written (')), 'no warning');
    t.same(await eventsAbout('Pod', 'left'), []);
  });

  await t.test('a /29 Network filled: AddressesLow at the threshold, AddressesExhausted, AddressesAvailable after DELs', async (t) => {
    const network = await until('Network small', () => api.get('networks', undefined, 'small'));
    const reasons = async (): Promise<string[]> => (await eventsAbout('Network', 'small')).map((e) => String(e['reason'])).sort();
    const waitReasons = (want: string[]): Promise<true> =>
      until(`Network events ${want.join(', ')}`, async () => (JSON.stringify(await reasons()) === JSON.stringify([...want].sort()) ? true : undefined), 10_000);
    const dels: Array<() => Promise<CniOutcome>> = [];
    const fill = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const name = `fill-${dels.length}`;
        await pod(name);
        const { out, del } = await add(t, name, 'small');
        t.equal(out.exitCode, 0, `${name}: ${out.stdout}`);
        dels.push(del);
      }
    };
    await fill(2);
    await new Promise((r) => setTimeout(r, 500));
    t.same(await reasons(), [], '2 of 5: no Event');
    await fill(1);
    await waitReasons(['AddressesLow']);
    await fill(2);
    await waitReasons(['AddressesLow', 'AddressesExhausted']);
    const [low, exhausted] = [(await eventsAbout('Network', 'small')).find((e) => e['reason'] === 'AddressesLow'), (await eventsAbout('Network', 'small')).find((e) => e['reason'] === 'AddressesExhausted')];
    t.match(low, { metadata: { namespace: 'default' }, regarding: { apiVersion: 'ovn-multinet.io/v1', kind: 'Network', name: 'small', uid: network.metadata.uid }, type: 'Warning', action: 'Allocate', reportingController: 'ovn-multinet.io/controller', reportingInstance: 'e2e', note: 'addresses at or above 60% in use on logical switch small: 10.61.0.0/29: 3 of 5 addresses in use (60%)' });
    t.match(exhausted, { type: 'Warning', note: 'no address left to hand out on logical switch small: 10.61.0.0/29: 5 of 5 addresses in use (100%)' });
    await pod('one-too-many');
    const { out } = await add(t, 'one-too-many', 'small');
    t.equal(out.json?.['code'], 102, `the sixth ADD: no address left: ${out.stdout}`);
    for (const del of dels.splice(0, 3)) t.equal((await del()).exitCode, 0, 'DEL');
    await waitReasons(['AddressesLow', 'AddressesExhausted', 'AddressesAvailable']);
    t.match((await eventsAbout('Network', 'small')).find((e) => e['reason'] === 'AddressesAvailable'), { type: 'Normal', note: /2 of 5 addresses in use \(40%\)$/ });
  });
});
