/**
 * The policy bench's cluster (bench/policy.ts): one sandbox node (OVS + OVN in its own netns,
 * `dist/ovn-multinetd daemon`), the fake API server and `dist/ovn-multinetd controller` in that
 * netns, one logical switch with its NAD, and `pods` pods on it: two real ones (a netns each,
 * attached through the daemon: the probe's server and client) and the rest simulated (logical
 * switch ports written straight into the NB with the pod identity the daemon records, and pod
 * objects in the API server), then `policies` MultiNetworkPolicies.
 *
 * The shape (README.md, "Policy enforcement"): pod i is labelled app=app<i mod 10> and
 * group=g<i mod policies>; policy p selects app=app<p mod 10> and allows ingress from
 * group=g<p>. The probe's server is an app0 pod in no group, the client is in no app and no group
 * the policies name: policy 0 (pol-0) and the nine other app0 policies deny it the server.
 */
import { OWNER_VALUE, OwnerKeys, ScopeKeys } from '../daemon/ovn/ids.ts';
import type { OvsdbClient } from '../daemon/ovsdb/client.ts';
import { select } from '../daemon/ovsdb/ops.ts';
import { portGroupName } from '../daemon/policy/plan.ts';
import { startController, type ControllerProcess } from '../test/helpers/controller.ts';
import { startFakeApiServer, type FakeApi, type KubeObject } from '../test/helpers/fake-apiserver.ts';
import { createNetns, type Netns, type Teardown } from '../test/helpers/netns.ts';
import { DAEMON_BINARY, startNode, type TestNode } from '../test/helpers/node.ts';
import { until } from '../test/helpers/until.ts';
import { createSwitches, insertPorts, nbWriter } from './nb-fill.ts';
import { waitQuiet } from './proc.ts';
import { findDaemon, readMemory } from './rss.ts';

export const NAMESPACE = 'policy-bench';
export const SWITCH = 'bench-net';
const SUBNET = '10.80.0.0/16';
/** Simulated pods' addresses start here: the daemon allocates the real pods' from the bottom. */
const SIMULATED_BASE = (10 << 24) + (80 << 16) + (16 << 8);
const APPS = 10;
/** The probe client's group: no policy names it. */
export const CLIENT_GROUP = 'probe-client';

export const policyName = (p: number): string => `pol-${p}`;
export const groupOf = (p: number): string => `g${p}`;

/** The probe's pods: real netns attached through the daemon. */
export interface ProbePod {
  readonly name: string;
  readonly uid: string;
  readonly netns: Netns;
  /** IPv4 address without prefix length. */
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PolicyCluster {
  readonly node: TestNode;
  readonly api: FakeApi;
  readonly controller: ControllerProcess;
  /** The controller's own pid (checked by /proc/PID/exe). */
  readonly controllerPid: number;
  /** ovn-northd, ovn-controller, the NB and SB servers and ovs-vswitchd. */
  readonly ovnPids: readonly number[];
  /** The bench's own NB client (its monitor holds switch names only). */
  readonly nb: OvsdbClient;
  readonly server: ProbePod | undefined;
  readonly client: ProbePod | undefined;
  /** The port group of policy 0 on the switch (the probe's policy). */
  readonly probePortGroup: string;
  /** Milliseconds from the first policy written until the NB held every port group and member. */
  readonly settleMs: number;
}

export interface NbCounts {
  readonly portGroups: number;
  readonly addressSets: number;
  readonly acls: number;
  /** Total ports over all port groups, and addresses over all address sets. */
  readonly members: number;
  readonly addresses: number;
  /** The three tables' rows as JSON, bytes. */
  readonly bytes: number;
}

export interface Footprint {
  readonly nb: NbCounts;
  /** The controller's VmRSS once the plan has settled, KiB. */
  readonly rssKiB: number;
  /** The pods and MultiNetworkPolicies as the API server serves them (JSON), bytes. */
  readonly apiPodBytes: number;
  readonly apiPolicyBytes: number;
}

const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const macOf = (n: number): string => ['0a', '58', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');

export const simulatedLabels = (i: number, policies: number): Record<string, string> => ({ app: `app${i % APPS}`, group: groupOf(i % policies) });

/** A pod object as the API serves it. */
export function podObject(name: string, uid: string, nodeName: string, labels: Readonly<Record<string, string>>): KubeObject {
  return { metadata: { namespace: NAMESPACE, name, uid, labels: { ...labels } }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] }, status: { phase: 'Running' } };
}

/** Policy `p`, allowing ingress from group g<p> (and from `extraGroups`). */
export function policyObject(p: number, extraGroups: readonly string[] = []): KubeObject {
  const from = [groupOf(p), ...extraGroups].map((group) => ({ podSelector: { matchLabels: { group } } }));
  return {
    metadata: { namespace: NAMESPACE, name: policyName(p), annotations: { 'k8s.v1.cni.cncf.io/policy-for': SWITCH } },
    spec: { podSelector: { matchLabels: { app: `app${p % APPS}` } }, policyTypes: ['Ingress'], ingress: [{ from }] },
  };
}

/** Port-group members once settled: every pod of the policy's app (the probe server is an app0 pod). */
export function expectedMembers(pods: number, policies: number, withProbes: boolean): number {
  const simulated = withProbes ? pods - 2 : pods;
  let total = 0;
  for (let p = 0; p < policies; p++) {
    const app = p % APPS;
    total += Math.floor(simulated / APPS) + (app < simulated % APPS ? 1 : 0) + (withProbes && app === 0 ? 1 : 0);
  }
  return total;
}

/** Counts of the NB's Port_Group, Address_Set and ACL rows, read by select. */
export async function nbCounts(nb: OvsdbClient): Promise<NbCounts> {
  const [pg, as, acl] = await nb.transact([select('Port_Group', [], ['name', 'ports', 'acls', 'external_ids']), select('Address_Set', [], ['name', 'addresses', 'external_ids']), select('ACL', [])], AbortSignal.timeout(60_000));
  const size = (v: unknown): number => (Array.isArray(v) ? v.length : 0);
  const rows = (r: typeof pg): readonly Record<string, unknown>[] => r?.rows ?? [];
  const json = (r: typeof pg): number => Buffer.byteLength(JSON.stringify(rows(r), (_k, v: unknown) => (v instanceof Map ? [...v] : v)));
  return {
    portGroups: rows(pg).length,
    addressSets: rows(as).length,
    acls: rows(acl).length,
    members: rows(pg).reduce((n, r) => n + size(r['ports']), 0),
    addresses: rows(as).reduce((n, r) => n + size(r['addresses']), 0),
    bytes: json(pg) + json(as) + json(acl),
  };
}

export interface ClusterOptions {
  readonly pods: number;
  readonly policies: number;
  /** Attach the two real probe pods (else every pod is simulated). */
  readonly probes: boolean;
  readonly progress: (msg: string) => void;
}

/** Adds a real pod through the daemon (CNI ADD, K8S_POD_* in CNI_ARGS); DEL at teardown. */
async function attachProbe(t: Teardown, node: TestNode, api: FakeApi, name: string, labels: Record<string, string>, withObject: boolean): Promise<ProbePod> {
  const uid = `uid-${name}`;
  const netns = await createNetns(t, 'ompb');
  const call = { containerId: `pb-${name}`, netns: netns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NAMESPACE};K8S_POD_NAME=${name};K8S_POD_UID=${uid}` };
  const config = node.config(SWITCH);
  const out = await node.cni({ command: 'ADD', ...call }, config);
  if (out.exitCode !== 0) throw new Error(`ADD of ${name} failed: ${out.stdout}${out.stderr}`);
  t.teardown(() => node.cni({ command: 'DEL', ...call }, config));
  const ips = out.json?.['ips'] as Array<{ address: string }> | undefined;
  const ip = ips?.[0]?.address.split('/')[0];
  if (ip === undefined) throw new Error(`ADD of ${name} gave no address: ${out.stdout}`);
  if (withObject) await api.apply('pods', podObject(name, uid, node.daemon.nodeName, labels));
  return { name, uid, netns, ip, labels };
}

/** Starts everything and waits until the controller has written every policy's rows and is idle. */
export async function startPolicyCluster(t: Teardown, opts: ClusterOptions): Promise<PolicyCluster> {
  const { pods, policies, progress } = opts;
  const node = await startNode(t);
  const netns = node.env.SANDBOX_NETNS;
  const api = await startFakeApiServer(t, { netns });
  await api.upsertNamespace({ name: NAMESPACE });
  const nb = await nbWriter(t, node.env.NB_DB);
  const [switchUuid] = await createSwitches(nb, [{ name: SWITCH, otherConfig: new Map([['subnet', SUBNET]]) }]);
  if (switchUuid === undefined) throw new Error('no switch uuid');
  await api.apply('network-attachment-definitions', {
    metadata: { namespace: NAMESPACE, name: SWITCH },
    spec: { config: JSON.stringify({ cniVersion: '1.0.0', name: SWITCH, type: 'ovn-multinet', logicalSwitch: SWITCH }) },
  });

  let server: ProbePod | undefined;
  let client: ProbePod | undefined;
  if (opts.probes) {
    server = await attachProbe(t, node, api, 'probe-server', { app: 'app0', group: 'probe-server' }, true);
    client = await attachProbe(t, node, api, 'probe-client', { app: 'probe-client', group: CLIENT_GROUP }, true);
    progress(`probe pods attached: server ${server.ip}, client ${client.ip}`);
  }
  const simulated = opts.probes ? pods - 2 : pods;
  const started = Date.now();
  await insertPorts(nb, [switchUuid], simulated, (i) => {
    const n = SIMULATED_BASE + i;
    const entry = `${macOf(n)} ${dotted(n)}`;
    const name = `sim-${i}`;
    return {
      sw: 0,
      row: {
        name: `${name}_net1`,
        addresses: [entry],
        port_security: [entry],
        external_ids: new Map([
          [OwnerKeys.owner, OWNER_VALUE],
          [OwnerKeys.containerId, name],
          [OwnerKeys.ifName, 'net1'],
          [OwnerKeys.node, 'simulated-node'],
          [OwnerKeys.network, SWITCH],
          [OwnerKeys.podNamespace, NAMESPACE],
          [OwnerKeys.podName, name],
          [OwnerKeys.podUid, `uid-${name}`],
          [ScopeKeys.switch, switchUuid],
        ]),
      },
    };
  });
  for (let i = 0; i < simulated; i++) await api.apply('pods', podObject(`sim-${i}`, `uid-sim-${i}`, 'simulated-node', simulatedLabels(i, policies)));
  progress(`${simulated} simulated pods in the NB and the API server (${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const controller = startController(t, { netns, kubeconfig: api.kubeconfig, nbDb: node.env.NB_DB, api, resyncInterval: '60s' });
  await controller.leading();
  const found = await findDaemon(controller.child.pid, DAEMON_BINARY);
  if (typeof found === 'string') throw new Error(`the controller's pid: ${found}`);
  const ovnPids = await node.sandbox.pids();

  const written = Date.now();
  for (let p = 0; p < policies; p++) await api.apply('multi-networkpolicies', policyObject(p));
  const members = expectedMembers(pods, policies, opts.probes);
  await until(`${policies} port groups with ${members} members in the NB`, async () => {
    const c = await nbCounts(nb);
    return c.portGroups === policies && c.members === members ? true : undefined;
  }, 300_000);
  const settleMs = Date.now() - written;
  const quiet = await waitQuiet([found.pid, ...ovnPids], { maxShare: 0.1, maxMs: 120_000 });
  progress(`${policies} policies enforced ${settleMs} ms after the first was written; OVN and the controller idle ${quiet.ms} ms later${quiet.timedOut ? ' (not idle: gave up)' : ''}`);
  return { node, api, controller, controllerPid: found.pid, ovnPids, nb, server, client, probePortGroup: portGroupName(NAMESPACE, policyName(0), SWITCH), settleMs };
}

/** NB rows, the controller's memory and the API objects' sizes, read now. */
export async function footprint(c: PolicyCluster): Promise<Footprint> {
  const nb = await nbCounts(c.nb);
  const { rssKiB } = await readMemory(c.controllerPid);
  const bytes = async (resource: 'pods' | 'multi-networkpolicies'): Promise<number> => Buffer.byteLength(JSON.stringify(await c.api.list(resource)));
  return { nb, rssKiB, apiPodBytes: await bytes('pods'), apiPolicyBytes: await bytes('multi-networkpolicies') };
}
