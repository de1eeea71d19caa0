// The Network controller's pure logic: a Network's spec as a NAD config (validated by the
// plugin's own parser), the NAD plan (create/update/delete, foreign NADs, definition conflicts),
// status conditions, marked-switch discovery, and the Lease arithmetic.
import t from 'tap';
import { definitionOf } from '../../daemon/k8s/definition.ts';
import { planNads, type SwitchState } from '../../daemon/controller/plan.ts';
import { desiredConditions, mergeConditions, sameConditions } from '../../daemon/controller/conditions.ts';
import { discoverNetworks, parseExposeNamespaces } from '../../daemon/controller/expose.ts';
import { acquiredSpec, formatMicroTime, leaseExpiry, mayAcquire, releasedSpec, toLeaseRecord } from '../../daemon/controller/lease.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, NETWORK_LABEL, toNadObject, toNetworkObject, type NadObject, type NamespaceObject, type NetworkObject } from '../../daemon/controller/objects.ts';
import { ExposeKeys, OwnerKeys } from '../../daemon/ovn/ids.ts';
import { buildCli, controllerDefaults, duration } from '../../daemon/cli.ts';
import { parseControllerFlags } from '../../daemon/controller/main.ts';
import { echoIntervalFor, nbFlags } from '../../daemon/lib/flags.ts';
import { Trigger, type PassResult } from '../../daemon/controller/trigger.ts';
import { pino } from 'pino';
import { sleep, until } from '../helpers/until.ts';
import { NetworkSpecError, FlagError } from '../../daemon/errors.ts';

function network(name: string, spec: Record<string, unknown>, extra: { created?: string; uid?: string; conditions?: unknown[] } = {}): NetworkObject {
  const n = toNetworkObject({
    metadata: { name, uid: extra.uid ?? `uid-${name}`, resourceVersion: '1', generation: 3, creationTimestamp: extra.created ?? '2026-01-01T00:00:00Z' },
    spec,
    status: { conditions: extra.conditions ?? [] },
  });
  if (n === undefined) throw new Error('bad network');
  return n;
}
const ns = (name: string, labels: Record<string, string> = {}, terminating = false): NamespaceObject => ({ name, labels: new Map(Object.entries(labels)), terminating });
function nad(namespace: string, name: string, config: string, owned: boolean, ownerUid = `uid-${name}`): NadObject {
  const labels: Record<string, string> = owned ? { [MANAGED_BY_LABEL]: MANAGED_BY, [NETWORK_LABEL]: name } : {};
  const n = toNadObject({ metadata: { namespace, name, resourceVersion: '7', labels, ownerReferences: owned ? [{ uid: ownerUid }] : [] }, spec: { config } });
  if (n === undefined) throw new Error('bad nad');
  return n;
}
const none = (): SwitchState => 'unknown';

t.test('spec to NAD config', async (t) => {
  const plain = definitionOf('red', { logicalSwitch: 'ls-red', namespaceSelector: {} });
  t.same(JSON.parse(plain.config), { cniVersion: '1.0.0', name: 'red', type: 'ovn-multinet', logicalSwitch: 'ls-red', capabilities: { ips: true, mac: true, bandwidth: true } });
  t.equal(plain.switchName, 'ls-red');
  t.equal(plain.managed, undefined);
  const vms = definitionOf('vmnet', { logicalSwitch: 'vmnet', allowPersistentIPs: true });
  t.equal((JSON.parse(vms.config) as Record<string, unknown>)['allowPersistentIPs'], true, 'spec.allowPersistentIPs reaches the NAD (existing switch)');
  const managedVms = definitionOf('vmnet2', { allowPersistentIPs: true, config: { topology: 'layer2', subnets: ['10.70.0.0/24'] } });
  t.equal((JSON.parse(managedVms.config) as Record<string, unknown>)['allowPersistentIPs'], true, 'and for a managed network');
  const vmSwitch = definitionOf('vmsw', { logicalSwitch: 'vmsw', portSecurity: false, dhcp: { leaseTime: 600 } });
  t.match(JSON.parse(vmSwitch.config), { logicalSwitch: 'vmsw', portSecurity: false, dhcp: { leaseTime: 600 } }, 'spec.portSecurity and spec.dhcp reach the NAD (existing switch): only a Network gives them');
  t.match(vmSwitch.conf, { portSecurity: false, dhcp: { leaseTime: 600 } }, 'the parsed config the daemon reads');

  const managed = definitionOf('blue', { config: { topology: 'layer2', subnets: ['10.9.0.0/24', 'fd00:9::/64'], excludeSubnets: ['10.9.0.0/28'], mtu: 1300 } });
  const cni = JSON.parse(managed.config) as Record<string, unknown>;
  t.equal(cni['topology'], 'layer2');
  t.equal(cni['mtu'], 1300);
  t.equal(cni['name'], 'blue');
  t.equal(managed.switchName, 'blue', 'a managed network is its own switch by default');
  t.equal(managed.managed, JSON.stringify({ topology: 'layer2', subnets: ['10.9.0.0/24', 'fd00:9::/64'], excludeSubnets: ['10.9.0.0/28'] }), 'the canonical definition the daemon stores on the switch');

  const bad: Array<{ spec: Record<string, unknown>; field: string; name?: string }> = [
    { spec: {}, field: 'spec' },
    { spec: { logicalSwitch: 'a', config: { topology: 'layer2' } }, field: 'spec' },
    { spec: { logicalSwitch: 7 }, field: 'spec.logicalSwitch' },
    { spec: { logicalSwitch: 'a', allowPersistentIPs: 'yes' }, field: 'spec.allowPersistentIPs' },
    { spec: { config: { topology: 'layer2', allowPersistentIPs: 1 } }, field: 'spec.config.allowPersistentIPs' },
    { spec: { logicalSwitch: 'has space' }, field: 'spec.logicalSwitch' },
    { spec: { config: 'layer2' }, field: 'spec.config' },
    { spec: { config: { subnets: ['10.0.0.0/24'] } }, field: 'spec.config.subnets' },
    { spec: { config: { mtu: 1400 } }, field: 'spec.config.topology' },
    { spec: { config: { topology: 'mesh' } }, field: 'spec.config.topology' },
    { spec: { config: { topology: 'layer2', subnets: ['10.0.0.1/24'] } }, field: 'spec.config.subnets[0]' },
    { spec: { config: { topology: 'layer2', subnets: ['10.0.0.0/24'], gateway: '10.1.0.1' } }, field: 'spec.config.gateway[0]' },
    { spec: { config: { topology: 'localnet' } }, field: 'spec.config.physicalNetworkName' },
    { spec: { config: { topology: 'layer2', name: 'x' } }, field: 'spec.config.name' },
    { spec: { config: { topology: 'layer2', mtu: 10 } }, field: 'spec.config.mtu' },
    { spec: { logicalSwitch: 'x' }, field: 'metadata.name', name: '-bad' },
    { spec: { logicalSwitch: 'x', portSecurity: 'off' }, field: 'spec.portSecurity' },
    { spec: { logicalSwitch: 'x', dhcp: { leaseTime: 1 } }, field: 'spec.dhcp.leaseTime' },
    { spec: { config: { topology: 'layer2' }, portSecurity: false }, field: 'spec.portSecurity' },
    { spec: { config: { topology: 'layer2' }, dhcp: {} }, field: 'spec.dhcp' },
  ];
  for (const row of bad) {
    t.throws(() => definitionOf(row.name ?? 'n', row.spec), NetworkSpecError, JSON.stringify(row.spec));
    try {
      definitionOf(row.name ?? 'n', row.spec);
    } catch (err) {
      t.equal((err as NetworkSpecError).field, row.field, `field of ${JSON.stringify(row.spec)}`);
      t.match((err as Error).message, new RegExp(`^${row.field.replace(/[.[\]]/g, '\\$&')}: `), 'the message starts with the field');
    }
  }
});

t.test('NAD plan', async (t) => {
  const red = network('red', { logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  const redConfig = definitionOf('red', red.spec).config;
  const namespaces = [ns('a1', { team: 'a' }), ns('a2', { team: 'a' }), ns('b1', { team: 'b' }), ns('a3', { team: 'a' }, true)];

  t.test('creates in every selected namespace, not in terminating ones', async (t) => {
    const plan = planNads({ networks: [red], namespaces, nads: [], switches: none });
    t.same(plan.actions.map((a) => [a.kind, a.namespace]), [['create', 'a1'], ['create', 'a2']]);
    const body = plan.actions[0]?.kind === 'create' ? plan.actions[0].body : {};
    t.match(body, { kind: 'NetworkAttachmentDefinition', metadata: { name: 'red', namespace: 'a1', labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [NETWORK_LABEL]: 'red' }, ownerReferences: [{ kind: 'Network', name: 'red', uid: 'uid-red', controller: true }] }, spec: { config: redConfig } });
    t.same(plan.verdicts[0]?.selected, ['a1', 'a2']);
  });

  t.test('up to date: nothing; stale config or owner: update; deselected: delete', async (t) => {
    const nads = [nad('a1', 'red', redConfig, true), nad('a2', 'red', '{"old":1}', true), nad('b1', 'red', redConfig, true)];
    const plan = planNads({ networks: [red], namespaces, nads, switches: none });
    t.same(plan.actions.map((a) => [a.kind, a.namespace]), [['update', 'a2'], ['delete', 'b1']]);
    const recreated = planNads({ networks: [red], namespaces: [ns('a1', { team: 'a' })], nads: [nad('a1', 'red', redConfig, true, 'uid-old')], switches: none });
    t.same(recreated.actions.map((a) => a.kind), ['update'], 'a Network recreated under the same name takes its NADs over');
  });

  t.test('a foreign NAD is left alone and reported', async (t) => {
    const plan = planNads({ networks: [red], namespaces, nads: [nad('a1', 'red', '{}', false)], switches: none });
    t.same(plan.actions.map((a) => [a.kind, a.namespace]), [['create', 'a2']]);
    t.same(plan.verdicts[0]?.foreign, ['a1']);
  });

  t.test('NADs of a deleted Network are deleted; foreign ones never', async (t) => {
    const plan = planNads({ networks: [], namespaces, nads: [nad('a1', 'red', redConfig, true), nad('a2', 'red', redConfig, false)], switches: none });
    t.same(plan.actions.map((a) => [a.kind, a.namespace]), [['delete', 'a1']]);
  });

  t.test('an invalid Network keeps its NADs as they are', async (t) => {
    const broken = network('red', { logicalSwitch: 'red', config: { topology: 'layer2' }, namespaceSelector: {} });
    const plan = planNads({ networks: [broken], namespaces, nads: [nad('b1', 'red', redConfig, true)], switches: none });
    t.same(plan.actions, []);
    t.match(plan.verdicts[0]?.acceptance, { accepted: false, reason: 'InvalidSpec', message: /exclusive/ });
    const badSelector = planNads({ networks: [network('red', { logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 1 } } })], namespaces, nads: [], switches: none });
    t.match(badSelector.verdicts[0]?.acceptance, { accepted: false, reason: 'InvalidSpec', message: /^spec\.namespaceSelector\.matchLabels\.team/ });
  });

  t.test('no selector: selects nothing', async (t) => {
    const plan = planNads({ networks: [network('red', { logicalSwitch: 'red' })], namespaces, nads: [nad('a1', 'red', redConfig, true)], switches: none });
    t.same(plan.actions.map((a) => [a.kind, a.namespace]), [['delete', 'a1']]);
  });

  t.test('definition conflicts', async (t) => {
    const older = network('n1', { config: { topology: 'layer2', logicalSwitch: 'shared', subnets: ['10.1.0.0/24'] }, namespaceSelector: {} }, { created: '2026-01-01T00:00:00Z' });
    const newer = network('n2', { config: { topology: 'layer2', logicalSwitch: 'shared', subnets: ['10.2.0.0/24'] }, namespaceSelector: {} }, { created: '2026-01-02T00:00:00Z' });
    const same = network('n3', { config: { topology: 'layer2', logicalSwitch: 'shared', subnets: ['10.1.0.0/24'] }, namespaceSelector: {} }, { created: '2026-01-03T00:00:00Z' });
    const before = planNads({ networks: [newer, older, same], namespaces: [ns('x')], nads: [], switches: () => 'missing' });
    const verdict = (name: string) => before.verdicts.find((v) => v.network.name === name)?.acceptance;
    t.match(verdict('n1'), { accepted: true });
    t.match(verdict('n2'), { accepted: false, reason: 'DefinitionConflict', message: /Network n1 \(older\) defines logical switch shared differently/ });
    t.match(verdict('n3'), { accepted: true }, 'the same definition under another name shares the switch');
    t.same(before.actions.map((a) => a.network).sort(), ['n1', 'n3']);

    const switchIds = new Map([[OwnerKeys.managedNetwork, 'n2'], [OwnerKeys.networkDefinition, definitionOf('n2', newer.spec).managed ?? '']]);
    const after = planNads({ networks: [newer, older], namespaces: [ns('x')], nads: [], switches: () => switchIds });
    t.match(after.verdicts.find((v) => v.network.name === 'n2')?.acceptance, { accepted: true }, 'the switch in the NB decides');
    t.match(after.verdicts.find((v) => v.network.name === 'n1')?.acceptance, { accepted: false, message: /was created \(network n2\) with another definition/ });

    const adminMade = planNads({ networks: [older], namespaces: [], nads: [], switches: () => new Map([['owner', 'admin']]) });
    t.match(adminMade.verdicts[0]?.acceptance, { accepted: false, reason: 'DefinitionConflict', message: /was not created by ovn-multinet/ });

    const plain = planNads({ networks: [network('p', { logicalSwitch: 'gone', namespaceSelector: {} })], namespaces: [ns('x')], nads: [], switches: () => 'missing' });
    t.equal(plain.verdicts[0]?.switchMissing, true);
    t.equal(plain.actions.length, 1, 'NADs are made anyway: the switch may come');
  });
});

t.test('conditions', async (t) => {
  const red = network('red', { logicalSwitch: 'red', namespaceSelector: {} });
  const ok = planNads({ networks: [red], namespaces: [ns('a'), ns('b')], nads: [], switches: () => new Map() }).verdicts[0];
  if (ok === undefined) throw new Error('no verdict');
  t.match(desiredConditions(ok, new Map()), [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'logical switch red' },
    { type: 'Ready', status: 'True', reason: 'NetworkAttachmentDefinitionsReady', message: '2 namespaces: a, b' },
  ]);
  t.match(desiredConditions(ok, new Map([['b', 'forbidden']])), [{}, { status: 'False', reason: 'ApplyFailed', message: /1 namespace: b: forbidden/ }]);
  t.match(desiredConditions({ ...ok, foreign: ['c'] }, new Map()), [{}, { status: 'False', reason: 'ForeignNetworkAttachmentDefinition', message: /in 1 namespace: c/ }]);
  t.match(desiredConditions({ ...ok, switchMissing: true }, new Map()), [{}, { status: 'False', reason: 'LogicalSwitchNotFound' }]);
  t.match(desiredConditions({ ...ok, selected: [] }, new Map()), [{}, { status: 'True', message: 'the namespaceSelector selects no namespace' }]);
  t.match(desiredConditions({ ...ok, acceptance: { accepted: false, reason: 'InvalidSpec', message: 'spec: bad' } }, new Map()), [
    { type: 'Accepted', status: 'False', reason: 'InvalidSpec', message: 'spec: bad' },
    { type: 'Ready', status: 'False', reason: 'NotAccepted', message: 'spec: bad' },
  ]);

  const t0 = new Date('2026-01-01T00:00:00.123Z');
  const first = mergeConditions([], desiredConditions(ok, new Map()), 3, t0);
  t.equal(first[0]?.lastTransitionTime, '2026-01-01T00:00:00Z', 'RFC 3339 seconds, as metav1.Time');
  t.equal(first[0]?.observedGeneration, 3);
  const later = new Date('2026-01-02T00:00:00Z');
  const again = mergeConditions(first, desiredConditions(ok, new Map()), 3, later);
  t.ok(sameConditions(first, again), 'nothing changed: same conditions, so no status write');
  const changed = mergeConditions(first, desiredConditions({ ...ok, foreign: ['c'] }, new Map()), 3, later);
  t.notOk(sameConditions(first, changed));
  t.equal(changed.find((c) => c.type === 'Ready')?.lastTransitionTime, '2026-01-02T00:00:00Z', 'Ready flipped: new transition time');
  t.equal(changed.find((c) => c.type === 'Accepted')?.lastTransitionTime, '2026-01-01T00:00:00Z', 'Accepted did not: time kept');
  const kept = mergeConditions([{ type: 'Other', status: 'True', reason: 'X', message: '', lastTransitionTime: 't', observedGeneration: 1 }], desiredConditions(ok, new Map()), 3, t0);
  t.same(kept.map((c) => c.type), ['Accepted', 'Other', 'Ready'], 'conditions of other types are kept');
});

t.test('marked switches', async (t) => {
  const sw = (name: string, ids: Record<string, string>) => ({ name, externalIds: new Map(Object.entries(ids)) });
  const { networks, problems } = discoverNetworks([
    sw('red', { [ExposeKeys.expose]: 'true' }),
    sw('ls-blue', { [ExposeKeys.expose]: 'blue', [ExposeKeys.exposeNamespaces]: 'team=a,kubernetes.io/metadata.name=x' }),
    sw('all', { [ExposeKeys.expose]: 'true', [ExposeKeys.exposeNamespaces]: '*' }),
    sw('off', { [ExposeKeys.expose]: 'false' }),
    sw('Upper_Case', { [ExposeKeys.expose]: 'true' }),
    sw('zz-blue', { [ExposeKeys.expose]: 'blue' }),
    sw('typo', { [ExposeKeys.expose]: 'true', [ExposeKeys.exposeNamespaces]: 'team' }),
  ]);
  t.same(networks, [
    { name: 'all', switchName: 'all', spec: { logicalSwitch: 'all', namespaceSelector: {} } },
    { name: 'blue', switchName: 'ls-blue', spec: { logicalSwitch: 'ls-blue', namespaceSelector: { matchLabels: { team: 'a', 'kubernetes.io/metadata.name': 'x' } } } },
    { name: 'red', switchName: 'red', spec: { logicalSwitch: 'red' } },
    { name: 'typo', switchName: 'typo', spec: undefined },
  ]);
  t.equal(problems.length, 3);
  t.match(problems.join('\n'), /Upper_Case.*not a valid Network name/);
  t.match(problems.join('\n'), /zz-blue: Network blue is already exposed from logical switch ls-blue/);
  t.match(problems.join('\n'), /typo: .*"team" is not key=value/);
  t.equal(parseExposeNamespaces(undefined), undefined, 'no key: no selector (selects no namespace)');
  t.throws(() => parseExposeNamespaces('a=b=c'));
  t.throws(() => parseExposeNamespaces(''));
});

t.test('lease arithmetic', async (t) => {
  const now = new Date('2026-01-01T00:00:10.5Z');
  t.equal(formatMicroTime(now), '2026-01-01T00:00:10.500000Z', 'MicroTime: six fractional digits');
  const held = toLeaseRecord({ holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:00.000000Z', acquireTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 2 });
  t.equal(leaseExpiry(held), Date.parse('2026-01-01T00:00:15Z'));
  t.notOk(mayAcquire(held, 'b', now), 'held and not expired');
  t.ok(mayAcquire(held, 'a', now), 'the holder renews');
  t.ok(mayAcquire(held, 'b', new Date('2026-01-01T00:00:15Z')), 'expired at renewTime + leaseDurationSeconds');
  t.ok(mayAcquire(toLeaseRecord({ leaseDurationSeconds: 15, renewTime: now }), 'b', now), 'no holder: free');
  t.ok(mayAcquire(toLeaseRecord({ holderIdentity: 'a' }), 'b', now), 'no renewTime: free');
  t.ok(mayAcquire(toLeaseRecord(undefined), 'b', now));

  const renewed = acquiredSpec(held, 'a', 15, now);
  t.equal(renewed.leaseTransitions, 2, 'renewal is no transition');
  t.equal(renewed.acquireTime?.toISOString(), '2026-01-01T00:00:00.000000Z', 'acquireTime kept on renewal');
  t.equal(renewed.renewTime?.toISOString(), '2026-01-01T00:00:10.500000Z');
  const taken = acquiredSpec(held, 'b', 15, now);
  t.equal(taken.leaseTransitions, 3);
  t.equal(taken.holderIdentity, 'b');
  t.equal(taken.acquireTime?.toISOString(), '2026-01-01T00:00:10.500000Z');
  t.equal(acquiredSpec(undefined, 'a', 15, now).leaseTransitions, 0);
  t.equal((JSON.parse(JSON.stringify(taken)) as { renewTime?: unknown }).renewTime, '2026-01-01T00:00:10.500000Z', 'serialized as MicroTime');
  const released = releasedSpec(held, now);
  t.equal(released.holderIdentity, undefined);
  t.equal(released.leaseDurationSeconds, 1);
  t.ok(mayAcquire(toLeaseRecord(JSON.parse(JSON.stringify(released))), 'b', now), 'a released lease is free at once');

  t.equal(duration('15s'), 15_000);
  t.equal(duration('1500'), 1500);
  t.equal(duration('250ms'), 250);
  t.equal(duration('1m'), 60_000);
  t.throws(() => duration('0'));
  t.throws(() => duration('5h'));
});

t.test('controller flags', async (t) => {
  const cli = buildCli();
  const controller = cli.commands.find((c) => c.name() === 'controller');
  if (controller === undefined) throw new Error('no controller command');
  controller.action(async () => undefined);
  await cli.parseAsync(['node', 'ovn-multinet', 'controller', '--nb-db', 'tcp:10.0.0.1:6641,tcp:10.0.0.2:6641', '--lease-duration', '20s', '--identity', 'me']);
  const options = parseControllerFlags(controller.opts());
  t.match(options, {
    kubeconfig: undefined,
    nbDb: ['tcp:10.0.0.1:6641', 'tcp:10.0.0.2:6641'],
    nbTls: undefined,
    dbInactivityProbeMs: 4500,
    identity: 'me',
    leaseName: 'ovn-multinet-controller',
    leaseDurationMs: 20_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    resyncMs: 60_000,
    logLevel: 'info',
  });
  t.same(controllerDefaults({ POD_NAMESPACE: 'kube-net', POD_NAME: 'ctl-0' }), { namespace: 'kube-net', identity: 'ctl-0' });
  t.equal(controllerDefaults({}).namespace, 'ovn-multinet');
  t.throws(() => nbFlags({ nbDb: ['ssl:h:1'], nbPrivateKey: 'k', dbInactivityProbe: 4500 }), FlagError, 'TLS files go together');
  t.same(nbFlags({ nbDb: ['ssl:h:1'], nbPrivateKey: 'k', nbCertificate: 'c', nbCaCert: 'a', dbInactivityProbe: 4500 }).nbTls, { key: 'k', cert: 'c', ca: 'a' });
  t.equal(echoIntervalFor(4500), 1500, 'a silent database is dropped two to three echo intervals after its last message: within the probe');
  t.throws(() => parseControllerFlags({ ...controller.opts(), logLevel: 'loud' }), { name: 'FlagError', message: /--log-level/ });
  t.throws(() => parseControllerFlags({ ...controller.opts(), leaseName: undefined }), { message: '--lease-name is required' });
});

t.test('the daemon\'s listener address: the flag, else OVN_MULTINET_METRICS_ADDRESS (the DaemonSet\'s node IP), else loopback', async (t) => {
  const addressOf = async (args: string[], env: string | undefined): Promise<unknown> => {
    const saved = process.env['OVN_MULTINET_METRICS_ADDRESS'];
    if (env === undefined) delete process.env['OVN_MULTINET_METRICS_ADDRESS'];
    else process.env['OVN_MULTINET_METRICS_ADDRESS'] = env;
    try {
      const cli = buildCli();
      const daemon = cli.commands.find((c) => c.name() === 'daemon');
      if (daemon === undefined) throw new Error('no daemon command');
      daemon.action(async () => undefined);
      await cli.parseAsync(['node', 'ovn-multinet', 'daemon', '--nb-db', 'tcp:10.0.0.1:6641', ...args]);
      return daemon.opts()['metricsAddress'];
    } finally {
      if (saved === undefined) delete process.env['OVN_MULTINET_METRICS_ADDRESS'];
      else process.env['OVN_MULTINET_METRICS_ADDRESS'] = saved;
    }
  };
  t.equal(await addressOf([], undefined), '127.0.0.1', 'loopback by default');
  t.equal(await addressOf([], '192.0.2.10'), '192.0.2.10', 'the environment');
  t.equal(await addressOf(['--metrics-address', '::1'], '192.0.2.10'), '::1', 'the flag wins');
});

t.test('reconcile trigger', async (t) => {
  const log = pino({ level: 'silent' });
  const passes: number[] = [];
  let result: PassResult = 'done';
  let gate: Promise<void> | undefined;
  const trigger = new Trigger({
    name: 'test',
    resyncMs: 60_000,
    debounceMs: 5,
    retryMs: 50,
    log,
    pass: async () => {
      passes.push(Date.now());
      await gate;
      return result;
    },
  });
  const count = (n: number) => until(`${n} passes`, () => (passes.length >= n ? true : undefined));
  const leadership = new AbortController();
  trigger.start(leadership.signal);
  await count(1);
  for (let i = 0; i < 5; i++) trigger.schedule();
  await count(2);
  await sleep(50);
  t.equal(passes.length, 2, 'events within the debounce make one pass');

  const open = Promise.withResolvers<void>();
  gate = open.promise;
  trigger.schedule();
  await count(3);
  trigger.schedule();
  trigger.schedule();
  gate = undefined;
  open.resolve();
  await count(4);
  await sleep(50);
  t.equal(passes.length, 4, 'events during a pass make one more pass after it');

  result = 'retry';
  passes.length = 0;
  trigger.schedule();
  await count(3);
  result = 'done';
  const gaps = passes.slice(1, 3).map((p, i) => p - (passes[i] ?? 0));
  t.ok((gaps[0] ?? 0) >= 45 && (gaps[1] ?? 0) >= 95, `retries back off, doubling: ${gaps.join(', ')} ms`);
  await count(4); // the retry already pending, then quiet
  await sleep(250);
  t.equal(passes.length, 4, 'done: no more passes');

  result = 'retry';
  trigger.schedule();
  await count(7); // backoff now at 200 ms
  result = 'done';
  const before = passes.length;
  const at = Date.now();
  trigger.schedule();
  await count(before + 1);
  t.ok(Date.now() - at < 150, 'an event does not wait for the backoff');

  leadership.abort();
  await trigger.stop();
  const stopped = passes.length;
  trigger.schedule();
  await sleep(50);
  t.equal(passes.length, stopped, 'stopped: nothing runs');
  trigger.start(new AbortController().signal);
  await count(stopped + 1);
  t.pass('restartable');
  await trigger.stop();
});
