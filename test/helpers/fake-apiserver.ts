/**
 * A Kubernetes API server for pods, namespaces and Networks (ovn-multinet.io/v1, cluster-scoped),
 * as much as the daemon uses: list (pods with a field selector; metadata.resourceVersion), watch
 * from a resourceVersion (JSON lines of ADDED/MODIFIED/DELETED), and GET of one object (404 as a
 * Status). Plain http on 127.0.0.1, random port, no auth; the real
 * client library talks to it through a kubeconfig file written next to it.
 *
 * The e2e daemon runs in the sandbox's network namespace, where 127.0.0.1 is that namespace's
 * own loopback, not the test's. So this file is also a script: `node fake-apiserver.ts serve`
 * run with `ip netns exec NS` listens inside the daemon's namespace and is driven over its
 * stdin/stdout (one JSON command and one JSON answer per line), which need no network at all.
 * startFakeApiServer() hides the difference: the same handle in-process or in a namespace.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Teardown } from './netns.ts';

export interface FakePod {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  annotations?: Record<string, string>;
}

export interface UpsertOptions {
  /** Keep it out of lists and watches (GET still finds it): an ADD that beats the watch event. */
  hidden?: boolean;
}

type PodObject = {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { namespace: string; name: string; uid: string; resourceVersion: string; annotations: Record<string, string> };
  spec: { nodeName: string; containers: Array<{ name: string; image: string }> };
};

export interface FakeNamespace {
  name: string;
  labels?: Record<string, string>;
}

export interface FakeNetwork {
  name: string;
  /** Sent as is (a LabelSelector, or anything, to test validation); absent when undefined. */
  namespaceSelector?: unknown;
  logicalSwitch?: string;
}

type ClusterObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid: string; resourceVersion: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
};

/** The cluster-scoped resources served, by their path. */
const CLUSTER_PATHS = { namespaces: '/api/v1/namespaces', networks: '/apis/ovn-multinet.io/v1/networks' } as const;
export type ClusterResource = keyof typeof CLUSTER_PATHS;
const LIST_KINDS: Record<ClusterResource, { apiVersion: string; kind: string }> = {
  namespaces: { apiVersion: 'v1', kind: 'NamespaceList' },
  networks: { apiVersion: 'ovn-multinet.io/v1', kind: 'NetworkList' },
};

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
type Resource = 'pods' | ClusterResource;

interface Watcher {
  resource: Resource;
  node: string | undefined;
  res: ServerResponse;
}

interface HistoryEntry {
  rv: number;
  type: EventType;
  resource: Resource;
  object: PodObject | ClusterObject;
  node: string | undefined;
}

/** The server itself, in this process. */
export class FakeApiServer {
  readonly #pods = new Map<string, { pod: PodObject; hidden: boolean }>();
  readonly #cluster: Record<ClusterResource, Map<string, ClusterObject>> = { namespaces: new Map(), networks: new Map() };
  readonly #history: HistoryEntry[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #server: Server;
  #rv = 100;
  /** `METHOD path?query` of every request, for tests that check what the client asked. */
  readonly requests: string[] = [];
  url = '';

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  upsert(pod: FakePod, options: UpsertOptions = {}): PodObject {
    const key = `${pod.namespace}/${pod.name}`;
    const existed = this.#pods.get(key);
    const object: PodObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: pod.namespace, name: pod.name, uid: pod.uid, resourceVersion: String(++this.#rv), annotations: pod.annotations ?? {} },
      spec: { nodeName: pod.nodeName, containers: [{ name: 'c', image: 'busybox' }] },
    };
    const hidden = options.hidden ?? false;
    this.#pods.set(key, { pod: object, hidden });
    if (!hidden) this.#emit(existed === undefined || existed.hidden ? 'ADDED' : 'MODIFIED', 'pods', object, object.spec.nodeName);
    return object;
  }

  upsertNamespace(ns: FakeNamespace): void {
    this.#upsertCluster('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, uid: `uid-ns-${ns.name}`, resourceVersion: '', labels: ns.labels ?? {} } });
  }

  upsertNetwork(net: FakeNetwork): void {
    const spec: Record<string, unknown> = {};
    if (net.namespaceSelector !== undefined) spec['namespaceSelector'] = net.namespaceSelector;
    if (net.logicalSwitch !== undefined) spec['logicalSwitch'] = net.logicalSwitch;
    this.#upsertCluster('networks', { apiVersion: 'ovn-multinet.io/v1', kind: 'Network', metadata: { name: net.name, uid: `uid-net-${net.name}`, resourceVersion: '' }, spec });
  }

  #upsertCluster(resource: ClusterResource, object: ClusterObject): void {
    const store = this.#cluster[resource];
    const existed = store.has(object.metadata.name);
    object.metadata.resourceVersion = String(++this.#rv);
    store.set(object.metadata.name, object);
    this.#emit(existed ? 'MODIFIED' : 'ADDED', resource, object, undefined);
  }

  deleteCluster(resource: ClusterResource, name: string): void {
    const store = this.#cluster[resource];
    const existed = store.get(name);
    if (existed === undefined) return;
    store.delete(name);
    this.#emit('DELETED', resource, { ...existed, metadata: { ...existed.metadata, resourceVersion: String(++this.#rv) } }, undefined);
  }

  delete(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const existed = this.#pods.get(key);
    if (existed === undefined) return;
    this.#pods.delete(key);
    const object = { ...existed.pod, metadata: { ...existed.pod.metadata, resourceVersion: String(++this.#rv) } };
    if (!existed.hidden) this.#emit('DELETED', 'pods', object, object.spec.nodeName);
  }

  #emit(type: EventType, resource: Resource, object: PodObject | ClusterObject, node: string | undefined): void {
    this.#history.push({ rv: this.#rv, type, resource, object, node });
    for (const w of this.#watchers) {
      if (w.resource === resource && (w.node === undefined || w.node === node)) w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  #watch(req: IncomingMessage, res: ServerResponse, url: URL, resource: Resource, node: string | undefined): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    for (const e of this.#history) {
      if (e.rv > from && e.resource === resource && (node === undefined || e.node === node)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
    const watcher: Watcher = { resource, node, res };
    this.#watchers.add(watcher);
    req.on('close', () => this.#watchers.delete(watcher));
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.#json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push(`${req.method ?? '?'} ${url.pathname}${url.search}`);
    if (req.method !== 'GET') return this.#status(res, 405, 'MethodNotAllowed', 'only GET is served');
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const node = /^spec\.nodeName=(.*)$/.exec(selector)?.[1];
    if (selector !== '' && node === undefined) return this.#status(res, 400, 'BadRequest', `unsupported field selector ${selector}`);
    const one = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (one !== null) {
      const found = this.#pods.get(`${decodeURIComponent(one[1] ?? '')}/${decodeURIComponent(one[2] ?? '')}`);
      if (found === undefined) return this.#status(res, 404, 'NotFound', `pods "${one[2] ?? ''}" not found`);
      return this.#json(res, 200, found.pod);
    }
    const watch = url.searchParams.get('watch');
    const watching = watch === 'true' || watch === '1';
    for (const [resource, path] of Object.entries(CLUSTER_PATHS) as Array<[ClusterResource, string]>) {
      const store = this.#cluster[resource];
      if (url.pathname.startsWith(`${path}/`)) {
        const name = decodeURIComponent(url.pathname.slice(path.length + 1));
        const found = store.get(name);
        if (found === undefined) return this.#status(res, 404, 'NotFound', `${resource} "${name}" not found`);
        return this.#json(res, 200, found);
      }
      if (url.pathname !== path) continue;
      if (watching) return this.#watch(req, res, url, resource, undefined);
      return this.#json(res, 200, { ...LIST_KINDS[resource], metadata: { resourceVersion: String(this.#rv) }, items: [...store.values()] });
    }
    if (url.pathname !== '/api/v1/pods') return this.#status(res, 404, 'NotFound', `${url.pathname} is not served`);
    if (watching) return this.#watch(req, res, url, 'pods', node);
    const items = [...this.#pods.values()].filter((p) => !p.hidden && (node === undefined || p.pod.spec.nodeName === node)).map((p) => p.pod);
    return this.#json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) }, items });
  }
}

/** A kubeconfig for an http server without auth. */
export function kubeconfigFor(url: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses http:// unless TLS verification is off (there is no TLS to verify).
    clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'fake', user: {} }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    'current-context': 'fake',
  });
}

/** The same operations wherever the server runs. */
export interface FakeApi {
  url: string;
  /** A kubeconfig file pointing at the server. */
  kubeconfig: string;
  upsert(pod: FakePod, options?: UpsertOptions): Promise<void>;
  delete(namespace: string, name: string): Promise<void>;
  upsertNamespace(ns: FakeNamespace): Promise<void>;
  upsertNetwork(net: FakeNetwork): Promise<void>;
  deleteCluster(resource: ClusterResource, name: string): Promise<void>;
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

type Command =
  | { id: number; op: 'upsert'; pod: FakePod; options: UpsertOptions }
  | { id: number; op: 'delete'; namespace: string; name: string }
  | { id: number; op: 'upsertNamespace'; ns: FakeNamespace }
  | { id: number; op: 'upsertNetwork'; net: FakeNetwork }
  | { id: number; op: 'deleteCluster'; resource: ClusterResource; name: string }
  | { id: number; op: 'requests' };
type Request = Command extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never;

/** Starts the server here (no netns) or inside network namespace `netns`; stopped at teardown. */
export async function startFakeApiServer(t: Teardown, opts: { netns?: string } = {}): Promise<FakeApi> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-k8s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  let api: FakeApi;
  if (opts.netns === undefined || opts.netns === '') {
    const server = new FakeApiServer();
    const url = await server.listen();
    api = {
      url,
      kubeconfig,
      upsert: async (pod, options) => void server.upsert(pod, options),
      delete: async (namespace, name) => server.delete(namespace, name),
      upsertNamespace: async (ns) => server.upsertNamespace(ns),
      upsertNetwork: async (net) => server.upsertNetwork(net),
      deleteCluster: async (resource, name) => server.deleteCluster(resource, name),
      requests: async () => [...server.requests],
      stop: () => server.close(),
    };
  } else {
    const self = fileURLToPath(import.meta.url);
    const child = spawn('ip', ['netns', 'exec', opts.netns, process.execPath, self, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lines = createInterface({ input: child.stdout });
    const pending = new Map<number, (value: unknown) => void>();
    const ready = Promise.withResolvers<string>();
    child.once('exit', (code) => ready.reject(new Error(`fake API server exited with ${String(code)}`)));
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { id?: number; url?: string; result?: unknown };
      if (msg.url !== undefined) ready.resolve(msg.url);
      else if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
    });
    let next = 0;
    const call = (cmd: Request): Promise<unknown> =>
      new Promise((resolve) => {
        const id = ++next;
        pending.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
      });
    const url = await ready.promise;
    api = {
      url,
      kubeconfig,
      upsert: async (pod, options = {}) => void (await call({ op: 'upsert', pod, options })),
      delete: async (namespace, name) => void (await call({ op: 'delete', namespace, name })),
      upsertNamespace: async (ns) => void (await call({ op: 'upsertNamespace', ns })),
      upsertNetwork: async (net) => void (await call({ op: 'upsertNetwork', net })),
      deleteCluster: async (resource, name) => void (await call({ op: 'deleteCluster', resource, name })),
      requests: async () => (await call({ op: 'requests' })) as string[],
      stop: async () => {
        child.stdin.end();
        await exited;
      },
    };
  }
  await writeFile(kubeconfig, kubeconfigFor(api.url));
  t.teardown(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return api;
}

/** `node fake-apiserver.ts serve`: prints {"url"} then answers commands on stdin until it ends. */
async function serve(): Promise<void> {
  const server = new FakeApiServer();
  const url = await server.listen();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const cmd = JSON.parse(line) as Command;
    let result: unknown = null;
    switch (cmd.op) {
      case 'upsert':
        server.upsert(cmd.pod, cmd.options);
        break;
      case 'delete':
        server.delete(cmd.namespace, cmd.name);
        break;
      case 'upsertNamespace':
        server.upsertNamespace(cmd.ns);
        break;
      case 'upsertNetwork':
        server.upsertNetwork(cmd.net);
        break;
      case 'deleteCluster':
        server.deleteCluster(cmd.resource, cmd.name);
        break;
      case 'requests':
        result = server.requests;
        break;
      default: {
        const never: never = cmd;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
    process.stdout.write(`${JSON.stringify({ id: cmd.id, result })}\n`);
  }
  await server.close();
}

if (process.argv[2] === 'serve' && process.argv[1] === fileURLToPath(import.meta.url)) await serve();
