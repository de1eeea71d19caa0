/** Sample counts, from the environment (see README.md). */

export interface BenchConfig {
  /** Serial ADDs (then DELs) per method. */
  readonly runs: number;
  /** Concurrent ADDs (then DELs) in the burst. */
  readonly burst: number;
  /** Untimed ADD/DEL cycles before each measured phase. */
  readonly warmup: number;
}

export const DEFAULTS: BenchConfig = { runs: 50, burst: 100, warmup: 3 };

/** Calls per executable and command run under GNU time for the CNI process's peak RSS. */
export const RSS_PROBES = 10;
export const rssProbeCount = (cfg: BenchConfig): number => Math.min(cfg.runs, RSS_PROBES);

const LIMITS = { runs: [1, 5000], burst: [1, 1000], warmup: [0, 100] } as const;

export const ENV_NAMES = { runs: 'BENCH_RUNS', burst: 'BENCH_BURST', warmup: 'BENCH_WARMUP' } as const;

function readCount(getenv: (name: string) => string | undefined, key: keyof BenchConfig): number {
  const name = ENV_NAMES[key];
  const raw = getenv(name);
  if (raw === undefined || raw === '') return DEFAULTS[key];
  const [min, max] = LIMITS[key];
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function readConfig(getenv: (name: string) => string | undefined = (name) => process.env[name]): BenchConfig {
  return { runs: readCount(getenv, 'runs'), burst: readCount(getenv, 'burst'), warmup: readCount(getenv, 'warmup') };
}
