// NamespacedNetworks, the pure parts: the derived switch name, the spec as a NAD config (the
// plugin's parser, no localnet, no unknown key, the admin's exclusions), the plan (finalizer,
// NAD create/update/keep, foreign NAD, deletion: NAD, waiting for ports, empty switch, finalizer;
// orphan NADs), the conditions, the Network plan leaving tenant NADs alone, and the daemon's
// access rule (admits its own namespace alone, only once accepted for the current generation).
import t from 'tap';
import { tenantSwitchName, isTenantSwitch } from '../../daemon/k8s/tenant-switch.ts';
import { excludedSubnet, namespacedDefinitionOf, SWITCH_FINALIZER } from '../../daemon/k8s/namespaced.ts';
import { namespacedCovering } from '../../daemon/k8s/namespaced-access.ts';
import { checkAccess, type CoveringNetwork } from '../../daemon/k8s/access.ts';
import { definitionOf } from '../../daemon/k8s/definition.ts';
import { parseConfig } from '../../daemon/netconf/parse.ts';
import { planTenantNetworks, type TenantPlanInput } from '../../daemon/controller/tenant-plan.ts';
import { toNamespacedNetworkObject, NAMESPACED_NETWORK_LABEL, type NamespacedNetworkObject } from '../../daemon/controller/tenant-objects.ts';
import { planNads } from '../../daemon/controller/plan.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, toNadObject, type NadObject } from '../../daemon/controller/objects.ts';
import { parseSubnet, type Subnet } from '../../daemon/lib/ip.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';
import { NetworkSpecError } from '../../daemon/errors.ts';

const SPEC = { topology: 'layer2', subnets: ['10.80.0.0/24'], mtu: 1400 };
const subnets = (...cidrs: string[]): Subnet[] => cidrs.map((c) => parseSubnet(c) ?? (() => { throw new Error(c); })());

function object(namespace: string, name: string, spec: Record<string, unknown>, extra: { finalizers?: string[]; deleting?: boolean; conditions?: unknown[]; generation?: number } = {}): Record<string, unknown> {
  return {
    metadata: { namespace, name, uid: `uid-${namespace}-${name}`, resourceVersion: '5', generation: extra.generation ?? 2, finalizers: extra.finalizers ?? [SWITCH_FINALIZER], ...(extra.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec,
    status: { conditions: extra.conditions ?? [] },
  };
}
function network(...args: Parameters<typeof object>): NamespacedNetworkObject {
  const n = toNamespacedNetworkObject(object(...args));
  if (n === undefined) throw new Error('bad object');
  return n;
}
function nad(namespace: string, name: string, config: string, labels: Record<string, string>, ownerUid = `uid-${namespace}-${name}`): NadObject {
  const n = toNadObject({ metadata: { namespace, name, resourceVersion: '9', labels, ownerReferences: [{ uid: ownerUid }] }, spec: { config } });
  if (n === undefined) throw new Error('bad nad');
  return n;
}
const tenantLabels = (name: string): Record<string, string> => ({ [MANAGED_BY_LABEL]: MANAGED_BY, [NAMESPACED_NETWORK_LABEL]: name });
const input = (over: Partial<TenantPlanInput>): TenantPlanInput => ({ networks: [], nads: [], excluded: [], switches: () => ({ kind: 'missing' }), tenantSwitches: [], ...over });
/** What `fn` throws (undefined when it does not). */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
const UUID = '8f0e9d36-0c1d-4e5f-9a7b-1c2d3e4f5a6b' as Uuid;

t.test('the switch name: prefix, separator, no collision between namespaces', async (t) => {
  t.equal(tenantSwitchName('team-a', 'blue'), 'omn-tenant/team-a/blue');
  t.not(tenantSwitchName('a-b', 'c'), tenantSwitchName('a', 'b-c'), '"/" cannot appear in either name');
  t.ok(isTenantSwitch('omn-tenant/x/y'));
  t.notOk(isTenantSwitch('blue'));
  t.ok(tenantSwitchName('a'.repeat(63), 'b'.repeat(63)).length <= 138, 'length-bounded');
});

t.test('the spec as a NAD config, checked by the plugin parser', async (t) => {
  const d = namespacedDefinitionOf('team-a', 'blue', SPEC);
  t.same(JSON.parse(d.config), { cniVersion: '1.0.0', name: 'blue', type: 'ovn-multinet', capabilities: { ips: true, mac: true, bandwidth: true }, logicalSwitch: 'omn-tenant/team-a/blue', ...SPEC });
  t.equal(d.switchName, 'omn-tenant/team-a/blue');
  t.same(JSON.parse(d.managed ?? ''), { topology: 'layer2', subnets: ['10.80.0.0/24'], excludeSubnets: [] });
  const refused = (name: string, spec: Record<string, unknown>, message: string | RegExp): void => {
    const err = caught(() => namespacedDefinitionOf('team-a', name, spec));
    t.ok(err instanceof NetworkSpecError, String(message));
    t.match(err instanceof Error ? err.message : '', message);
  };
  refused('blue', { ...SPEC, topology: 'localnet', physicalNetworkName: 'p' }, /^spec\.physicalNetworkName: is not a setting of a NamespacedNetwork/);
  refused('blue', { ...SPEC, topology: 'localnet' }, /^spec\.topology: localnet reaches a physical network/);
  refused('blue', { subnets: ['10.0.0.0/24'] }, 'spec.topology: is required');
  refused('blue', { ...SPEC, logicalSwitch: 'admin-net' }, /^spec\.logicalSwitch: is not a setting/);
  refused('blue', { ...SPEC, portSecurity: false }, /^spec\.portSecurity: is not a setting/);
  refused('blue', { ...SPEC, subnets: ['10.80.0.1/24'] }, /^spec\.subnets\[0\]: host bits are set/);
  refused('blue', { ...SPEC, mtu: 10 }, /^spec\.mtu: /);
  refused('blue', { ...SPEC, topology: 'mesh' }, /^spec\.topology: must be one of/);
  refused('Blue', SPEC, /^metadata\.name: must be a DNS-1123 label/);
  refused('a.b', SPEC, /^metadata\.name: /);
});

t.test("the admin's exclusions", async (t) => {
  const d = namespacedDefinitionOf('team-a', 'blue', { topology: 'layer2', subnets: ['fd00::/64', '10.96.4.0/24'] });
  t.equal(excludedSubnet(d, subnets('10.96.0.0/12'))?.message, 'spec.subnets[1]: 10.96.4.0/24 overlaps 10.96.0.0/12, which the cluster admin keeps from NamespacedNetworks (--tenant-excluded-subnets)');
  t.equal(excludedSubnet(d, subnets('10.0.0.0/12', 'fd01::/64')), undefined, 'no overlap, other family too');
  t.match(excludedSubnet(d, subnets('fd00::/48'))?.message, /^spec\.subnets\[0\]: fd00::\/64 overlaps fd00::\/48/);
  t.equal(excludedSubnet(d, subnets('10.96.4.128/25'))?.field, 'spec.subnets[1]', 'an exclusion inside the subnet overlaps too');
});

t.test('a Network never covers a tenant switch', async (t) => {
  t.match(caught(() => definitionOf('grab', { logicalSwitch: 'omn-tenant/team-a/blue', namespaceSelector: {} })), { name: 'NetworkSpecError', field: 'spec.logicalSwitch' });
  t.match(caught(() => definitionOf('grab', { config: { ...SPEC, logicalSwitch: 'omn-tenant/team-a/blue' } })), { name: 'NetworkSpecError', field: 'spec.config.logicalSwitch' });
});

t.test('plan: a new one gets its finalizer, acceptance and a NAD in its namespace', async (t) => {
  const n = network('team-a', 'blue', SPEC, { finalizers: [] });
  const plan = planTenantNetworks(input({ networks: [n] }));
  t.same(plan.actions.map((a) => a.kind), ['add-finalizer', 'create-nad']);
  const create = plan.actions[1];
  if (create?.kind !== 'create-nad') throw new Error('no create');
  t.equal(create.namespace, 'team-a');
  t.match(create.body, {
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'blue', namespace: 'team-a', labels: tenantLabels('blue'), ownerReferences: [{ apiVersion: 'ovn-multinet.io/v1', kind: 'NamespacedNetwork', name: 'blue', uid: 'uid-team-a-blue', controller: true }] },
  });
  t.same(plan.verdicts[0]?.conditions, [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'managed network on logical switch omn-tenant/team-a/blue' },
    { type: 'Ready', status: 'True', reason: 'NetworkAttachmentDefinitionReady', message: 'NetworkAttachmentDefinition blue in namespace team-a' },
  ]);
});

t.test('plan: an up-to-date NAD is kept, a stale one updated, a foreign one left alone', async (t) => {
  const n = network('team-a', 'blue', SPEC);
  const config = namespacedDefinitionOf('team-a', 'blue', SPEC).config;
  t.same(planTenantNetworks(input({ networks: [n], nads: [nad('team-a', 'blue', config, tenantLabels('blue'))] })).actions, []);
  t.same(planTenantNetworks(input({ networks: [n], nads: [nad('team-a', 'blue', '{}', tenantLabels('blue'))] })).actions.map((a) => a.kind), ['update-nad']);
  const foreign = planTenantNetworks(input({ networks: [n], nads: [nad('team-a', 'blue', config, {})] }));
  t.same(foreign.actions, []);
  t.match(foreign.verdicts[0]?.conditions[1], { status: 'False', reason: 'ForeignNetworkAttachmentDefinition' });
  const networkOwned = planTenantNetworks(input({ networks: [n], nads: [nad('team-a', 'blue', config, { [MANAGED_BY_LABEL]: MANAGED_BY })] }));
  t.match(networkOwned.verdicts[0]?.conditions[1], { reason: 'ForeignNetworkAttachmentDefinition' }, "a cluster Network's NAD of that name is foreign here");
});

t.test('plan: refused specs keep their NAD, with the reason', async (t) => {
  const bad = planTenantNetworks(input({ networks: [network('team-a', 'blue', { ...SPEC, topology: 'localnet' })] }));
  t.same(bad.actions, []);
  t.match(bad.verdicts[0]?.conditions, [{ type: 'Accepted', status: 'False', reason: 'InvalidSpec', message: /^spec\.topology: / }, { type: 'Ready', status: 'False', reason: 'NotAccepted' }]);
  const excluded = planTenantNetworks(input({ networks: [network('team-a', 'svc', { topology: 'layer2', subnets: ['10.100.0.0/24'] })], excluded: subnets('10.96.0.0/12') }));
  t.match(excluded.verdicts[0]?.conditions[0], { status: 'False', reason: 'ExcludedSubnet', message: /^spec\.subnets\[0\]: 10\.100\.0\.0\/24 overlaps 10\.96\.0\.0\/12/ });
  t.same(excluded.actions, []);
});

t.test('plan: deletion waits for ports, deletes the empty switch, then the finalizer', async (t) => {
  const n = network('team-a', 'blue', SPEC, { deleting: true });
  const config = namespacedDefinitionOf('team-a', 'blue', SPEC).config;
  const own = nad('team-a', 'blue', config, tenantLabels('blue'));
  const busy = planTenantNetworks(input({ networks: [n], nads: [own], switches: () => ({ kind: 'present', uuid: UUID, ports: 2 }) }));
  t.same(busy.actions.map((a) => a.kind), ['delete-nad'], 'its NAD goes at once');
  t.same(busy.verdicts[0]?.conditions, [{ type: 'Ready', status: 'False', reason: 'WaitingForPorts', message: 'deleting: waiting for 2 ports on logical switch omn-tenant/team-a/blue to go' }]);
  const empty = planTenantNetworks(input({ networks: [n], switches: () => ({ kind: 'present', uuid: UUID, ports: 0 }) }));
  t.match(empty.actions, [{ kind: 'delete-switch', switchName: 'omn-tenant/team-a/blue', use: { uuid: UUID } }]);
  t.same(planTenantNetworks(input({ networks: [n], nads: [own] })).actions.map((a) => a.kind), ['delete-nad'], 'the finalizer stays while its NAD is there');
  t.same(planTenantNetworks(input({ networks: [n] })).actions.map((a) => a.kind), ['remove-finalizer']);
  t.same(planTenantNetworks(input({ networks: [n], switches: () => ({ kind: 'unknown', why: 'not read' }) })).actions, [], 'nothing while the NB is not read');
  t.same(planTenantNetworks(input({ networks: [network('team-a', 'blue', SPEC, { deleting: true, finalizers: ['other'] })] })).actions, [], "another's finalizer is not touched");
});

t.test("plan: NADs of a NamespacedNetwork that is gone are deleted; a Network's plan leaves them alone", async (t) => {
  const orphan = nad('team-a', 'blue', '{}', tenantLabels('blue'));
  t.match(planTenantNetworks(input({ nads: [orphan] })).actions, [{ kind: 'delete-nad', namespace: 'team-a', name: 'blue' }]);
  const networks = planNads({ networks: [], namespaces: [], nads: [orphan], switches: () => 'unknown' });
  t.same(networks.actions, [], 'not deleted as a NAD of a Network that is gone');
});

t.test('the daemon: covers its switch once accepted, admits its own namespace alone', async (t) => {
  const accepted = (generation: number): unknown[] => [{ type: 'Accepted', status: 'True', reason: 'Accepted', observedGeneration: generation }];
  t.equal(namespacedCovering(object('team-a', 'blue', SPEC)), undefined, 'not yet accepted: covers nothing');
  t.equal(namespacedCovering(object('team-a', 'blue', SPEC, { conditions: accepted(1), generation: 2 })), undefined, 'accepted for an older generation: nothing');
  t.equal(namespacedCovering(object('team-a', 'blue', SPEC, { conditions: accepted(2), deleting: true })), undefined, 'being deleted: nothing');
  const covering = namespacedCovering(object('team-a', 'blue', SPEC, { conditions: accepted(2) }));
  if (covering === undefined || covering instanceof NetworkSpecError) throw new Error('not covering');
  t.equal(covering.grant.switchName, 'omn-tenant/team-a/blue');
  const conf = parseConfig(JSON.parse(namespacedDefinitionOf('team-a', 'blue', SPEC).config) as Record<string, unknown>);
  const check = (namespace: string, c = conf, list: CoveringNetwork[] = [covering]) => () => checkAccess({ conf: c, namespace, labels: new Map() }, list);
  t.doesNotThrow(check('team-a'));
  t.match(caught(check('team-b')), { name: 'NetworkAccessDeniedError', field: 'logicalSwitch', details: /NamespacedNetwork team-a\/blue: it admits its own namespace team-a alone/ });
  t.match(caught(check('team-a', { ...conf, portSecurity: false })), { name: 'NetworkAccessDeniedError', field: 'portSecurity' }, 'port security stays on');
  const other = parseConfig({ ...(JSON.parse(namespacedDefinitionOf('team-a', 'blue', SPEC).config) as Record<string, unknown>), subnets: ['10.81.0.0/24'] });
  t.match(caught(check('team-a', other)), { name: 'NetworkAccessDeniedError', field: 'subnets' });
});

t.test('plan: an empty tenant switch no NamespacedNetwork has is deleted; a busy one is kept', async (t) => {
  const n = network('team-a', 'blue', SPEC);
  const config = namespacedDefinitionOf('team-a', 'blue', SPEC).config;
  const nads = [nad('team-a', 'blue', config, tenantLabels('blue'))];
  const switches = (ports: number) => (name: string) => ({ kind: 'present' as const, uuid: UUID, ports: name.endsWith('gone') ? ports : 3 });
  const plan = planTenantNetworks(input({ networks: [n], nads, tenantSwitches: ['omn-tenant/team-a/blue', 'omn-tenant/team-b/gone'], switches: switches(0) }));
  t.match(plan.actions, [{ kind: 'delete-switch', namespace: 'team-b', name: 'gone', switchName: 'omn-tenant/team-b/gone' }], "only the orphan; team-a/blue's switch is its network's");
  t.same(planTenantNetworks(input({ networks: [n], nads, tenantSwitches: ['omn-tenant/team-b/gone'], switches: switches(1) })).actions, [], 'kept while a port is on it');
});
