/**
 * The status conditions of a Network (metav1.Condition), from its verdict and what applying its
 * NAD actions did (pure):
 * - Accepted: the spec is valid and its definition conflicts with nothing (reasons Accepted,
 *   InvalidSpec, DefinitionConflict).
 * - Ready: every selected namespace holds its NAD (reasons NetworkAttachmentDefinitionsReady,
 *   NotAccepted, ForeignNetworkAttachmentDefinition, ApplyFailed, LogicalSwitchNotFound).
 * lastTransitionTime moves only when a condition's status does.
 */
import type { Condition, ConditionStatus } from './objects.ts';
import type { NetworkVerdict } from './plan.ts';

export const ACCEPTED = 'Accepted';
export const READY = 'Ready';
const MAX_LISTED = 10;

function listed(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

type Desired = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/** `failures`: namespace -> why its NAD could not be written this round. */
export function desiredConditions(verdict: NetworkVerdict, failures: ReadonlyMap<string, string>): Desired[] {
  const { acceptance, network } = verdict;
  if (!acceptance.accepted) {
    return [
      { type: ACCEPTED, status: 'False', reason: acceptance.reason, message: acceptance.message },
      { type: READY, status: 'False', reason: 'NotAccepted', message: acceptance.message },
    ];
  }
  const { definition } = acceptance;
  const what = definition.managed === undefined ? `logical switch ${definition.switchName}` : `managed network on logical switch ${definition.switchName}`;
  const accepted: Desired = { type: ACCEPTED, status: 'True', reason: 'Accepted', message: what };
  let ready: Desired;
  const failed = verdict.selected.filter((ns) => failures.has(ns));
  if (verdict.foreign.length > 0) {
    ready = {
      type: READY,
      status: 'False',
      reason: 'ForeignNetworkAttachmentDefinition',
      message: `a NetworkAttachmentDefinition ${network.name} the controller did not make is in the way in ${plural(verdict.foreign.length, 'namespace')}: ${listed(verdict.foreign)}`,
    };
  } else if (failed.length > 0) {
    const details = failed.slice(0, MAX_LISTED).map((ns) => `${ns}: ${failures.get(ns) ?? ''}`);
    ready = { type: READY, status: 'False', reason: 'ApplyFailed', message: `cannot write the NetworkAttachmentDefinition in ${plural(failed.length, 'namespace')}: ${details.join('; ')}` };
  } else if (verdict.switchMissing) {
    ready = { type: READY, status: 'False', reason: 'LogicalSwitchNotFound', message: `logical switch ${definition.switchName} does not exist in the OVN Northbound database` };
  } else {
    const message = verdict.selected.length === 0 ? 'the namespaceSelector selects no namespace' : `${plural(verdict.selected.length, 'namespace')}: ${listed(verdict.selected)}`;
    ready = { type: READY, status: 'True', reason: 'NetworkAttachmentDefinitionsReady', message };
  }
  return [accepted, ready];
}

/**
 * The conditions to store: `desired` with observedGeneration, keeping lastTransitionTime from
 * `existing` when the status is unchanged; conditions of other types are kept as they are.
 */
export function mergeConditions(existing: readonly Condition[], desired: readonly Desired[], generation: number, now: Date): Condition[] {
  const out: Condition[] = existing.filter((c) => !desired.some((d) => d.type === c.type));
  for (const d of desired) {
    const old = existing.find((c) => c.type === d.type);
    const status: ConditionStatus = d.status;
    out.push({ ...d, status, observedGeneration: generation, lastTransitionTime: old !== undefined && old.status === status && old.lastTransitionTime !== '' ? old.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z') });
  }
  return out.sort((a, b) => a.type.localeCompare(b.type));
}

/** Whether two condition lists say the same (order aside). */
export function sameConditions(a: readonly Condition[], b: readonly Condition[]): boolean {
  if (a.length !== b.length) return false;
  const key = (c: Condition): string => JSON.stringify([c.type, c.status, c.reason, c.message, c.lastTransitionTime, c.observedGeneration]);
  const keys = new Set(a.map(key));
  return b.every((c) => keys.has(key(c)));
}
