/**
 * A raw client of the daemon's Unix socket for tests that bypass the CNI executable (the
 * bad-input corpus, the socket fuzzer): writes exactly the given bytes, then half-closes, holds,
 * or drops the connection, and collects whatever the daemon answers.
 */
import { connect } from 'node:net';

/** What to write, and how the client then behaves. */
export interface RawSend {
  /** Written in order, `gapMs` apart; writing stops once the daemon has answered or closed. */
  readonly chunks: readonly Buffer[];
  readonly gapMs: number;
  /**
   * After the chunks: half-close (as the executable does), keep the connection open, drop it,
   * or half-close and drop it at once (gone before the answer).
   */
  readonly finish: 'end' | 'hold' | 'destroy' | 'end-then-destroy';
}

export interface SocketOutcome {
  reply: string;
  /** The client's socket error, if any (EPIPE, ECONNRESET...). */
  error: string | undefined;
  timedOut: boolean;
}

/** Sends the chunks (gapMs apart, stopping once the daemon answered), then finishes as told. */
export function sendToSocket(path: string, c: RawSend, limitMs = 15_000): Promise<SocketOutcome> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const reply: Buffer[] = [];
    let answered = false;
    let error: string | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      sock.destroy();
    }, limitMs);
    sock.on('data', (d: Buffer) => {
      reply.push(d);
      answered = true;
    });
    sock.on('end', () => {
      answered = true;
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(reply).toString('utf8'), error, timedOut });
    });
    const stopped = (): boolean => answered || sock.destroyed;
    const drained = (): Promise<void> =>
      new Promise((r) => {
        const done = (): void => {
          sock.off('drain', done);
          sock.off('close', done);
          r();
        };
        sock.on('drain', done);
        sock.on('close', done);
      });
    const send = async (): Promise<void> => {
      for (const [i, chunk] of c.chunks.entries()) {
        if (i > 0 && c.gapMs > 0) await new Promise((r) => setTimeout(r, c.gapMs));
        if (stopped()) return;
        if (!sock.write(chunk)) await drained();
      }
      if (stopped()) return;
      switch (c.finish) {
        case 'end':
          sock.end();
          break;
        case 'hold':
          break;
        case 'destroy':
          sock.destroy();
          break;
        case 'end-then-destroy':
          sock.end();
          sock.destroy();
          break;
        default: {
          const never: never = c.finish;
          throw new Error(`unhandled finish ${String(never)}`);
        }
      }
    };
    sock.on('connect', () => void send());
  });
}

/** Runs `fn` over `items`, at most `limit` at a time; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
