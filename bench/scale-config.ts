/** The scale bench's sizes, from the environment (see README.md, "Scale"). */

export interface ScaleConfig {
  /** Unrelated port counts, ascending, always starting with 0 (the empty-NB run). */
  readonly unrelated: readonly number[];
  /** Ports already on one switch of ours (0: no such scenario). */
  readonly ours: number;
  /** Serial ADDs per scenario (per switch in the "ours" scenario). */
  readonly adds: number;
  /** Unrelated ports created and then deleted while the daemon's reads are counted. */
  readonly churn: number;
  /** Switches the unrelated ports are spread over. */
  readonly switches: number;
  /** STATUS calls timed on a running daemon, and NB floor commits. */
  readonly probes: number;
}

export const SCALE_DEFAULTS: ScaleConfig = { unrelated: [0, 20_000, 50_000], ours: 20_000, adds: 10, churn: 10_000, switches: 100, probes: 10 };

export const SCALE_ENV = {
  unrelated: 'SCALE_UNRELATED',
  ours: 'SCALE_OURS',
  adds: 'SCALE_ADDS',
  churn: 'SCALE_CHURN',
  switches: 'SCALE_SWITCHES',
  probes: 'SCALE_PROBES',
} as const;

const LIMITS = { ours: [0, 60_000], adds: [1, 200], churn: [0, 200_000], switches: [1, 1000], probes: [1, 200] } as const;

function count(getenv: (name: string) => string | undefined, key: keyof typeof LIMITS): number {
  const name = SCALE_ENV[key];
  const raw = getenv(name);
  if (raw === undefined || raw === '') return SCALE_DEFAULTS[key];
  const [min, max] = LIMITS[key];
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

export function readScaleConfig(getenv: (name: string) => string | undefined = (name) => process.env[name]): ScaleConfig {
  const raw = getenv(SCALE_ENV.unrelated);
  let unrelated = [...SCALE_DEFAULTS.unrelated];
  if (raw !== undefined && raw !== '') {
    unrelated = raw.split(',').map((s) => {
      const v = Number(s.trim());
      if (!Number.isInteger(v) || v < 0 || v > 1_000_000) throw new Error(`${SCALE_ENV.unrelated}: ${JSON.stringify(s)} is not a port count from 0 to 1000000`);
      return v;
    });
  }
  // The empty NB is every comparison's reference: always measured, first.
  unrelated = [...new Set([0, ...unrelated])].sort((a, b) => a - b);
  return { unrelated, ours: count(getenv, 'ours'), adds: count(getenv, 'adds'), churn: count(getenv, 'churn'), switches: count(getenv, 'switches'), probes: count(getenv, 'probes') };
}
