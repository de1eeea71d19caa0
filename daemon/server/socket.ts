/**
 * The daemon's Unix socket (cf. ovn-kubernetes cniserver_linux.go): a root-owned 0700 directory,
 * a 0600 socket, one JSON request per connection (ended by a newline, or by the client
 * half-closing), size-capped and with a deadline for reading it, so a slow or broken client
 * cannot hold the daemon; a request whose client disconnects before the answer is cancelled.
 * At most `maxConnections` are open at once: one more is answered code 11 without being read.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MAX_REQUEST_BYTES, parseDaemonRequest, type DaemonRequest, type DaemonResponse } from '../cni-spec/protocol.ts';
import { errorOutput } from '../cni-spec/output.ts';
import { LATEST_VERSION } from '../cni-spec/version.ts';
import type { Logger } from '../lib/log.ts';
import { ClientGoneError, DecodeFailureError, RequestTimeoutError, SocketSetupError, TooManyConnectionsError } from '../errors.ts';
import { toCniError } from './cni-errors.ts';
import type { RefusalReason } from '../metrics/hooks.ts';

export interface SocketOptions {
  path: string;
  /** How long a client may take to send its whole request. */
  readTimeoutMs: number;
  maxRequestBytes?: number;
  /**
   * Connections open at once (each holds a descriptor and its request's memory until it closes);
   * one more is refused with code 11, its request unread.
   */
  maxConnections: number;
  log: Logger;
  /** `clientGone` aborts when the client disconnects before the answer: nobody would get it. */
  handle: (request: DaemonRequest, clientGone: AbortSignal) => Promise<DaemonResponse>;
  /** Told of each request refused before `handle` (metrics/registry.ts). */
  refused?: (reason: RefusalReason) => void;
}

async function prepareDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  const uid = process.getuid?.() ?? 0;
  if (!info.isDirectory() || info.uid !== uid) {
    throw new SocketSetupError(`${dir} must be a directory owned by uid ${uid}`);
  }
  await chmod(dir, 0o700);
}

/** Removes a socket left by a previous run; refuses to delete anything that is not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (info === undefined) return;
  if (!info.isSocket()) throw new SocketSetupError(`${path} exists and is not a socket`);
  await rm(path);
}

/** A request refused before its config could be read: the error is printed in the latest version. */
function errorResponse(err: unknown): DaemonResponse {
  return errorOutput(toCniError(err, 'request'), LATEST_VERSION);
}

/** The request as JSON text, decoded and narrowed; DecodeFailureError when it is not one. */
function decodeRequest(text: string): DaemonRequest {
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (err) {
    throw new DecodeFailureError('request is not valid JSON', { details: (err as Error).message });
  }
  return parseDaemonRequest(decoded);
}

/** How long a refused client may go on writing (ignored) before its connection is closed. */
const LINGER_MS = 1000;

/**
 * Answers and closes lingering: the answer is sent, what the client still writes is read and
 * dropped, and the connection goes when the client closes its end, or after LINGER_MS. Closing
 * at once would make the client's next write fail (EPIPE), and a client that stops at that error
 * never reads the answer waiting for it.
 */
function endLingering(conn: Socket, response: DaemonResponse): void {
  if (!conn.destroyed) conn.end(JSON.stringify(response));
  const linger = setTimeout(() => conn.destroy(), LINGER_MS);
  conn.once('close', () => clearTimeout(linger));
}

function serveConnection(conn: Socket, options: SocketOptions): void {
  const max = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  let received = false;
  let replied = false;
  const clientGone = new AbortController();
  const reply = (response: DaemonResponse): void => {
    replied = true;
    if (conn.destroyed) return;
    conn.end(JSON.stringify(response));
  };
  const refuse = (err: RequestTimeoutError | DecodeFailureError, reason: RefusalReason): void => {
    options.refused?.(reason);
    received = true;
    replied = true;
    clearTimeout(timer);
    const cniErr = toCniError(err, 'request');
    options.log.warn({ code: cniErr.code, msg: cniErr.message }, 'refused request');
    endLingering(conn, errorOutput(cniErr, LATEST_VERSION));
  };
  const timer = setTimeout(() => {
    refuse(new RequestTimeoutError('request not received in time', { details: `the whole request must arrive within ${options.readTimeoutMs} ms` }), 'read_timeout');
  }, options.readTimeoutMs);
  const gone = (): void => {
    if (!replied) clientGone.abort(new ClientGoneError('the client disconnected before the answer'));
  };

  const handle = (text: string): void => {
    received = true;
    clearTimeout(timer);
    let request: DaemonRequest;
    try {
      request = decodeRequest(text);
    } catch (err) {
      options.refused?.('malformed_request');
      reply(errorResponse(err));
      return;
    }
    options.handle(request, clientGone.signal).then(reply, (err: unknown) => {
      options.log.error({ err }, 'request handler failed');
      reply(errorResponse(err));
    });
  };

  conn.on('error', (err) => {
    clearTimeout(timer);
    options.log.debug({ err }, 'client connection error');
  });
  conn.on('close', () => {
    clearTimeout(timer);
    gone();
  });
  conn.on('data', (chunk: Buffer) => {
    if (received) return;
    const newline = chunk.indexOf(0x0a);
    const part = newline < 0 ? chunk : chunk.subarray(0, newline);
    size += part.length;
    if (size > max) {
      refuse(new DecodeFailureError('request is too large', { details: `more than ${max} bytes` }), 'request_too_large');
      return;
    }
    chunks.push(part);
    if (newline >= 0) handle(Buffer.concat(chunks).toString('utf8'));
  });
  // A newline ends the request and the client then waits: its end of stream means it is gone.
  // A client may also end the request by half-closing (no newline); it cannot be watched then.
  conn.on('end', () => {
    if (received) gone();
    else handle(Buffer.concat(chunks).toString('utf8'));
  });
}

/** A connection over the limit: code 11 at once, its request never read (what comes is dropped). */
function refuseConnection(conn: Socket, options: SocketOptions): void {
  options.refused?.('too_many_connections');
  conn.on('error', (err) => options.log.debug({ err }, 'refused connection error'));
  conn.resume();
  const cniErr = toCniError(new TooManyConnectionsError(`the daemon serves at most ${options.maxConnections} connections at once`, { details: 'try again later (--max-connections)' }), 'request');
  options.log.warn({ code: cniErr.code, msg: cniErr.message }, 'refused connection');
  endLingering(conn, errorOutput(cniErr, LATEST_VERSION));
}

export async function listenCniSocket(options: SocketOptions): Promise<Server> {
  await prepareDirectory(dirname(options.path));
  await removeStaleSocket(options.path);
  let open = 0;
  const server = createServer({ allowHalfOpen: true }, (conn) => {
    if (open >= options.maxConnections) {
      refuseConnection(conn, options);
      return;
    }
    open++;
    // 'close' comes once on every path: answered, client gone, read deadline, error.
    conn.once('close', () => open--);
    serveConnection(conn, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(options.path, 0o600);
  return server;
}
