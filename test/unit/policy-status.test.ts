// What the policy loop reads and writes in the API, through the real client library against the
// fake API server: the policy caches (pods narrowed; only a change of labels, named ports or
// existence wakes the loop) and the reporter (the Enforced condition written when it changes,
// one Event per change of verdict (events.k8s.io/v1, through the recorder), nothing for an unchanged pass or a policy recreated meanwhile).
import t from 'tap';
import { pino } from 'pino';
import { PolicyCaches } from '../../daemon/controller/policy-caches.ts';
import { PolicyReporter } from '../../daemon/controller/policy-status.ts';
import { EventRecorder } from '../../daemon/k8s/events.ts';
import type { PolicyReport } from '../../daemon/policy/model.ts';
import { startInProcessApi, type KubeObject } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';

const log = pino({ level: 'silent' });

const policyObject = (uid = 'u1'): KubeObject => ({
  metadata: { namespace: 'ns1', name: 'p', uid, annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'blue' } },
  spec: { podSelector: {} },
});

const pod = (labels: Record<string, string>, phase = 'Running'): KubeObject => ({
  metadata: { namespace: 'ns1', name: 'a', uid: 'pod-a', labels },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
  status: { phase },
});

t.test('the policy caches and the reporter', async (t) => {
  const { server, kubeConfig } = await startInProcessApi(t);
  server.upsertNamespace({ name: 'ns1' });
  server.apply('multi-networkpolicies', policyObject());
  server.apply('pods', pod({ app: 'web' }));
  const caches = new PolicyCaches(kubeConfig, log, 100);
  let wakes = 0;
  caches.onChange(() => wakes++);
  caches.start();
  t.teardown(() => caches.stop());
  await until('the first lists', async () => (caches.synced ? true : undefined));
  t.same(caches.pods().map((p) => [p.name, [...p.labels], [...p.namedPorts.keys()]]), [['a', [['app', 'web']], ['http']]], 'pods narrowed');
  t.equal(caches.policies().length, 1);

  const settled = wakes;
  server.apply('pods', pod({ app: 'web' }, 'Pending'));
  server.apply('pods', pod({ app: 'web' }, 'Running'));
  server.apply('pods', pod({ app: 'db' }));
  await until('the label change', async () => (caches.pods()[0]?.labels.get('app') === 'db' ? true : undefined));
  t.equal(wakes, settled + 1, 'a status update wakes nothing; a label change wakes once');
  server.remove('pods', 'ns1', 'a');
  await until('the pod gone', async () => (caches.pods().length === 0 ? true : undefined));
  t.equal(wakes, settled + 2, 'a deleted pod wakes');

  const events = new EventRecorder({ kubeConfig, log, controller: 'ovn-multinet.io/controller', instance: 'test' });
  t.teardown(() => events.stop());
  const reporter = new PolicyReporter(kubeConfig, log, (namespace, name) => caches.policy(namespace, name), events);
  const report = (enforced: boolean, uid = 'u1'): PolicyReport => ({ namespace: 'ns1', name: 'p', uid, generation: 1, enforced, problems: enforced ? [] : ['network ns1/blue: no such NetworkAttachmentDefinition'] });
  const statusWrites = (): number => server.requests.filter((r) => r.startsWith('PUT ') && r.endsWith('/multi-networkpolicies/p/status')).length;
  const conditions = (): unknown => server.get('multi-networkpolicies', 'ns1', 'p')?.['status'];
  const signal = AbortSignal.timeout(10_000);

  await reporter.report([report(false)], signal);
  t.match(conditions(), { conditions: [{ type: 'Enforced', status: 'False', reason: 'NotEnforced', message: 'network ns1/blue: no such NetworkAttachmentDefinition', observedGeneration: 1 }] });
  await until('the Event', async () => (server.list('events').length > 0 ? true : undefined));
  t.match(server.list('events'), [{ reason: 'PolicyNotEnforced', type: 'Warning', action: 'Enforce', reportingController: 'ovn-multinet.io/controller', regarding: { kind: 'MultiNetworkPolicy', namespace: 'ns1', name: 'p', uid: 'u1' }, note: 'network ns1/blue: no such NetworkAttachmentDefinition' }], 'one Event');
  await reporter.report([report(false)], signal);
  await until('the cache shows the status', async () => ((caches.policy('ns1', 'p') as { status?: unknown }).status === undefined ? undefined : true));
  await reporter.report([report(false)], signal);
  t.equal(statusWrites(), 1, 'unchanged: written once, whether or not the cache has caught up');
  t.equal(server.list('events').length, 1, 'and one Event');

  await reporter.report([report(true)], signal);
  t.match(conditions(), { conditions: [{ type: 'Enforced', status: 'True', reason: 'Enforced' }] });
  await until('the second Event', async () => (server.list('events').length > 1 ? true : undefined));
  t.same(server.list('events').map((e) => e['reason']).sort(), ['PolicyEnforced', 'PolicyNotEnforced'], 'a changed verdict: one more Event');

  await reporter.report([report(false, 'another-uid')], signal);
  t.equal(statusWrites(), 2, 'a report about another object of that name (recreated meanwhile) writes nothing');
});
