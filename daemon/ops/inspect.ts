/**
 * `ovn-multinetd inspect NAMESPACE/NAME`: everything about one pod's networks. From the NB, its
 * attachments (as `attachments` shows them); with the Kubernetes API (--kubeconfig, or in a
 * cluster), the pod's request annotation (k8s.v1.cni.cncf.io/networks) and the network-status
 * annotation, and the Events about the pod (events.k8s.io/v1: the daemon's AttachFailed and
 * AttachmentRemoved, the kubelet's), the newest Warning among them as its last error. A pod with
 * no attachment and no API object is not found: exit code 3. `inspectReport` is pure.
 */
import { CoreV1Api, EventsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { isObject } from '../cni-spec/json.ts';
import { flagReader, nbFlags, type NbFlags } from '../lib/flags.ts';
import { loadKubeConfig, toPodInfo } from '../k8s/pods.ts';
import { NETWORKS_ANNOTATION } from '../k8s/selection.ts';
import { withSignal } from '../k8s/signal.ts';
import { OpsFailedError, OpsNotFoundError } from '../errors.ts';
import { readNbSnapshot } from './nb-snapshot.ts';
import { NETWORK_STATUS_ANNOTATION } from '../k8s/selection.ts';
import { attachmentRows, attachmentsTable, podFlag, type AttachmentRow } from './attachments.ts';
import { localFlags, lookLocally, type LocalFlags } from './local.ts';
import { byText, cell, outputFlag, print, render, renderFields, renderTable, type Column, type OutputFormat } from './output.ts';

/** An Event, as far as it is shown; every field checked. */
export interface EventInfo {
  type: string;
  reason: string;
  message: string;
  count: number;
  /** The last time it was seen (ISO 8601), if the Event says. */
  last: string | undefined;
  source: string;
}

/** A timestamp as client-node hands it over (a Date) or as JSON has it (a string). */
function time(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * An events.k8s.io/v1 Event about the pod `uid` (undefined: any uid), narrowed; undefined when it
 * is not one. That API shows every Event, those written through core v1 (the kubelet's) too, with
 * their older fields under `deprecated*`.
 */
export function toEventInfo(raw: unknown, pod: { namespace: string; name: string; uid: string | undefined }): EventInfo | undefined {
  if (!isObject(raw) || !isObject(raw['regarding'])) return undefined;
  const regarding = raw['regarding'];
  if (regarding['kind'] !== 'Pod' || regarding['name'] !== pod.name || (regarding['namespace'] !== undefined && regarding['namespace'] !== pod.namespace)) return undefined;
  if (pod.uid !== undefined && typeof regarding['uid'] === 'string' && regarding['uid'] !== '' && regarding['uid'] !== pod.uid) return undefined;
  const series = isObject(raw['series']) ? raw['series'] : {};
  const counted = [series['count'], raw['deprecatedCount']].find((c): c is number => typeof c === 'number' && Number.isInteger(c) && c > 0);
  const source = isObject(raw['deprecatedSource']) ? text(raw['deprecatedSource']['component']) : '';
  return {
    type: text(raw['type']),
    reason: text(raw['reason']),
    message: text(raw['note']),
    count: counted ?? 1,
    last: time(series['lastObservedTime']) ?? time(raw['deprecatedLastTimestamp']) ?? time(raw['eventTime']) ?? time(raw['deprecatedFirstTimestamp']),
    source: text(raw['reportingController']) !== '' ? text(raw['reportingController']) : source,
  };
}

/** What the API server holds of the pod (undefined fields: it has no such pod). */
export interface PodFacts {
  uid: string;
  node: string | undefined;
  annotations: ReadonlyMap<string, string>;
}

export interface InspectReport {
  pod: string;
  /** Whether the Kubernetes API was asked; false: the annotations and Events are unknown. */
  api: boolean;
  /** The API server has the pod (null: not asked). */
  exists: boolean | null;
  uid: string | null;
  node: string | null;
  /** The request annotation as it is. */
  networks: string | null;
  /** The network-status annotation, parsed when it is JSON, else as it is. */
  networkStatus: unknown;
  attachments: AttachmentRow[];
  lastError: EventInfo | null;
  events: EventInfo[];
  /** Why the Events could not be listed (credentials that may read pods but not Events), or null. */
  eventsError: string | null;
}

/** What the API server told of the pod. */
export interface ApiFacts {
  facts: PodFacts | undefined;
  events: EventInfo[];
  /** Why the Events could not be listed (403), if so. */
  eventsError?: string;
}

/** The report of one pod; pure. */
export function inspectReport(pod: string, attachments: AttachmentRow[], api: ApiFacts | undefined): InspectReport {
  const facts = api?.facts;
  const status = facts?.annotations.get(NETWORK_STATUS_ANNOTATION);
  let networkStatus: unknown = status ?? null;
  if (status !== undefined) {
    try {
      networkStatus = JSON.parse(status);
    } catch {
      // Shown as it is: malformed, as anyone may write it.
    }
  }
  const events = [...(api?.events ?? [])].sort((a, b) => byText(a.last ?? '', b.last ?? ''));
  return {
    pod,
    api: api !== undefined,
    exists: api === undefined ? null : facts !== undefined,
    uid: facts?.uid ?? null,
    node: facts?.node ?? null,
    networks: facts?.annotations.get(NETWORKS_ANNOTATION) ?? null,
    networkStatus,
    attachments,
    lastError: events.findLast((e) => e.type === 'Warning') ?? null,
    events,
    eventsError: api?.eventsError ?? null,
  };
}

const EVENT_COLUMNS: ReadonlyArray<Column<EventInfo>> = [
  { header: 'last seen', value: (e) => e.last ?? '' },
  { header: 'type', value: (e) => e.type },
  { header: 'reason', value: (e) => e.reason },
  { header: 'count', value: (e) => String(e.count) },
  { header: 'from', value: (e) => e.source },
  { header: 'message', value: (e) => e.message },
];

export function inspectText(r: InspectReport): string {
  const unknown = 'unknown (no Kubernetes API: --kubeconfig)';
  const known = (v: string | null, none: string): string => (!r.api ? unknown : (v ?? none));
  const fields = renderFields([
    ['Pod', r.pod],
    ['In the API', !r.api ? unknown : r.exists === true ? `yes, uid ${r.uid ?? ''}` : 'no such pod'],
    ['Node', known(r.node, 'none')],
    ['Requested networks', known(r.networks, 'no annotation')],
    ['Network status', known(r.networkStatus === null ? null : typeof r.networkStatus === 'string' ? r.networkStatus : JSON.stringify(r.networkStatus), 'no annotation')],
    ['Last error', r.lastError !== null ? `${r.lastError.reason}: ${r.lastError.message}` : !r.api ? unknown : r.eventsError !== null ? 'unknown (the Events cannot be listed)' : 'none'],
  ]);
  const attachments = r.attachments.length === 0 ? 'Attachments: none in the NB\n' : `Attachments:\n${attachmentsTable(r.attachments)}`;
  const events = !r.api ? '' : r.eventsError !== null ? `Events: cannot be listed: ${cell(r.eventsError)}\n` : r.events.length === 0 ? 'Events: none\n' : `Events:\n${renderTable(r.events, EVENT_COLUMNS)}`;
  return [fields, attachments, events].filter((s) => s !== '').join('\n');
}

/**
 * Reads the pod and its Events; a pod the API server lacks has no facts (its Events may remain).
 * Credentials that may not list Events (the DaemonSet's ServiceAccount) leave them out, said so.
 */
async function fromApi(kubeConfig: KubeConfig, pod: { namespace: string; name: string }, signal: AbortSignal): Promise<ApiFacts> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const events = kubeConfig.makeApiClient(EventsV1Api);
  const where = `${pod.namespace}/${pod.name}`;
  const failed = (what: string, err: unknown): OpsFailedError =>
    new OpsFailedError(`cannot ${what} from the Kubernetes API at ${kubeConfig.getCurrentCluster()?.server ?? '?'}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  let facts: PodFacts | undefined;
  try {
    const raw: unknown = await api.readNamespacedPod(pod, withSignal(signal));
    const info = toPodInfo(raw);
    if (info === undefined) throw new OpsFailedError(`pod ${where}: the API server sent a malformed object`);
    const spec = isObject(raw) && isObject(raw['spec']) ? raw['spec'] : {};
    facts = { uid: info.uid, node: typeof spec['nodeName'] === 'string' ? spec['nodeName'] : undefined, annotations: info.annotations };
  } catch (err) {
    if (err instanceof OpsFailedError) throw err;
    if (!(isObject(err) && err['code'] === 404)) throw failed(`read pod ${where}`, err);
  }
  let items: unknown[];
  try {
    const list: unknown = await events.listNamespacedEvent({ namespace: pod.namespace, fieldSelector: `regarding.kind=Pod,regarding.name=${pod.name}` }, withSignal(signal));
    items = isObject(list) && Array.isArray(list['items']) ? list['items'] : [];
  } catch (err) {
    if (isObject(err) && err['code'] === 403) return { facts, events: [], eventsError: `forbidden to list Events in namespace ${pod.namespace}` };
    throw failed(`list the Events of pod ${where}`, err);
  }
  const ref = { ...pod, uid: facts?.uid };
  return { facts, events: items.flatMap((e) => toEventInfo(e, ref) ?? []) };
}

export interface InspectOptions extends NbFlags, LocalFlags {
  pod: string;
  kubeconfig: string | undefined;
  timeoutMs: number;
  output: OutputFormat;
}

export function parseInspectFlags(pod: string, flags: Record<string, unknown>): InspectOptions {
  const { optional, num } = flagReader(flags);
  podFlag(pod);
  return { ...nbFlags(flags), ...localFlags(flags), pod, kubeconfig: optional('kubeconfig'), timeoutMs: num('timeout'), output: outputFlag(flags) };
}

export async function runInspect(options: InspectOptions): Promise<void> {
  const pod = podFlag(options.pod);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const [snapshot, local, api] = await Promise.all([
    readNbSnapshot(options, options.timeoutMs),
    lookLocally(options, options.timeoutMs),
    kubeConfig === undefined ? undefined : fromApi(kubeConfig, pod, signal),
  ]);
  const report = inspectReport(options.pod, attachmentRows(snapshot, { pod: options.pod }, local), api);
  if (report.attachments.length === 0 && report.exists !== true) {
    throw new OpsNotFoundError(`pod ${cell(options.pod)}: no attachment in the NB${report.api ? ' and no such pod in the Kubernetes API' : ' (and no Kubernetes API to ask: --kubeconfig)'}`);
  }
  await print(await render(options.output, report, () => inspectText(report)));
}
