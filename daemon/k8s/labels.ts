/**
 * Kubernetes label selectors (metav1.LabelSelector): `matchLabels` and `matchExpressions` with
 * In, NotIn, Exists and DoesNotExist, ANDed. Pure: narrowed once from the object, then matched.
 *
 * Semantics are apimachinery's `LabelSelectorAsSelector`: an empty selector `{}` selects every
 * object; an absent (or null) selector selects none. NotIn and DoesNotExist also match objects
 * that lack the key.
 */
import { isObject } from '../cni-spec/json.ts';
import { LabelSelectorError, UnreachableError } from '../errors.ts';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: readonly string[];
}

export interface LabelSelector {
  matchLabels: ReadonlyMap<string, string>;
  matchExpressions: readonly SelectorRequirement[];
}

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'] satisfies SelectorOperator[];


function parseRequirement(raw: unknown, path: string): SelectorRequirement {
  if (!isObject(raw)) throw new LabelSelectorError(`${path}: must be an object`);
  const { key, operator, values } = raw;
  if (typeof key !== 'string' || key === '') throw new LabelSelectorError(`${path}.key: must be a non-empty string`);
  if (typeof operator !== 'string' || !OPERATORS.includes(operator)) throw new LabelSelectorError(`${path}.operator: must be one of ${OPERATORS.join(', ')}`);
  const op = operator as SelectorOperator;
  if (values !== undefined && values !== null && (!Array.isArray(values) || !values.every((v) => typeof v === 'string'))) {
    throw new LabelSelectorError(`${path}.values: must be a list of strings`);
  }
  const list: string[] = Array.isArray(values) ? values : [];
  // As apimachinery's ValidateLabelSelectorRequirement.
  if ((op === 'In' || op === 'NotIn') && list.length === 0) throw new LabelSelectorError(`${path}.values: must be non-empty for ${op}`);
  if ((op === 'Exists' || op === 'DoesNotExist') && list.length > 0) throw new LabelSelectorError(`${path}.values: must be empty for ${op}`);
  return { key, operator: op, values: list };
}

/** undefined for an absent or null selector (selects nothing); throws LabelSelectorError. */
export function parseLabelSelector(raw: unknown, path: string): LabelSelector | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw new LabelSelectorError(`${path}: must be an object`);
  const { matchLabels, matchExpressions } = raw;
  const labels = new Map<string, string>();
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isObject(matchLabels)) throw new LabelSelectorError(`${path}.matchLabels: must be an object`);
    for (const [k, v] of Object.entries(matchLabels)) {
      if (typeof v !== 'string') throw new LabelSelectorError(`${path}.matchLabels.${k}: must be a string`);
      labels.set(k, v);
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null && !Array.isArray(matchExpressions)) {
    throw new LabelSelectorError(`${path}.matchExpressions: must be a list`);
  }
  const expressions = Array.isArray(matchExpressions) ? matchExpressions.map((r: unknown, i) => parseRequirement(r, `${path}.matchExpressions[${i}]`)) : [];
  return { matchLabels: labels, matchExpressions: expressions };
}

function requirementMatches(r: SelectorRequirement, labels: ReadonlyMap<string, string>): boolean {
  const value = labels.get(r.key);
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    default: {
      const never: never = r.operator;
      throw new UnreachableError(`unknown operator ${String(never)}`);
    }
  }
}

/** Whether `selector` selects an object with `labels` (undefined selects nothing, `{}` everything). */
export function selectorMatches(selector: LabelSelector | undefined, labels: ReadonlyMap<string, string>): boolean {
  if (selector === undefined) return false;
  for (const [k, v] of selector.matchLabels) if (labels.get(k) !== v) return false;
  return selector.matchExpressions.every((r) => requirementMatches(r, labels));
}
