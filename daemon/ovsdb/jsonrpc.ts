// JSON-RPC 1.0 as OVSDB speaks it (RFC 7047 section 4): a stream of concatenated
// JSON objects with no delimiter, requests matched to replies by id, the peer's
// "echo" requests answered, and echo probes whose patience grows while the peer is silent:
// a busy peer (ovsdb-server is single-threaded: one long monitor evaluation silences it for
// everyone) keeps its session; only silence beyond the cap drops it. A peer that is gone is
// told by the connection itself: EOF, a reset or an error closes it at once.

import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import {
  OvsdbInactivityError,
  OvsdbNotConnectedError,
  OvsdbProtocolError,
  OvsdbRpcError,
} from '../errors.ts';
import { isJsonObject } from './json.ts';

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Splits a byte stream into top-level JSON values by tracking bracket depth and
 * strings. Bytes of multi-byte UTF-8 characters never equal these ASCII
 * delimiters, so scanning bytes is safe; decoding waits until a value is whole.
 */
export class JsonFrameParser {
  readonly #maxBytes: number;
  #parts: Buffer[] = [];
  #partBytes = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Feeds a chunk; returns the values it completed. Throws `OvsdbProtocolError` on garbage or an oversized value. */
  push(chunk: Buffer): unknown[] {
    const values: unknown[] = [];
    let start = this.#depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.#depth === 0) {
        if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
          this.#depth = 1;
          start = i;
        } else if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) {
          throw new OvsdbProtocolError(`unexpected byte 0x${byte.toString(16)} between JSON values`);
        }
      } else if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) this.#inString = false;
      } else if (byte === QUOTE) {
        this.#inString = true;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        this.#depth++;
      } else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && --this.#depth === 0) {
        values.push(this.#complete(chunk.subarray(start, i + 1)));
        start = -1;
      }
    }
    if (start >= 0) {
      this.#parts.push(chunk.subarray(start));
      this.#partBytes += chunk.length - start;
      this.#checkSize(0);
    }
    return values;
  }

  #complete(tail: Buffer): unknown {
    this.#checkSize(tail.length);
    const bytes = this.#parts.length === 0 ? tail : Buffer.concat([...this.#parts, tail]);
    this.#parts = [];
    this.#partBytes = 0;
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new OvsdbProtocolError('invalid JSON', { cause: error });
    }
  }

  #checkSize(extra: number): void {
    if (this.#partBytes + extra > this.#maxBytes) {
      throw new OvsdbProtocolError(`message larger than ${this.#maxBytes} bytes`);
    }
  }
}

export interface JsonRpcOptions {
  /** Largest message accepted from the peer. */
  readonly maxMessageBytes: number;
  /**
   * Probe period: an interval without input sends an echo; the silence allowed then doubles with
   * each unanswered echo (`silenceBudgetMs`), and a peer silent for `SILENCE_CAP_INTERVALS`
   * intervals is dropped. 0 disables.
   */
  readonly echoIntervalMs: number;
  /** Told when the peer has been silent past its first echo (busy), and when it answers again. */
  readonly logger?: Logger | undefined;
  /** Called synchronously, in arrival order, for each notification (a request with a null id). */
  readonly onNotification: (method: string, params: unknown) => void;
}

interface Pending {
  readonly method: string;
  /** Called with the result as the reply is read, before any later message is handled. */
  readonly replied: ((result: unknown) => void) | undefined;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
}

// Our own echo probes carry this id; no request of ours uses it, so replies are dropped.
const PROBE_ID = 'probe';

/**
 * The silence, in echo intervals, after which a peer is dropped. The daemon's interval is a third
 * of --db-inactivity-probe (lib/flags.ts), so the cap is 4 × --db-inactivity-probe (18 s by
 * default): longer than the longest stall measured on a busy NB (poll intervals of up to 10 s
 * while it evaluated 100,000 ports for one client), short enough that a hung or cut-off server
 * is left for another within a request's deadline.
 */
export const SILENCE_CAP_INTERVALS = 12;

/**
 * The silence a peer is allowed after `echoes` unanswered echoes, before the probe looks again:
 * one interval, then double at each unanswered echo (1, 2, 4, 8 intervals), up to the cap.
 * Reaching the cap drops the peer.
 */
export function silenceBudgetMs(echoes: number, intervalMs: number): number {
  return intervalMs * Math.min(2 ** echoes, SILENCE_CAP_INTERVALS);
}

export class JsonRpcConnection {
  readonly #socket: Duplex;
  readonly #options: JsonRpcOptions;
  readonly #parser: JsonFrameParser;
  readonly #pending = new Map<number, Pending>();
  readonly #closed = Promise.withResolvers<Error | undefined>();
  #nextId = 1;
  /** When the peer last sent anything (performance.now()). */
  #heardAt = performance.now();
  /** Echoes sent since the peer was last heard. */
  #echoes = 0;
  /** The busy warning was logged for this silence. */
  #warnedBusy = false;
  #ended = false;
  #failure: Error | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  /** When the probe timer is due (performance.now()): a later run means our event loop was held up. */
  #dueAt = 0;

  constructor(socket: Duplex, options: JsonRpcOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#parser = new JsonFrameParser(options.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: Error) => {
      this.#failure ??= error;
    });
    socket.on('end', () => this.close()); // no half-open sessions in OVSDB
    socket.on('close', () => this.#onClose());
    if (options.echoIntervalMs > 0) this.#schedule(options.echoIntervalMs);
  }

  /** Resolves once the connection is closed, with the reason (`undefined` for a clean close by the peer). */
  get closed(): Promise<Error | undefined> {
    return this.#closed.promise;
  }

  /**
   * Sends a request and waits for its reply. Rejects with `OvsdbRpcError` on an error
   * reply, `OvsdbNotConnectedError` if the connection is or becomes closed, and
   * `signal.reason` on abort (a later reply is then ignored). `sent` is called once the request
   * is written to the connection (not when it is refused before that). `replied` is called with a
   * successful reply's result as it is read, before any message that follows it (a notification
   * of a commit that came after the request) is handled: what the reply says can be acted on in
   * order, which a continuation after `await` cannot.
   */
  async request(method: string, params: readonly unknown[], signal: AbortSignal, sent?: () => void, replied?: (result: unknown) => void): Promise<unknown> {
    signal.throwIfAborted();
    if (this.#ended) throw new OvsdbNotConnectedError(undefined, { cause: this.#failure });
    const id = this.#nextId++;
    const reply = Promise.withResolvers<unknown>();
    const onAbort = (): void => {
      this.#pending.delete(id);
      reply.reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      this.#pending.set(id, { method, replied, resolve: reply.resolve, reject: reply.reject });
      this.#send({ id, method, params });
      sent?.();
      return await reply.promise;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the connection; pending requests fail with `OvsdbNotConnectedError` carrying `reason`. */
  close(reason?: Error): void {
    this.#failure ??= reason;
    this.#ended = true;
    this.#socket.destroy();
  }

  #send(message: object): void {
    if (!this.#ended) this.#socket.write(JSON.stringify(message));
  }

  #onData(chunk: Buffer): void {
    const now = performance.now();
    if (this.#echoes > 0) this.#answered(now - this.#heardAt);
    this.#heardAt = now;
    try {
      for (const message of this.#parser.push(chunk)) {
        if (this.#ended) return;
        this.#dispatch(message);
      }
    } catch (error) {
      this.close(error instanceof Error ? error : new OvsdbProtocolError(String(error)));
    }
  }

  #dispatch(message: unknown): void {
    if (!isJsonObject(message)) throw new OvsdbProtocolError('a message is not a JSON object');
    const { method, id } = message;
    if (typeof method === 'string') {
      if (id === null || id === undefined) this.#options.onNotification(method, message['params']);
      else if (method === 'echo') this.#send({ id, result: message['params'], error: null });
      else this.#send({ id, result: null, error: 'unknown method' });
      return;
    }
    if (!('result' in message) && !('error' in message)) {
      throw new OvsdbProtocolError('a message is neither a request nor a reply');
    }
    const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (pending === undefined) return; // aborted by the caller, or a probe reply
    this.#pending.delete(id as number);
    const error = message['error'];
    if (error === null || error === undefined) {
      pending.replied?.(message['result']);
      pending.resolve(message['result']);
    }
    else pending.reject(rpcError(pending.method, error));
  }

  /** The peer spoke again after `silentMs` of silence that had drawn echoes. */
  #answered(silentMs: number): void {
    if (this.#warnedBusy) this.#options.logger?.info({ silentMs: Math.round(silentMs) }, 'ovsdb peer answers again');
    this.#echoes = 0;
    this.#warnedBusy = false;
  }

  // Looks when the silence allowed runs out (data arriving meanwhile only moves #heardAt): sends
  // an echo and allows twice the silence, or drops the peer once the silence reaches the cap.
  // After our own event loop was held up (a large reply parsed), input may be waiting unread:
  // one look is made after the loop has read it before anything is judged.
  #probe(): void {
    if (this.#ended) return;
    const intervalMs = this.#options.echoIntervalMs;
    const now = performance.now();
    const silentMs = now - this.#heardAt;
    const late = now - this.#dueAt > intervalMs;
    if (silentMs >= silenceBudgetMs(this.#echoes, intervalMs) && !late) {
      if (silentMs >= intervalMs * SILENCE_CAP_INTERVALS) {
        this.close(new OvsdbInactivityError(`no message from the peer for ${Math.round(silentMs)} ms (echoes unanswered)`));
        return;
      }
      if (this.#echoes > 0 && !this.#warnedBusy) {
        this.#warnedBusy = true;
        this.#options.logger?.warn({ silentMs: Math.round(silentMs), dropAfterMs: intervalMs * SILENCE_CAP_INTERVALS }, 'ovsdb peer busy: no answer to an echo yet; the session is kept');
      }
      this.#echoes++;
      this.#send({ id: PROBE_ID, method: 'echo', params: [] });
    }
    this.#schedule(Math.max(1, silenceBudgetMs(this.#echoes, intervalMs) - silentMs));
  }

  #schedule(delayMs: number): void {
    this.#dueAt = performance.now() + delayMs;
    this.#probeTimer = setTimeout(() => this.#probe(), delayMs);
  }

  #onClose(): void {
    this.#ended = true;
    clearTimeout(this.#probeTimer);
    for (const pending of this.#pending.values()) {
      pending.reject(new OvsdbNotConnectedError(`connection closed during ${pending.method}`, { cause: this.#failure }));
    }
    this.#pending.clear();
    this.#closed.resolve(this.#failure);
  }
}

// RFC 7047 puts a string in "error"; ovsdb-server also sends {"error": ..., "details": ...}.
function rpcError(method: string, error: unknown): OvsdbRpcError {
  if (isJsonObject(error)) {
    const details = error['details'];
    return new OvsdbRpcError(method, String(error['error']), typeof details === 'string' ? details : undefined);
  }
  return new OvsdbRpcError(method, String(error), undefined);
}
