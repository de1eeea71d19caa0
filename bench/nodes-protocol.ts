/**
 * The messages between the many-nodes bench and its worker processes (nodes-worker.ts), each
 * holding a share of the simulated nodes. Parent → worker: connect its nodes, serve a switch on
 * all of them, close them. Worker → parent: one answer per order, or the error that stopped it.
 */

export type WorkerOrder =
  | { readonly kind: 'connect'; readonly remotes: readonly string[]; readonly names: readonly string[]; readonly limitMs: number }
  | { readonly kind: 'serve'; readonly network: string; readonly limitMs: number }
  | { readonly kind: 'close' };

export type WorkerAnswer =
  | { readonly kind: 'ready' }
  /** How many nodes' NB clients connected and loaded their monitor within the limit. */
  | { readonly kind: 'connected'; readonly connected: number }
  /** How many nodes hold the switch in view once their serve() resolved, and why the others failed. */
  | { readonly kind: 'served'; readonly inView: number; readonly failed: readonly string[] }
  /** NB connections its nodes saw drop while open. */
  | { readonly kind: 'closed'; readonly disconnects: number }
  | { readonly kind: 'error'; readonly message: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

export function parseOrder(value: unknown): WorkerOrder {
  if (isRecord(value)) {
    const { kind } = value;
    const { limitMs } = value;
    if (kind === 'connect' && isStrings(value['remotes']) && isStrings(value['names']) && typeof limitMs === 'number') return { kind, remotes: value['remotes'], names: value['names'], limitMs };
    if (kind === 'serve' && typeof value['network'] === 'string' && typeof limitMs === 'number') return { kind, network: value['network'], limitMs };
    if (kind === 'close') return { kind };
  }
  throw new Error(`not a worker order: ${JSON.stringify(value)}`);
}

export function parseAnswer(value: unknown): WorkerAnswer {
  if (isRecord(value)) {
    const { kind } = value;
    if (kind === 'ready') return { kind };
    if (kind === 'connected' && typeof value['connected'] === 'number') return { kind, connected: value['connected'] };
    if (kind === 'served' && typeof value['inView'] === 'number' && isStrings(value['failed'])) return { kind, inView: value['inView'], failed: value['failed'] };
    if (kind === 'closed' && typeof value['disconnects'] === 'number') return { kind, disconnects: value['disconnects'] };
    if (kind === 'error' && typeof value['message'] === 'string') return { kind, message: value['message'] };
  }
  throw new Error(`not a worker answer: ${JSON.stringify(value)}`);
}
