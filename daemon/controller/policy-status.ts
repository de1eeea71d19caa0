/**
 * What the policy loop says of each MultiNetworkPolicy it enforces: the status condition
 * `Enforced` (True, or False with every problem: IPAM-mode attachments, ports without addresses,
 * a missing or refused NAD, an invalid spec), and a Kubernetes Event when that verdict changes
 * (Normal PolicyEnforced, Warning PolicyNotEnforced; through the recorder, k8s/events.ts): one
 * Event per change, not one per pass.
 *
 * Called on every pass with every report: a write happens only when the condition the policy
 * holds differs from the one wanted, and a verdict just written is not written again before the
 * cache shows it. A policy that names only other plugins' networks has no report and is not
 * touched.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { isObject } from '../cni-spec/json.ts';
import { withSignal } from '../k8s/signal.ts';
import type { EventSink } from '../k8s/events.ts';
import type { Logger } from '../lib/log.ts';
import type { PolicyReport } from '../policy/model.ts';
import { describe, eachLimited, inFlux } from './api.ts';
import { mergeConditions, sameConditions } from './conditions.ts';
import { toCondition, type Condition } from './objects.ts';
import { POLICY_GROUP, POLICY_PLURAL, POLICY_VERSION } from './policy-caches.ts';

export const ENFORCED = 'Enforced';
const POLICY_KIND = 'MultiNetworkPolicy';
/** Status writes in flight at once. */
const WRITE_LIMIT = 8;

type Desired = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/** The condition a report asks for (pure). */
export function enforcedCondition(report: PolicyReport): Desired {
  return report.enforced
    ? { type: ENFORCED, status: 'True', reason: 'Enforced', message: 'enforced on every network it names' }
    : { type: ENFORCED, status: 'False', reason: 'NotEnforced', message: report.problems.join('; ') };
}

/** Where the reporter finds a policy as the API server last sent it. */
export type PolicyLookup = (namespace: string, name: string) => unknown;

export class PolicyReporter {
  readonly #custom: CustomObjectsApi;
  readonly #events: EventSink;
  readonly #log: Logger;
  readonly #lookup: PolicyLookup;
  /** uid → the verdict last written (generation and condition), until the cache shows it. */
  readonly #written = new Map<string, string>();

  constructor(kubeConfig: KubeConfig, log: Logger, lookup: PolicyLookup, events: EventSink) {
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#events = events;
    this.#log = log.child({ component: 'policy-status' });
    this.#lookup = lookup;
  }

  /** Writes what changed; failures are logged (the next pass tries again). */
  async report(reports: readonly PolicyReport[], signal: AbortSignal): Promise<void> {
    const live = new Set(reports.map((r) => r.uid));
    for (const uid of this.#written.keys()) if (!live.has(uid)) this.#written.delete(uid);
    await eachLimited(reports, WRITE_LIMIT, (report) => this.#one(report, signal));
  }

  async #one(report: PolicyReport, signal: AbortSignal): Promise<void> {
    const raw = this.#lookup(report.namespace, report.name);
    if (!isObject(raw) || !isObject(raw['metadata']) || raw['metadata']['uid'] !== report.uid) return;
    const status = isObject(raw['status']) ? raw['status'] : {};
    const existing = Array.isArray(status['conditions']) ? status['conditions'].map(toCondition).filter((c) => c !== undefined) : [];
    const desired = enforcedCondition(report);
    const conditions = mergeConditions(existing, [desired], report.generation, new Date());
    const verdict = JSON.stringify([report.generation, desired]);
    if (sameConditions(existing, conditions)) {
      this.#written.delete(report.uid);
      return;
    }
    if (this.#written.get(report.uid) === verdict) return;
    const before = existing.find((c) => c.type === ENFORCED);
    try {
      await this.#custom.replaceNamespacedCustomObjectStatus(
        { group: POLICY_GROUP, version: POLICY_VERSION, plural: POLICY_PLURAL, namespace: report.namespace, name: report.name, body: { ...raw, status: { ...status, conditions } } },
        withSignal(signal),
      );
    } catch (err) {
      if (!inFlux(err) && !signal.aborted) this.#log.warn({ policy: `${report.namespace}/${report.name}`, err: describe(err) }, 'policy status not written');
      return;
    }
    this.#written.set(report.uid, verdict);
    this.#log.info({ policy: `${report.namespace}/${report.name}`, enforced: report.enforced, problems: report.problems }, 'policy status written');
    if (before?.status !== desired.status || before.message !== desired.message) this.#event(report, desired);
  }

  #event(report: PolicyReport, condition: Desired): void {
    this.#events.record({
      regarding: { apiVersion: `${POLICY_GROUP}/${POLICY_VERSION}`, kind: POLICY_KIND, namespace: report.namespace, name: report.name, uid: report.uid },
      type: report.enforced ? 'Normal' : 'Warning',
      reason: report.enforced ? 'PolicyEnforced' : 'PolicyNotEnforced',
      action: 'Enforce',
      note: condition.message,
    });
  }
}
