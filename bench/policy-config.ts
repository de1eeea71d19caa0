/** The policy bench's sizes, from the environment (see README.md, "Policy enforcement"). */

export interface PolicyConfig {
  /** Pods on the policies' switch, the two real probe pods included (POLICY_PODS). */
  readonly pods: number;
  /** MultiNetworkPolicies (POLICY_POLICIES). */
  readonly policies: number;
  /** Changes timed per kind and per path, half allowing and half denying (POLICY_CHANGES). */
  readonly changes: number;
  /** The comparison scenario for the NB rows and memory: its pods and policies (POLICY_SMALL, "PODSxPOLICIES"). */
  readonly smallPods: number;
  readonly smallPolicies: number;
  /** The prober's packet interval, ms (POLICY_INTERVAL_MS). */
  readonly intervalMs: number;
  /** No packet for this long after a change that denies: traffic has stopped (POLICY_QUIET_MS). */
  readonly quietMs: number;
  /** Give up on one change after this long, ms (POLICY_TIMEOUT_MS). */
  readonly timeoutMs: number;
}

export const POLICY_DEFAULTS: PolicyConfig = { pods: 1000, policies: 100, changes: 100, smallPods: 100, smallPolicies: 10, intervalMs: 2, quietMs: 500, timeoutMs: 20_000 };

const NUMBERS = {
  pods: ['POLICY_PODS', 2, 100_000],
  policies: ['POLICY_POLICIES', 1, 10_000],
  changes: ['POLICY_CHANGES', 2, 10_000],
  intervalMs: ['POLICY_INTERVAL_MS', 1, 100],
  quietMs: ['POLICY_QUIET_MS', 50, 10_000],
  timeoutMs: ['POLICY_TIMEOUT_MS', 1000, 600_000],
} as const satisfies Partial<Record<keyof PolicyConfig, readonly [string, number, number]>>;

export function readPolicyConfig(getenv: (name: string) => string | undefined = (name) => process.env[name]): PolicyConfig {
  const read = (key: keyof typeof NUMBERS): number => {
    const [name, min, max] = NUMBERS[key];
    const raw = getenv(name);
    if (raw === undefined || raw === '') return POLICY_DEFAULTS[key];
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  };
  const small = getenv('POLICY_SMALL');
  let smallPods = POLICY_DEFAULTS.smallPods;
  let smallPolicies = POLICY_DEFAULTS.smallPolicies;
  if (small !== undefined && small !== '') {
    const m = /^(\d+)x(\d+)$/.exec(small);
    if (m === null || Number(m[1]) < 2 || Number(m[2]) < 1) throw new Error(`POLICY_SMALL must be PODSxPOLICIES (pods ≥ 2, policies ≥ 1), got ${JSON.stringify(small)}`);
    smallPods = Number(m[1]);
    smallPolicies = Number(m[2]);
  }
  return { pods: read('pods'), policies: read('policies'), changes: read('changes'), smallPods, smallPolicies, intervalMs: read('intervalMs'), quietMs: read('quietMs'), timeoutMs: read('timeoutMs') };
}
