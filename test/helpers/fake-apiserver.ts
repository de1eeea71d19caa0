/**
 * A Kubernetes API server for the resources ovn-multinet uses, behaving like the real one for
 * what is used: list (field selectors spec.nodeName, metadata.name and an Event's regarding.*; metadata.resourceVersion),
 * watch from a resourceVersion (JSON lines of ADDED/MODIFIED/DELETED), get, create (201, 409
 * AlreadyExists, generateName), update (409 Conflict on a stale resourceVersion), patch
 * (merge, strategic-merge as merge, and JSON patch), delete (with finalizers: deletionTimestamp set,
 * the object goes when an update removes the last one), and the status subresource (the main
 * resource ignores status changes, /status changes nothing else). Errors are Status objects.
 * events.k8s.io/v1 Events are validated as the real server does (validateEvent), and created only
 * in a namespace that exists and is not being deleted.
 * Plain http on 127.0.0.1, random port, no auth; the real client library talks to it through a
 * kubeconfig file written next to it.
 *
 * The e2e daemon runs in the sandbox's network namespace, where 127.0.0.1 is that namespace's
 * own loopback, not the test's. So this file is also a script: `node fake-apiserver.ts serve`
 * run with `ip netns exec NS` listens inside the daemon's namespace and is driven over its
 * stdin/stdout (one JSON command and one JSON answer per line), which need no network at all.
 * startFakeApiServer() hides the difference: the same handle in-process or in a namespace.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import type { Teardown } from './netns.ts';
import { isObject } from '../../daemon/cni-spec/json.ts';

interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  statusSubresource: boolean;
}

/** Every resource served, by plural name. */
export const RESOURCES = {
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, statusSubresource: true },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, statusSubresource: true },
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, statusSubresource: true },
  networks: { group: 'ovn-multinet.io', version: 'v1', plural: 'networks', kind: 'Network', namespaced: false, statusSubresource: true },
  ippools: { group: 'ovn-multinet.io', version: 'v1', plural: 'ippools', kind: 'IPPool', namespaced: false, statusSubresource: true },
  namespacednetworks: { group: 'ovn-multinet.io', version: 'v1', plural: 'namespacednetworks', kind: 'NamespacedNetwork', namespaced: true, statusSubresource: true },
  'network-attachment-definitions': { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions', kind: 'NetworkAttachmentDefinition', namespaced: true, statusSubresource: false },
  ipamclaims: { group: 'k8s.cni.cncf.io', version: 'v1alpha1', plural: 'ipamclaims', kind: 'IPAMClaim', namespaced: true, statusSubresource: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, statusSubresource: false },
  'multi-networkpolicies': { group: 'k8s.cni.cncf.io', version: 'v1beta1', plural: 'multi-networkpolicies', kind: 'MultiNetworkPolicy', namespaced: true, statusSubresource: true },
  // What ovn-multinet writes (daemon/k8s/events.ts); core v1 Events are not served.
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, statusSubresource: false },
} as const satisfies Record<string, ResourceDef>;
export type ResourceName = keyof typeof RESOURCES;

const apiVersionOf = (def: ResourceDef): string => (def.group === '' ? def.version : `${def.group}/${def.version}`);

export interface ObjectMeta {
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
  generation?: number;
  creationTimestamp?: string | undefined;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
  [key: string]: unknown;
}

/** Any object: metadata typed, the rest as the API carries it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface FakePod {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface UpsertOptions {
  /** Keep it out of lists and watches (GET still finds it): an ADD that beats the watch event. */
  hidden?: boolean;
}

export interface FakeNamespace {
  name: string;
  labels?: Record<string, string>;
}

export interface FakeNetwork {
  name: string;
  /** Sent as is (a LabelSelector, or anything, to test validation); absent when undefined. */
  namespaceSelector?: unknown;
  logicalSwitch?: string;
  /** A managed network's definition (spec.config). */
  config?: Record<string, unknown>;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Watcher {
  resource: ResourceName;
  matches: (object: KubeObject) => boolean;
  res: ServerResponse;
}

interface HistoryEntry {
  rv: number;
  type: EventType;
  resource: ResourceName;
  object: KubeObject;
}

class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

const clone = <T>(v: T): T => structuredClone(v);

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch: add, replace, remove, test. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'a JSON patch must be a list');
  const doc = clone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op['path'] !== 'string' || typeof op['op'] !== 'string') throw new ApiError(400, 'BadRequest', 'malformed JSON patch operation');
    const parts = op['path'].split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop();
    if (last === undefined) throw new ApiError(422, 'Invalid', 'JSON patch on the whole document');
    let parent: unknown = doc;
    for (const p of parts) parent = Array.isArray(parent) ? parent[Number(p)] : isObject(parent) ? parent[p] : undefined;
    if (!isObject(parent) && !Array.isArray(parent)) throw new ApiError(422, 'Invalid', `JSON patch path ${op['path']} does not exist`);
    const container = parent as Record<string, unknown>;
    switch (op['op']) {
      case 'add':
      case 'replace':
        if (Array.isArray(parent) && last === '-') parent.push(clone(op['value']));
        else container[last] = clone(op['value']);
        break;
      case 'remove':
        if (!(last in container)) throw new ApiError(422, 'Invalid', `JSON patch path ${op['path']} does not exist`);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete container[last];
        break;
      case 'test':
        if (JSON.stringify(container[last]) !== JSON.stringify(op['value'])) throw new ApiError(422, 'Invalid', `JSON patch test failed at ${op['path']}`);
        break;
      default:
        throw new ApiError(422, 'Invalid', `JSON patch op ${String(op['op'])} is not supported`);
    }
  }
  return doc;
}

/** The parts of an object that make its generation: all but metadata and status. */
const specOf = (o: KubeObject): string => JSON.stringify({ ...o, metadata: undefined, status: undefined, apiVersion: undefined, kind: undefined });

/** RFC 3339 with 6 fraction digits: what metav1.MicroTime parses (3 digits are refused). */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;
/** A qualified name (reportingController): an optional DNS subdomain prefix and a name of 63 at most. */
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** Fields an Event update may not change (ValidateEventUpdate). */
const EVENT_IMMUTABLE = ['regarding', 'related', 'reason', 'note', 'type', 'eventTime', 'action', 'reportingController', 'reportingInstance'];

/**
 * The API server's validation of an events.k8s.io/v1 Event (pkg/apis/core/validation/events.go
 * for that version), on create and, with `old`, on update: 422 Invalid naming the field.
 */
function validateEvent(event: KubeObject, old: KubeObject | undefined): void {
  const invalid = (field: string, why: string): never => {
    throw new ApiError(422, 'Invalid', `Event.events.k8s.io "${event.metadata.name}" is invalid: ${field}: ${why}`);
  };
  const text = (field: string): string => (typeof event[field] === 'string' ? event[field] : '');
  if (old !== undefined) {
    for (const field of EVENT_IMMUTABLE) if (JSON.stringify(event[field]) !== JSON.stringify(old[field])) invalid(field, 'field is immutable');
  }
  if (!MICRO_TIME.test(text('eventTime'))) invalid('eventTime', 'Required value (a MicroTime: RFC 3339 with microseconds)');
  if (!QUALIFIED_NAME.test(text('reportingController')) || text('reportingController').length > 128) invalid('reportingController', 'must be a qualified name of 128 characters at most');
  for (const field of ['reportingInstance', 'action', 'reason']) {
    if (text(field) === '') invalid(field, 'Required value');
    if (text(field).length > 128) invalid(field, 'must have at most 128 characters');
  }
  if (text('type') !== 'Normal' && text('type') !== 'Warning') invalid('type', 'Unsupported value: must be Normal or Warning');
  if (Buffer.byteLength(text('note')) > 1024) invalid('note', 'Too long: must have at most 1024 bytes');
  const regarding = isObject(event['regarding']) ? event['regarding'] : {};
  if (typeof regarding['name'] !== 'string' || regarding['name'] === '') invalid('regarding.name', 'Required value');
  const namespace = typeof regarding['namespace'] === 'string' ? regarding['namespace'] : '';
  if (namespace === '' ? event.metadata.namespace !== 'default' : namespace !== event.metadata.namespace) invalid('regarding.namespace', 'does not match event.namespace');
  const series = event['series'];
  if (series !== undefined && series !== null) {
    if (!isObject(series) || typeof series['count'] !== 'number' || series['count'] < 2) invalid('series.count', 'should be at least 2');
    if (!isObject(series) || typeof series['lastObservedTime'] !== 'string' || !MICRO_TIME.test(series['lastObservedTime'])) invalid('series.lastObservedTime', 'Required value');
  }
}

interface Target {
  resource: ResourceName;
  namespace: string | undefined;
  name: string | undefined;
  status: boolean;
}

/** The server itself, in this process. */
export class FakeApiServer {
  readonly #store = new Map<ResourceName, Map<string, KubeObject>>();
  readonly #hidden = new Set<string>();
  readonly #history: HistoryEntry[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #server: Server;
  #rv = 100;
  /** `METHOD path?query` of every request, for tests that check what the client asked. */
  readonly requests: string[] = [];
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (err instanceof ApiError) this.#status(res, err.code, err.reason, err.message);
        else this.#status(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
      });
    });
  }

  async listen(host = '127.0.0.1', port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, resolve);
    });
    this.url = `http://${host}:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #objects(resource: ResourceName): Map<string, KubeObject> {
    let m = this.#store.get(resource);
    if (m === undefined) this.#store.set(resource, (m = new Map<string, KubeObject>()));
    return m;
  }

  #key(resource: ResourceName, namespace: string | undefined, name: string): string {
    return RESOURCES[resource].namespaced ? `${namespace ?? ''}/${name}` : name;
  }

  /** Creates or replaces an object as an admin would (no resourceVersion check, status kept as given). */
  apply(resource: ResourceName, object: KubeObject, options: UpsertOptions = {}): KubeObject {
    const def = RESOURCES[resource];
    const key = this.#key(resource, object.metadata.namespace, object.metadata.name);
    const store = this.#objects(resource);
    const existed = store.get(key);
    const stored = clone(object);
    stored.apiVersion = apiVersionOf(def);
    stored.kind = def.kind;
    stored.metadata.uid = object.metadata.uid ?? existed?.metadata.uid ?? randomUUID();
    stored.metadata.creationTimestamp = existed?.metadata.creationTimestamp ?? new Date().toISOString();
    stored.metadata.generation = existed === undefined ? 1 : (existed.metadata.generation ?? 1) + (specOf(existed) === specOf(stored) ? 0 : 1);
    stored.metadata.resourceVersion = String(++this.#rv);
    const wasHidden = this.#hidden.has(`${resource}:${key}`);
    const hidden = options.hidden ?? false;
    if (hidden) this.#hidden.add(`${resource}:${key}`);
    else this.#hidden.delete(`${resource}:${key}`);
    store.set(key, stored);
    if (!hidden) this.#emit(existed === undefined || wasHidden ? 'ADDED' : 'MODIFIED', resource, stored);
    return clone(stored);
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#objects(resource).get(this.#key(resource, namespace, name));
    return found === undefined ? undefined : clone(found);
  }

  list(resource: ResourceName): KubeObject[] {
    return [...this.#objects(resource).values()].map(clone);
  }

  remove(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = this.#key(resource, namespace, name);
    const store = this.#objects(resource);
    const existed = store.get(key);
    if (existed === undefined) return undefined;
    store.delete(key);
    const gone = { ...existed, metadata: { ...existed.metadata, resourceVersion: String(++this.#rv) } };
    if (!this.#hidden.delete(`${resource}:${key}`)) this.#emit('DELETED', resource, gone);
    return clone(gone);
  }

  /** A DELETE as a client makes it: with finalizers, the object stays (deletionTimestamp set) until an update removes the last one. */
  deleteObject(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    const current = this.get(resource, namespace, name);
    if (current === undefined) return undefined;
    if (!Array.isArray(current.metadata['finalizers']) || current.metadata['finalizers'].length === 0) return this.remove(resource, namespace, name);
    if (current.metadata['deletionTimestamp'] !== undefined) return current;
    return this.apply(resource, { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), deletionGracePeriodSeconds: 0 } });
  }

  upsert(pod: FakePod, options: UpsertOptions = {}): KubeObject {
    return this.apply(
      'pods',
      {
        metadata: { namespace: pod.namespace, name: pod.name, uid: pod.uid, annotations: pod.annotations ?? {}, ...(pod.labels === undefined ? {} : { labels: pod.labels }) },
        spec: { nodeName: pod.nodeName, containers: [{ name: 'c', image: 'busybox' }] },
      },
      options,
    );
  }

  upsertNamespace(ns: FakeNamespace): void {
    this.apply('namespaces', { metadata: { name: ns.name, uid: `uid-ns-${ns.name}`, labels: ns.labels ?? {} } });
  }

  upsertNetwork(net: FakeNetwork): void {
    const spec: Record<string, unknown> = {};
    if (net.namespaceSelector !== undefined) spec['namespaceSelector'] = net.namespaceSelector;
    if (net.logicalSwitch !== undefined) spec['logicalSwitch'] = net.logicalSwitch;
    if (net.config !== undefined) spec['config'] = net.config;
    const existing = this.get('networks', undefined, net.name);
    this.apply('networks', { metadata: { ...existing?.metadata, name: net.name }, spec, ...(existing?.['status'] === undefined ? {} : { status: existing['status'] }) });
  }

  #emit(type: EventType, resource: ResourceName, object: KubeObject): void {
    this.#history.push({ rv: Number(object.metadata.resourceVersion), type, resource, object: clone(object) });
    for (const w of this.#watchers) {
      if (w.resource === resource && w.matches(object)) w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    if (res.headersSent) return void res.end();
    this.#json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }

  /** /api/v1/... or /apis/GROUP/VERSION/..., then [namespaces/NS/]PLURAL[/NAME[/status]]. */
  #route(pathname: string): Target {
    const segments = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api') [group, version, rest] = ['', segments[1] ?? '', segments.slice(2)];
    else if (segments[0] === 'apis') [group, version, rest] = [segments[1] ?? '', segments[2] ?? '', segments.slice(3)];
    else throw new ApiError(404, 'NotFound', `${pathname} is not served`);
    const find = (plural: string | undefined): ResourceName | undefined =>
      (Object.keys(RESOURCES) as ResourceName[]).find((r) => RESOURCES[r].plural === plural && RESOURCES[r].group === group && RESOURCES[r].version === version);
    let namespace: string | undefined;
    const namespacedResource = rest[0] === 'namespaces' && rest.length >= 3 ? find(rest[2]) : undefined;
    if (namespacedResource !== undefined && RESOURCES[namespacedResource].namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const resource = find(rest[0]);
    if (resource === undefined || rest.length > 3 || (rest.length === 3 && rest[2] !== 'status')) throw new ApiError(404, 'NotFound', `${pathname} is not served`);
    if (rest.length === 3 && !RESOURCES[resource].statusSubresource) throw new ApiError(404, 'NotFound', `${resource} has no status subresource`);
    return { resource, namespace, name: rest[1], status: rest.length === 3 };
  }

  async #body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new ApiError(400, 'BadRequest', 'the body is not JSON');
    }
  }

  /** What list and watch filter on: the collection's namespace and the field selector. */
  #filter(target: Target, url: URL): (o: KubeObject) => boolean {
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const fields = selector === '' ? [] : selector.split(',').map((term) => {
      const m = /^(spec\.nodeName|metadata\.name|metadata\.namespace|regarding\.(?:kind|name|namespace|uid))=(.*)$/.exec(term);
      if (m === null) throw new ApiError(400, 'BadRequest', `unsupported field selector ${selector}`);
      return { field: m[1] ?? '', value: m[2] ?? '' };
    });
    const valueOf = (o: KubeObject, field: string): unknown => {
      if (field === 'spec.nodeName') return isObject(o['spec']) ? o['spec']['nodeName'] : undefined;
      // An Event's object (events.k8s.io/v1; `kubectl describe` lists a pod's Events so).
      if (field.startsWith('regarding.')) return isObject(o['regarding']) ? o['regarding'][field.slice('regarding.'.length)] : undefined;
      return field === 'metadata.name' ? o.metadata.name : o.metadata.namespace;
    };
    return (o) => (target.namespace === undefined || o.metadata.namespace === target.namespace) && fields.every(({ field, value }) => valueOf(o, field) === value);
  }

  #visible(resource: ResourceName): KubeObject[] {
    return [...this.#objects(resource).entries()].filter(([key]) => !this.#hidden.has(`${resource}:${key}`)).map(([, o]) => o);
  }

  #watch(req: IncomingMessage, res: ServerResponse, url: URL, target: Target): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    const matches = this.#filter(target, url);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // Headers go out now, as the real server sends them, even when no event follows for a while.
    res.flushHeaders();
    for (const e of this.#history) {
      if (e.rv > from && e.resource === target.resource && matches(e.object)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
    const watcher: Watcher = { resource: target.resource, matches, res };
    this.#watchers.add(watcher);
    req.on('close', () => this.#watchers.delete(watcher));
  }

  #existing(target: Target & { name: string }): KubeObject {
    const found = this.#objects(target.resource).get(this.#key(target.resource, target.namespace, target.name));
    if (found === undefined) throw new ApiError(404, 'NotFound', `${target.resource} "${target.name}" not found`);
    return found;
  }

  /**
   * The NamespaceLifecycle admission plugin, for Events only (the other resources' tests create
   * objects in namespaces they never made): no create in a namespace that does not exist (404;
   * `default` always does) or is being deleted (403).
   */
  #admitIntoNamespace(namespace: string): void {
    if (namespace === 'default') return;
    const ns = this.#objects('namespaces').get(namespace);
    if (ns === undefined) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`);
    if (ns.metadata['deletionTimestamp'] !== undefined) throw new ApiError(403, 'Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`);
  }

  /** Writes `next` over the stored object like the API server: only status through /status, never status otherwise. */
  #write(target: Target & { name: string }, current: KubeObject, next: KubeObject): KubeObject {
    const def = RESOURCES[target.resource];
    if (next.metadata.resourceVersion !== undefined && next.metadata.resourceVersion !== '' && next.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${target.resource} "${target.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    if (next.metadata.name !== target.name) throw new ApiError(400, 'BadRequest', `the name of the object (${next.metadata.name}) does not match the name on the URL (${target.name})`);
    let merged: KubeObject;
    if (target.status) merged = { ...clone(current), status: clone(next['status']) };
    else if (def.statusSubresource) merged = { ...clone(next), status: clone(current['status']) };
    else merged = clone(next);
    if (merged['status'] === undefined) delete merged['status'];
    // Only metadata the client may change is taken from it.
    merged.metadata = { ...(target.status ? current.metadata : merged.metadata), uid: current.metadata.uid, namespace: current.metadata.namespace, name: current.metadata.name, resourceVersion: '' };
    if (merged.metadata.creationTimestamp === undefined) merged.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (target.resource === 'events') validateEvent(merged, current);
    // Only a DELETE sets deletionTimestamp; once set, no finalizer may be added, and the last one's removal deletes the object.
    delete merged.metadata['deletionTimestamp'];
    delete merged.metadata['deletionGracePeriodSeconds'];
    const deleting = current.metadata['deletionTimestamp'];
    if (deleting !== undefined) {
      const finalizers = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
      const now = finalizers(merged.metadata['finalizers']);
      if (now.some((f) => !finalizers(current.metadata['finalizers']).includes(f))) throw new ApiError(422, 'Invalid', 'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted');
      merged.metadata['deletionTimestamp'] = deleting;
      merged.metadata['deletionGracePeriodSeconds'] = 0;
      if (now.length === 0) {
        const stored = this.apply(target.resource, merged);
        this.remove(target.resource, target.namespace, target.name);
        return stored;
      }
    }
    return this.apply(target.resource, merged);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push(`${req.method ?? '?'} ${url.pathname}${url.search}`);
    const target = this.#route(url.pathname);
    const def = RESOURCES[target.resource];
    const { name } = target;
    const watch = url.searchParams.get('watch');
    switch (req.method) {
      case 'GET': {
        if (name !== undefined) return this.#json(res, 200, this.#existing({ ...target, name }));
        if (watch === 'true' || watch === '1') return this.#watch(req, res, url, target);
        const matches = this.#filter(target, url);
        const items = this.#visible(target.resource).filter(matches);
        return this.#json(res, 200, { apiVersion: apiVersionOf(def), kind: `${def.kind}List`, metadata: { resourceVersion: String(this.#rv) }, items });
      }
      case 'POST': {
        if (name !== undefined) throw new ApiError(405, 'MethodNotAllowed', 'POST goes to a collection');
        const body = await this.#body(req);
        if (!isObject(body) || !isObject(body['metadata'])) throw new ApiError(422, 'Invalid', 'metadata is required');
        const object = body as KubeObject;
        if ((object.metadata.name ?? '') === '' && typeof object.metadata.generateName === 'string') object.metadata.name = `${object.metadata.generateName}${randomUUID().slice(0, 5)}`;
        if (typeof object.metadata.name !== 'string' || object.metadata.name === '') throw new ApiError(422, 'Invalid', 'metadata.name: Required value');
        if (def.namespaced) {
          if (object.metadata.namespace !== undefined && object.metadata.namespace !== target.namespace) throw new ApiError(400, 'BadRequest', 'the namespace of the object does not match the namespace on the URL');
          object.metadata.namespace = target.namespace;
        }
        if (this.#objects(target.resource).has(this.#key(target.resource, target.namespace, object.metadata.name))) {
          throw new ApiError(409, 'AlreadyExists', `${target.resource} "${object.metadata.name}" already exists`);
        }
        if (def.statusSubresource) delete object['status'];
        if (target.resource === 'events') {
          this.#admitIntoNamespace(target.namespace ?? '');
          validateEvent(object, undefined);
        }
        // The server assigns these.
        const meta = { ...object.metadata };
        delete meta.uid;
        delete meta.resourceVersion;
        return this.#json(res, 201, this.apply(target.resource, { ...object, metadata: meta }));
      }
      case 'PUT': {
        if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'PUT goes to an object');
        const body = await this.#body(req);
        if (!isObject(body) || !isObject(body['metadata'])) throw new ApiError(422, 'Invalid', 'metadata is required');
        const current = this.#existing({ ...target, name });
        return this.#json(res, 200, this.#write({ ...target, name }, current, body as KubeObject));
      }
      case 'PATCH': {
        if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'PATCH goes to an object');
        const type = (req.headers['content-type'] ?? '').split(';')[0] ?? '';
        const body = await this.#body(req);
        const current = this.#existing({ ...target, name });
        let patched: unknown;
        if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') patched = mergePatch(current, body);
        else if (type === 'application/json-patch+json') patched = jsonPatch(current, body);
        else throw new ApiError(415, 'UnsupportedMediaType', `the patch type ${type} is not supported`);
        if (!isObject(patched) || !isObject(patched['metadata'])) throw new ApiError(422, 'Invalid', 'the patch removed metadata');
        const next = patched as KubeObject;
        // A patch carries a resourceVersion only when the client put one in (a precondition).
        const sentRv = isObject(body) && isObject(body['metadata']) ? body['metadata']['resourceVersion'] : undefined;
        if (typeof sentRv !== 'string') next.metadata.resourceVersion = current.metadata.resourceVersion;
        return this.#json(res, 200, this.#write({ ...target, name }, current, next));
      }
      case 'DELETE': {
        if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'DELETE of a collection is not served');
        this.#existing({ ...target, name });
        return this.#json(res, 200, this.deleteObject(target.resource, target.namespace, name));
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${req.method ?? '?'} is not served`);
    }
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
  deleteCluster(resource: 'namespaces' | 'networks', name: string): Promise<void>;
  /** Any resource: create or replace, read, list, delete. */
  apply(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  get(resource: ResourceName, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  list(resource: ResourceName): Promise<KubeObject[]>;
  remove(resource: ResourceName, namespace: string | undefined, name: string): Promise<void>;
  /** A client's DELETE (finalizers honoured), where remove() is the object's end. */
  deleteObject(resource: ResourceName, namespace: string | undefined, name: string): Promise<void>;
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

type Command =
  | { id: number; op: 'upsert'; pod: FakePod; options: UpsertOptions }
  | { id: number; op: 'upsertNamespace'; ns: FakeNamespace }
  | { id: number; op: 'upsertNetwork'; net: FakeNetwork }
  | { id: number; op: 'apply'; resource: ResourceName; object: KubeObject }
  | { id: number; op: 'get'; resource: ResourceName; namespace: string | undefined; name: string }
  | { id: number; op: 'list'; resource: ResourceName }
  | { id: number; op: 'remove'; resource: ResourceName; namespace: string | undefined; name: string }
  | { id: number; op: 'deleteObject'; resource: ResourceName; namespace: string | undefined; name: string }
  | { id: number; op: 'requests' };
type Request = Command extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never;

/** Runs one command against a server in this process; the answer is JSON-safe. */
function run(server: FakeApiServer, cmd: Request): unknown {
  switch (cmd.op) {
    case 'upsert':
      return void server.upsert(cmd.pod, cmd.options);
    case 'upsertNamespace':
      return server.upsertNamespace(cmd.ns);
    case 'upsertNetwork':
      return server.upsertNetwork(cmd.net);
    case 'apply':
      return server.apply(cmd.resource, cmd.object);
    case 'get':
      return server.get(cmd.resource, cmd.namespace, cmd.name) ?? null;
    case 'list':
      return server.list(cmd.resource);
    case 'remove':
      return void server.remove(cmd.resource, cmd.namespace, cmd.name);
    case 'deleteObject':
      return void server.deleteObject(cmd.resource, cmd.namespace, cmd.name);
    case 'requests':
      return [...server.requests];
    default: {
      const never: never = cmd;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}

export interface FakeApiOptions {
  /** Run inside this network namespace (driven over stdin/stdout). */
  netns?: string;
  /** Listen on this address (default 127.0.0.1) and port (default: any free one). */
  host?: string;
  port?: number;
}

/** Starts the server here (no netns) or inside network namespace `netns`; stopped at teardown. */
export async function startFakeApiServer(t: Teardown, opts: FakeApiOptions = {}): Promise<FakeApi> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const dir = await mkdtemp(join(tmpdir(), 'fake-k8s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  let call: (cmd: Request) => Promise<unknown>;
  let url: string;
  let stop: () => Promise<void>;
  if (opts.netns === undefined || opts.netns === '') {
    const server = new FakeApiServer();
    url = await server.listen(host, port);
    call = async (cmd) => run(server, cmd);
    stop = () => server.close();
  } else {
    const self = fileURLToPath(import.meta.url);
    const child = spawn('ip', ['netns', 'exec', opts.netns, process.execPath, self, 'serve', host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
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
    call = (cmd) =>
      new Promise((resolve) => {
        const id = ++next;
        pending.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
      });
    url = await ready.promise;
    stop = async () => {
      child.stdin.end();
      await exited;
    };
  }
  const api: FakeApi = {
    url,
    kubeconfig,
    upsert: async (pod, options = {}) => void (await call({ op: 'upsert', pod, options })),
    delete: async (namespace, name) => void (await call({ op: 'remove', resource: 'pods', namespace, name })),
    upsertNamespace: async (ns) => void (await call({ op: 'upsertNamespace', ns })),
    upsertNetwork: async (net) => void (await call({ op: 'upsertNetwork', net })),
    deleteCluster: async (resource, name) => void (await call({ op: 'remove', resource, namespace: undefined, name })),
    apply: async (resource, object) => (await call({ op: 'apply', resource, object })) as KubeObject,
    get: async (resource, namespace, name) => ((await call({ op: 'get', resource, namespace, name })) as KubeObject | null) ?? undefined,
    list: async (resource) => (await call({ op: 'list', resource })) as KubeObject[],
    remove: async (resource, namespace, name) => void (await call({ op: 'remove', resource, namespace, name })),
    deleteObject: async (resource, namespace, name) => void (await call({ op: 'deleteObject', resource, namespace, name })),
    requests: async () => (await call({ op: 'requests' })) as string[],
    stop,
  };
  await writeFile(kubeconfig, kubeconfigFor(api.url));
  t.teardown(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return api;
}

/** `node fake-apiserver.ts serve HOST PORT`: prints {"url"} then answers commands on stdin until it ends. */
async function serve(host: string, port: number): Promise<void> {
  const server = new FakeApiServer();
  const url = await server.listen(host, port);
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const { id, ...cmd } = JSON.parse(line) as Command;
    const result = run(server, cmd) ?? null;
    process.stdout.write(`${JSON.stringify({ id, result })}\n`);
  }
  await server.close();
}

if (process.argv[2] === 'serve' && process.argv[1] === fileURLToPath(import.meta.url)) await serve(process.argv[3] ?? '127.0.0.1', Number(process.argv[4] ?? '0'));

/**
 * A FakeApiServer in this process (its `apply` takes `hidden`) and a KubeConfig for it, both
 * gone at teardown: what the controller's loop tests drive.
 */
export async function startInProcessApi(t: Teardown): Promise<{ server: FakeApiServer; kubeConfig: KubeConfig }> {
  const server = new FakeApiServer();
  const url = await server.listen();
  const dir = await mkdtemp(join(tmpdir(), 'fake-k8s-'));
  t.teardown(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'kubeconfig');
  await writeFile(path, kubeconfigFor(url));
  const kubeConfig = loadKubeConfig(path, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  return { server, kubeConfig };
}
