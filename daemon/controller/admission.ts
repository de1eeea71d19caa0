/**
 * admission.k8s.io/v1 AdmissionReview for the pod webhook: the request narrowed from the body, and
 * the answer, which always allows (the webhook never blocks a pod) and carries the JSONPatch of
 * interface discovery (discovery-patch.ts) when there is one. Pure apart from the log line.
 */
import { isObject } from '../cni-spec/json.ts';
import type { Logger } from '../lib/log.ts';
import { discoveryPlan, type JsonPatchAdd } from './discovery-patch.ts';

const API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  uid: string;
  /** The resource's kind (request.kind.kind) and the operation: only a Pod CREATE is patched. */
  kind: string | undefined;
  operation: string | undefined;
  namespace: string | undefined;
  object: unknown;
}

/** The request of an AdmissionReview body, or why it is not one (answered 400). */
export function parseAdmissionReview(body: unknown): AdmissionRequest | { invalid: string } {
  if (!isObject(body)) return { invalid: 'the body is not a JSON object' };
  if (body['apiVersion'] !== API_VERSION || body['kind'] !== 'AdmissionReview') return { invalid: `not an ${API_VERSION} AdmissionReview` };
  const request = body['request'];
  if (!isObject(request)) return { invalid: 'request: missing' };
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') return { invalid: 'request.uid: missing' };
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const kind = isObject(request['kind']) ? text(request['kind']['kind']) : undefined;
  return { uid, kind, operation: text(request['operation']), namespace: text(request['namespace']), object: request['object'] };
}

/** The review to answer with: the request's uid, allowed, and the patch when it adds anything. */
export function admissionReview(uid: string, patch: readonly JsonPatchAdd[]): Record<string, unknown> {
  const patched = patch.length === 0 ? {} : { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
  return { apiVersion: API_VERSION, kind: 'AdmissionReview', response: { uid, allowed: true, ...patched } };
}

/** What the pod webhook answers to one request; a pod it cannot patch is logged, and allowed. */
export function reviewPod(request: AdmissionRequest, log: Logger): Record<string, unknown> {
  if (request.kind !== 'Pod' || request.operation !== 'CREATE') return admissionReview(request.uid, []);
  const metadata = isObject(request.object) && isObject(request.object['metadata']) ? request.object['metadata'] : {};
  const name = metadata['name'] ?? metadata['generateName'];
  const pod = `${request.namespace ?? '?'}/${typeof name === 'string' ? name : '?'}`;
  if (request.namespace === undefined) {
    log.warn({ pod, uid: request.uid }, 'pod not given interface discovery: the review names no namespace');
    return admissionReview(request.uid, []);
  }
  const plan = discoveryPlan(request.object, request.namespace);
  switch (plan.kind) {
    case 'none':
      return admissionReview(request.uid, []);
    case 'invalid':
      log.warn({ pod, uid: request.uid, reason: plan.reason }, 'pod not given interface discovery: its network annotation is invalid');
      return admissionReview(request.uid, []);
    case 'patch':
      for (const reason of plan.skipped) log.info({ pod, uid: request.uid, reason }, 'interface discovery: left out');
      log.debug({ pod, uid: request.uid, interfaces: plan.interfaces, operations: plan.patch.length }, 'interface discovery');
      return admissionReview(request.uid, plan.patch);
    default: {
      const never: never = plan;
      return never;
    }
  }
}
