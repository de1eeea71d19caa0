/**
 * Two OVN nodes (two-nodes.ts) whose daemons share one fake API server. It runs in node A's
 * namespace, on a veth pair of its own between the two node namespaces (192.168.201.0/24), so both
 * daemons reach it and no traffic leaves the test's namespaces. The daemons start before it is up:
 * their list+watch retries until it is.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardown } from './netns.ts';
import { kubeconfigFor, startFakeApiServer, type FakeApi } from './fake-apiserver.ts';
import { startTwoNodes, type TwoNodes } from './two-nodes.ts';
import { until } from './until.ts';

const API_HOST = '192.168.201.1';
const API_PORT = 6443;

export interface ApiNodes {
  nodes: TwoNodes;
  api: FakeApi;
  /** The daemons' --kubeconfig (the controller's too, run in node A's namespace). */
  kubeconfig: string;
}

/** The management link the API server listens on: a plain veth pair between the node namespaces. */
async function connectManagement(nodes: TwoNodes): Promise<void> {
  await nodes.a.netns.exec(['ip', 'link', 'add', 'mgmt-a', 'type', 'veth', 'peer', 'name', 'mgmt-b', 'netns', nodes.b.netns.name]);
  await nodes.a.netns.exec(['ip', 'addr', 'add', `${API_HOST}/24`, 'dev', 'mgmt-a']);
  await nodes.a.netns.exec(['ip', 'link', 'set', 'mgmt-a', 'up']);
  await nodes.b.netns.exec(['ip', 'addr', 'add', '192.168.201.2/24', 'dev', 'mgmt-b']);
  await nodes.b.netns.exec(['ip', 'link', 'set', 'mgmt-b', 'up']);
}

/** How many watches of `path` (an API path) the server has been asked for. */
export async function watchesOf(api: FakeApi, path: string): Promise<number> {
  return (await api.requests()).filter((r) => r.startsWith(`GET ${path}?`) && r.includes('watch=true')).length;
}

/** The two nodes and the API server; resolves once both daemons watch Networks (the access rule's source). */
export async function startApiNodes(t: Teardown, opts: { daemonArgs?: readonly string[] | undefined } = {}): Promise<ApiNodes> {
  const dir = await mkdtemp(join(tmpdir(), 'om-api-nodes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigFor(`http://${API_HOST}:${API_PORT}`));
  const nodes = await startTwoNodes(t, { daemonArgs: ['--kubeconfig', kubeconfig, ...(opts.daemonArgs ?? [])] });
  await connectManagement(nodes);
  const api = await startFakeApiServer(t, { netns: nodes.a.netns.name, host: API_HOST, port: API_PORT });
  await until('both daemons watching Networks', async () => ((await watchesOf(api, '/apis/ovn-multinet.io/v1/networks')) >= 2 ? true : undefined), 30_000);
  return { nodes, api, kubeconfig };
}
