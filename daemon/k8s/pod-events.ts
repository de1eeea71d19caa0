/**
 * The daemon's Events on pods (docs/events.md), through the recorder (events.ts): a failed ADD
 * (Warning AttachFailed) and an attachment the reconciler removed (AttachmentRemoved: Warning, or
 * Normal when the runtime asked for it by a CNI GC).
 * Neither waits: the CNI request has its answer before the pod is looked up (the pod cache, or
 * one GET: pods.ts) and the Event recorded; a pod that cannot be found gets no Event.
 */
import type { Logger } from '../lib/log.ts';
import type { EventRecord, EventSink, EventType } from './events.ts';
import type { PodSource } from './pods.ts';

/** How long a failed ADD's pod is looked for (the cache's wait, then one GET). */
const LOOKUP_MS = 5_000;

/** The pod an attachment records (its owner ids ovn-multinet/pod-*); uid empty when not recorded. */
export interface PodOwner {
  namespace: string;
  name: string;
  uid: string;
}

export interface AddFailure {
  /** CNI_ARGS: K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID. */
  args: Readonly<Record<string, string>>;
  /** The config's name (the NAD's). */
  network: string;
  ifName: string;
  /** The CNI error answered. */
  code: number;
  msg: string;
}

const podReference = (pod: PodOwner): EventRecord['regarding'] => ({ apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid });

export class PodEvents {
  readonly #events: EventSink;
  readonly #pods: PodSource;
  readonly #log: Logger;

  constructor(events: EventSink, pods: PodSource, log: Logger) {
    this.#events = events;
    this.#pods = pods;
    this.#log = log;
  }

  /** An ADD answered with an error, for the pod CNI_ARGS names (none named: no Event). */
  addFailed(failure: AddFailure): void {
    const { K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name, K8S_POD_UID: uid } = failure.args;
    if (namespace === undefined || namespace === '' || name === undefined || name === '') return;
    const note = `network ${failure.network}, interface ${failure.ifName}: ${failure.msg} (CNI error code ${failure.code})`;
    this.#pods.get({ namespace, name, uid: uid === undefined || uid === '' ? undefined : uid }, AbortSignal.timeout(LOOKUP_MS)).then(
      (pod) => this.#events.record({ regarding: podReference(pod), type: 'Warning', reason: 'AttachFailed', action: 'Attach', note }),
      (err: unknown) => this.#log.debug({ err, pod: `${namespace}/${name}` }, 'no Event for the failed ADD: the pod is not known'),
    );
  }

  /**
   * The reconciler removed an attachment of `pod` (it may be gone already), for `reason`: Normal
   * when the runtime asked (a CNI GC), Warning when the attachment was left behind.
   */
  attachmentRemoved(pod: PodOwner, network: string, ifName: string, reason: string, type: EventType): void {
    this.#events.record({ regarding: podReference(pod), type, reason: 'AttachmentRemoved', action: 'Detach', note: `network ${network}, interface ${ifName}: removed by the reconciler: ${reason}` });
  }
}
