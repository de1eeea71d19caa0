/**
 * M simulated nodes for the many-nodes bench, spread over worker processes (nodes-worker.ts: Node
 * runs one thread per process, and a thousand NB clients in one would time that thread, not the
 * NB). Each order goes to every worker at once; the wall time runs until the last one answers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Teardown } from '../test/helpers/netns.ts';
import { elapsedMs, stamp } from './clock.ts';
import { parseAnswer, type WorkerAnswer, type WorkerOrder } from './nodes-protocol.ts';

const WORKER = fileURLToPath(new URL('./nodes-worker.ts', import.meta.url));

interface Worker {
  readonly child: ChildProcess;
  /** The next answer (one order at a time per worker). */
  next(): Promise<WorkerAnswer>;
}

function startWorker(cleanup: Teardown): Worker {
  // stdout ignored: the daemon's logger writes there, and the bench's report goes to its own.
  const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const answers: WorkerAnswer[] = [];
  let waiting: { resolve: (a: WorkerAnswer) => void; reject: (e: Error) => void } | undefined;
  let gone: Error | undefined;
  child.on('message', (message: unknown) => {
    const answer = parseAnswer(message);
    if (waiting === undefined) answers.push(answer);
    else waiting.resolve(answer);
    waiting = undefined;
  });
  child.once('exit', (code, signal) => {
    gone = new Error(`a simulated-nodes worker exited (${signal ?? `code ${String(code)}`})`);
    waiting?.reject(gone);
  });
  cleanup.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  });
  return {
    child,
    next: () => {
      const queued = answers.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (gone !== undefined) return Promise.reject(gone);
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
  };
}

export interface Timed<T> {
  readonly wallMs: number;
  readonly result: T;
}

export interface Served {
  /** Nodes that hold the switch in view once their serve() resolved. */
  readonly inView: number;
  /** Why the others' serve() failed. */
  readonly failed: readonly string[];
}

export interface SimulatedNodes {
  /** Every node connects (monitor loaded), `names` spread over the workers: how many did within `limitMs`. */
  connect(remotes: readonly string[], names: readonly string[], limitMs: number): Promise<Timed<number>>;
  /** Every node serves `network`, as an ADD's first use of it does, each within `limitMs`. */
  serve(network: string, limitMs: number): Promise<Timed<Served>>;
  /** Closes every node; the NB connections they saw drop while open. */
  close(): Promise<number>;
}

/** `count` workers, ready for orders. */
export async function startWorkers(cleanup: Teardown, count: number): Promise<SimulatedNodes> {
  const workers = Array.from({ length: count }, () => startWorker(cleanup));
  const expect = async (worker: Worker, kind: WorkerAnswer['kind']): Promise<WorkerAnswer> => {
    const answer = await worker.next();
    if (answer.kind === 'error') throw new Error(`simulated nodes: ${answer.message}`);
    if (answer.kind !== kind) throw new Error(`simulated nodes: a worker answered ${answer.kind}, not ${kind}`);
    return answer;
  };
  await Promise.all(workers.map((w) => expect(w, 'ready')));
  const all = async (orders: (i: number) => WorkerOrder, kind: WorkerAnswer['kind']): Promise<Timed<WorkerAnswer[]>> => {
    const started = stamp();
    const answers = await Promise.all(
      workers.map((w, i) => {
        w.child.send(orders(i));
        return expect(w, kind);
      }),
    );
    return { wallMs: elapsedMs(started, stamp()), result: answers };
  };
  return {
    connect: async (remotes, names, limitMs) => {
      const { wallMs, result } = await all((i) => ({ kind: 'connect', remotes, names: names.filter((_, k) => k % count === i), limitMs }), 'connected');
      return { wallMs, result: result.reduce((sum, a) => sum + (a.kind === 'connected' ? a.connected : 0), 0) };
    },
    serve: async (network, limitMs) => {
      const { wallMs, result } = await all(() => ({ kind: 'serve', network, limitMs }), 'served');
      const served = result.flatMap((a) => (a.kind === 'served' ? [a] : []));
      return { wallMs, result: { inView: served.reduce((sum, a) => sum + a.inView, 0), failed: served.flatMap((a) => a.failed) } };
    },
    close: async () => {
      const { result } = await all(() => ({ kind: 'close' }), 'closed');
      return result.reduce((sum, a) => sum + (a.kind === 'closed' ? a.disconnects : 0), 0);
    },
  };
}
