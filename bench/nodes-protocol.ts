/**
 * The messages between the many-nodes bench and its worker processes (nodes-worker.ts), each
 * holding a share of the simulated nodes. Parent → worker: connect its nodes, serve a switch on
 * all of them, close them. Worker → parent: one answer per order, or the error that stopped it.
 */

export type WorkerOrder =
  | { readonly kind: 'connect'; readonly remotes: readonly string[]; readonly names: readonly string[] }
  | { readonly kind: 'serve'; readonly network: string }
  | { readonly kind: 'close' };

export type WorkerAnswer =
  | { readonly kind: 'ready' }
  /** Every node's NB client connected and its monitor loaded. */
  | { readonly kind: 'connected' }
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
    if (kind === 'connect' && isStrings(value['remotes']) && isStrings(value['names'])) return { kind, remotes: value['remotes'], names: value['names'] };
    if (kind === 'serve' && typeof value['network'] === 'string') return { kind, network: value['network'] };
    if (kind === 'close') return { kind };
  }
  throw new Error(`not a worker order: ${JSON.stringify(value)}`);
}

export function parseAnswer(value: unknown): WorkerAnswer {
  if (isRecord(value)) {
    const { kind } = value;
    if (kind === 'ready' || kind === 'connected') return { kind };
    if (kind === 'served' && typeof value['inView'] === 'number' && isStrings(value['failed'])) return { kind, inView: value['inView'], failed: value['failed'] };
    if (kind === 'closed' && typeof value['disconnects'] === 'number') return { kind, disconnects: value['disconnects'] };
    if (kind === 'error' && typeof value['message'] === 'string') return { kind, message: value['message'] };
  }
  throw new Error(`not a worker answer: ${JSON.stringify(value)}`);
}
