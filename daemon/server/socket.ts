/**
 * The daemon's Unix socket (cf. ovn-kubernetes cniserver_linux.go): a root-owned 0700 directory,
 * a 0600 socket, one JSON request per connection (read until the client half-closes), size-capped
 * and with a deadline for reading it, so a slow or broken client cannot hold the daemon.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { MAX_REQUEST_BYTES, parseDaemonRequest, type DaemonRequest, type DaemonResponse } from '../../cni/protocol.ts';
import type { Logger } from '../lib/log.ts';

export interface SocketOptions {
  path: string;
  /** How long a client may take to send its whole request. */
  readTimeoutMs: number;
  maxRequestBytes?: number;
  log: Logger;
  handle: (request: DaemonRequest) => Promise<DaemonResponse>;
}

export class SocketSetupError extends Error {
  override name = 'SocketSetupError';
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

function errorResponse(err: CniError): DaemonResponse {
  return { error: err.toJSON() };
}

function serveConnection(conn: Socket, options: SocketOptions): void {
  const max = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const reply = (response: DaemonResponse): void => {
    if (conn.destroyed) return;
    conn.end(JSON.stringify(response));
  };
  const refuse = (err: CniError): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    options.log.warn({ code: err.code, msg: err.message }, 'refused request');
    reply(errorResponse(err));
    conn.destroySoon();
  };
  const timer = setTimeout(() => {
    refuse(new CniError(ErrorCode.IoFailure, 'request not received in time', `the whole request must arrive within ${options.readTimeoutMs} ms`));
  }, options.readTimeoutMs);
  conn.on('error', (err) => {
    clearTimeout(timer);
    options.log.debug({ err }, 'client connection error');
  });
  conn.on('close', () => clearTimeout(timer));
  conn.on('data', (chunk: Buffer) => {
    if (done) return;
    size += chunk.length;
    if (size > max) {
      refuse(new CniError(ErrorCode.DecodeFailure, 'request is too large', `more than ${max} bytes`));
      return;
    }
    chunks.push(chunk);
  });
  conn.on('end', () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      reply(errorResponse(new CniError(ErrorCode.DecodeFailure, 'request is not valid JSON', (err as Error).message)));
      return;
    }
    const request = parseDaemonRequest(decoded);
    if (typeof request === 'string') {
      reply(errorResponse(new CniError(ErrorCode.DecodeFailure, 'malformed request', request)));
      return;
    }
    options.handle(request).then(reply, (err: unknown) => {
      options.log.error({ err }, 'request handler failed');
      reply(errorResponse(new CniError(ErrorCode.Unknown, 'internal error', String(err))));
    });
  });
}

export async function listenCniSocket(options: SocketOptions): Promise<Server> {
  await prepareDirectory(dirname(options.path));
  await removeStaleSocket(options.path);
  const server = createServer({ allowHalfOpen: true }, (conn) => serveConnection(conn, options));
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
