/** The many-nodes bench's sizes, from the environment (see README.md, "Many nodes"). */

export interface NodesConfig {
  /** Unrelated ports in the NB (another cluster's), K. */
  readonly unrelated: number;
  /** Real daemons, N (0 skips that part). */
  readonly daemons: number;
  /** Simulated nodes, M (0 skips that part). */
  readonly simulated: number;
  /** Relays in the relay topology, R. */
  readonly relays: number;
  /** Worker processes the simulated nodes are spread over. */
  readonly workers: number;
  /** Commits timed for "one commit", with and without the simulated nodes' monitors. */
  readonly commits: number;
  /** How long the simulated nodes have to connect, and then to serve a switch, seconds. */
  readonly limitSeconds: number;
}

export const NODES_DEFAULTS: NodesConfig = { unrelated: 100_000, daemons: 100, simulated: 1000, relays: 2, workers: 4, commits: 50, limitSeconds: 120 };

export const NODES_ENV = {
  unrelated: 'NODES_UNRELATED',
  daemons: 'NODES_DAEMONS',
  simulated: 'NODES_SIMULATED',
  relays: 'NODES_RELAYS',
  workers: 'NODES_WORKERS',
  commits: 'NODES_COMMITS',
  limitSeconds: 'NODES_LIMIT',
} as const satisfies Record<keyof NodesConfig, string>;

const LIMITS: Record<keyof NodesConfig, readonly [number, number]> = {
  unrelated: [0, 1_000_000],
  daemons: [0, 300],
  simulated: [0, 10_000],
  relays: [1, 16],
  workers: [1, 32],
  commits: [5, 1000],
  limitSeconds: [10, 3600],
};

export function readNodesConfig(getenv: (name: string) => string | undefined = (name) => process.env[name]): NodesConfig {
  const read = (key: keyof NodesConfig): number => {
    const name = NODES_ENV[key];
    const raw = getenv(name);
    if (raw === undefined || raw === '') return NODES_DEFAULTS[key];
    const [min, max] = LIMITS[key];
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  };
  return {
    unrelated: read('unrelated'),
    daemons: read('daemons'),
    simulated: read('simulated'),
    relays: read('relays'),
    workers: read('workers'),
    commits: read('commits'),
    limitSeconds: read('limitSeconds'),
  };
}
