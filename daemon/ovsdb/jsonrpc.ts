// JSON-RPC 1.0 as OVSDB speaks it (RFC 7047 section 4): a stream of concatenated
// JSON objects with no delimiter, requests matched to replies by id, the peer's
// "echo" requests answered, and echo probes that drop a peer silent for two intervals.

import type { Duplex } from 'node:stream';
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
  /** Probe period: an interval without input sends an echo, a second one drops the peer. 0 disables. */
  readonly echoIntervalMs: number;
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

export class JsonRpcConnection {
  readonly #socket: Duplex;
  readonly #options: JsonRpcOptions;
  readonly #parser: JsonFrameParser;
  readonly #pending = new Map<number, Pending>();
  readonly #closed = Promise.withResolvers<Error | undefined>();
  #nextId = 1;
  #heardSinceTick = true;
  #probeSent = false;
  #ended = false;
  #failure: Error | undefined;
  #probeTimer: NodeJS.Timeout | undefined;

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
    if (options.echoIntervalMs > 0) {
      this.#probeTimer = setInterval(() => this.#probe(), options.echoIntervalMs);
    }
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
    this.#heardSinceTick = true;
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

  // Once per interval: a tick with no input since the last one sends an echo; the
  // next tick with still no input drops the peer (silent for two to three intervals).
  #probe(): void {
    if (this.#heardSinceTick) {
      this.#heardSinceTick = false;
      this.#probeSent = false;
    } else if (this.#probeSent) {
      this.close(new OvsdbInactivityError(`no message from the peer for ${2 * this.#options.echoIntervalMs} ms`));
    } else {
      this.#probeSent = true;
      this.#send({ id: PROBE_ID, method: 'echo', params: [] });
    }
  }

  #onClose(): void {
    this.#ended = true;
    clearInterval(this.#probeTimer);
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
