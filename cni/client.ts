/** The CNI executable's side of the daemon socket. */
import { connect } from 'node:net';
import { CniError, ErrorCode } from './errors.ts';
import { MAX_RESPONSE_BYTES, parseDaemonResponse, type DaemonRequest, type DaemonResponse } from './protocol.ts';

/** The socket is missing or nobody listens on it: the daemon is not running (yet). */
export class DaemonUnavailableError extends Error {
  constructor(socketPath: string, options: { cause: unknown }) {
    super(`daemon socket ${socketPath} is not available`, options);
    this.name = 'DaemonUnavailableError';
  }
}

const UNAVAILABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);
/** The daemon went away mid-request (crash, restart): the runtime should simply retry. */
const DROPPED = new Set(['ECONNRESET', 'EPIPE']);

export function callDaemon(socketPath: string, request: DaemonRequest, signal: AbortSignal): Promise<DaemonResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath, signal });
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      // The newline ends the request; the connection stays open so the daemon can tell when
      // this process is gone (and cancel an ADD nobody would hear about).
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        socket.destroy();
        reject(new CniError(ErrorCode.IoFailure, 'daemon response is too large', `more than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && err.code !== undefined && UNAVAILABLE.has(err.code)) reject(new DaemonUnavailableError(socketPath, { cause: err }));
      else if (signal.aborted) reject(new CniError(ErrorCode.TryAgainLater, 'timed out waiting for the daemon', String(signal.reason)));
      else if (err.code !== undefined && DROPPED.has(err.code)) reject(new CniError(ErrorCode.TryAgainLater, 'the daemon dropped the connection', err.message));
      else reject(new CniError(ErrorCode.IoFailure, 'lost the connection to the daemon', err.message));
    });
    socket.on('end', () => {
      if (size === 0) {
        reject(new CniError(ErrorCode.TryAgainLater, 'the daemon closed the connection without answering', 'it may have restarted'));
        return;
      }
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reject(new CniError(ErrorCode.IoFailure, 'daemon response is not valid JSON'));
        return;
      }
      const response = parseDaemonResponse(decoded);
      if (response === undefined) reject(new CniError(ErrorCode.IoFailure, 'daemon response has the wrong shape'));
      else resolve(response);
    });
  });
}
