/**
 * The IPAMClaim set-up of the two-node harness: one NB, one fake API server both daemons watch
 * (IPAMClaims, pods; api-nodes.ts), and pods whose network-selection element names a claim.
 */
import { createNetns, type Netns, type Teardown } from './netns.ts';
import type { CniOutcome } from './node.ts';
import type { FakeApi } from './fake-apiserver.ts';
import type { ClusterNode, TwoNodes } from './two-nodes.ts';
import { startApiNodes, watchesOf } from './api-nodes.ts';
import { until } from './until.ts';

export const CLAIM_NAMESPACE = 'vms';
const ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

export interface ClaimPod {
  name: string;
  ns: Netns;
  out: CniOutcome;
  /** The first address with its prefix length, as the result gives it. */
  ip: string;
  mac: string;
  call: { containerId: string; netns: string; ifName: string; args: string };
  node: ClusterNode;
  persistent: boolean;
}

export interface AttachOptions {
  claim?: string;
  persistent?: boolean;
  ips?: string[];
  /** Another pod's netns (an ADD repeated for the same container). */
  reuse?: ClaimPod;
  /** Runs in the new pod's netns before its ADD. */
  prepare?: (ns: Netns) => Promise<unknown>;
}

export interface ClaimCluster {
  nodes: TwoNodes;
  api: FakeApi;
  kubeconfig: string;
  network: string;
  /** Creates (or replaces) IPAMClaim `name` for `network` (default: the cluster's). */
  claim: (name: string, network?: string) => Promise<unknown>;
  /** ADD of a new pod on `node` (DEL armed at `t`'s teardown). */
  attach: (t: Teardown, node: ClusterNode, opts?: AttachOptions) => Promise<ClaimPod>;
  /** DEL of the pod, as its node's runtime sends it. */
  del: (pod: ClaimPod) => Promise<CniOutcome>;
  /** CHECK of the pod with its ADD result as prevResult. */
  check: (pod: ClaimPod) => Promise<CniOutcome>;
  /** The logical switch's external_ids (reservations, guard keys), as ovn-nbctl prints them. */
  reservations: () => Promise<string>;
  claimStatus: (name: string) => Promise<unknown>;
}

/** Two nodes sharing an API server (api-nodes.ts), and logical switch `network` with `subnet`. */
export async function startClaimCluster(t: Teardown, opts: { network: string; subnet: string; daemonArgs?: readonly string[] }): Promise<ClaimCluster> {
  const { network } = opts;
  const { nodes, api, kubeconfig } = await startApiNodes(t, { daemonArgs: opts.daemonArgs });
  await nodes.nbctl(['ls-add', network, '--', 'set', 'logical_switch', network, `other_config:subnet=${opts.subnet}`]);
  // In a cluster a pod reaches a switch only through a Network admitting its namespace.
  await api.upsertNamespace({ name: CLAIM_NAMESPACE });
  await api.upsertNetwork({ name: network, logicalSwitch: network, namespaceSelector: {} });
  await until('both daemons watching IPAMClaims', async () => ((await watchesOf(api, '/apis/k8s.cni.cncf.io/v1alpha1/ipamclaims')) >= 2 ? true : undefined), 30_000);

  let podCount = 0;
  const configOf = (pod: { node: ClusterNode; persistent: boolean }): Record<string, unknown> => pod.node.config(network, pod.persistent ? { allowPersistentIPs: true } : {});
  const cluster: ClaimCluster = {
    nodes,
    api,
    kubeconfig,
    network,
    claim: (name, claimNetwork = network) => api.apply('ipamclaims', { metadata: { namespace: CLAIM_NAMESPACE, name }, spec: { network: claimNetwork, interface: 'net1' } }),
    attach: async (t, node, o = {}) => {
      const persistent = o.persistent ?? true;
      let name: string;
      let ns: Netns;
      if (o.reuse === undefined) {
        name = `pod-${++podCount}`;
        const element: Record<string, unknown> = { name: network };
        if (o.claim !== undefined) element['ipam-claim-reference'] = o.claim;
        if (o.ips !== undefined) element['ips'] = o.ips;
        await api.upsert({ namespace: CLAIM_NAMESPACE, name, uid: `uid-${name}`, nodeName: node.name, annotations: { [ANNOTATION]: JSON.stringify([element]) } });
        ns = await createNetns(t, 'omclaim');
        await o.prepare?.(ns);
      } else {
        ({ name, ns } = o.reuse);
      }
      const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${CLAIM_NAMESPACE};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}`;
      const call = { containerId: `c-${name}`, netns: ns.path, ifName: 'net1', args };
      const out = await node.cni({ command: 'ADD', ...call }, configOf({ node, persistent }));
      if (o.reuse === undefined) t.teardown(() => node.cni({ command: 'DEL', ...call }, configOf({ node, persistent })));
      const ips = out.json?.['ips'] as Array<{ address: string }> | undefined;
      const ifaces = out.json?.['interfaces'] as Array<{ mac: string }> | undefined;
      return { name, ns, out, ip: ips?.[0]?.address ?? '', mac: ifaces?.[1]?.mac ?? '', call, node, persistent };
    },
    del: (pod) => pod.node.cni({ command: 'DEL', ...pod.call }, configOf(pod)),
    check: (pod) => pod.node.cni({ command: 'CHECK', ...pod.call }, { ...configOf(pod), prevResult: pod.out.json }),
    reservations: () => nodes.nbctl(['get', 'logical_switch', network, 'external_ids']),
    claimStatus: async (name) => (await api.get('ipamclaims', CLAIM_NAMESPACE, name))?.['status'],
  };
  return cluster;
}

/** ICMP echo requests the pod's namespace has received (its Icmp InEchos counter). */
export async function echoesIn(ns: Netns): Promise<number> {
  const [names = [], values = []] = (await ns.exec(['cat', '/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Icmp:')).map((l) => l.split(/\s+/));
  return Number(values[names.indexOf('InEchos')]);
}
