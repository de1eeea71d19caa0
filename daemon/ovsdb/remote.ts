// OVSDB remotes as ovsdb-server(1) writes them: "unix:PATH", "tcp:HOST[:PORT]",
// "ssl:HOST[:PORT]" (IPv6 hosts in brackets, default port 6640), and dialing one.

import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { OvsdbConfigError } from '../errors.ts';

export type Remote =
  | { readonly scheme: 'unix'; readonly path: string; readonly text: string }
  | { readonly scheme: 'tcp' | 'ssl'; readonly host: string; readonly port: number; readonly text: string };

/** PEM file paths, read again at every connect so rotated certificates are picked up. */
export interface TlsFiles {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

const DEFAULT_PORT = 6640;
/**
 * TCP keepalive on tcp: and ssl: connections: after this long without traffic the kernel probes
 * the peer, and Node 24 (libuv 1.52) also sets TCP_KEEPINTVL 1 s and TCP_KEEPCNT 10, so a peer
 * host that died or was cut off without a reset closes the connection about 15 s into an idle
 * spell. Linux sends no keepalive while data of ours is unacknowledged (an echo to a dead host):
 * the echo probe's cap (jsonrpc.ts) decides then. A dead server process on a live host is known
 * at once (EOF or a reset).
 */
const KEEPALIVE_IDLE_MS = 5000;
const hostPortPattern = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:[\]]+))(?::(?<port>\d+))?$/;

export function parseRemote(text: string): Remote {
  const colon = text.indexOf(':');
  const scheme = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (colon > 0 && scheme === 'unix' && rest !== '') return { scheme, path: rest, text };
  if (colon > 0 && (scheme === 'tcp' || scheme === 'ssl')) {
    const groups = hostPortPattern.exec(rest)?.groups;
    const port = groups?.['port'] === undefined ? DEFAULT_PORT : Number(groups['port']);
    const host = groups?.['v6'] ?? groups?.['host'];
    if (host !== undefined && port > 0 && port < 65536) return { scheme, host, port, text };
    throw new OvsdbConfigError(`invalid ${scheme} remote ${JSON.stringify(text)}: expected ${scheme}:HOST[:PORT]`);
  }
  throw new OvsdbConfigError(`invalid remote ${JSON.stringify(text)}: expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT`);
}

/** Opens a stream to `remote`; on abort or failure nothing is left open. */
export async function dial(remote: Remote, tlsFiles: TlsFiles | undefined, signal: AbortSignal): Promise<Duplex> {
  signal.throwIfAborted();
  let socket: net.Socket;
  switch (remote.scheme) {
    case 'unix':
      socket = net.connect({ path: remote.path });
      break;
    case 'tcp':
      socket = net.connect({ host: remote.host, port: remote.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_IDLE_MS });
      break;
    case 'ssl': {
      if (tlsFiles === undefined) throw new OvsdbConfigError(`${remote.text} needs tls files`);
      const [key, cert, ca] = await Promise.all([
        readFile(tlsFiles.key, { signal }),
        readFile(tlsFiles.cert, { signal }),
        readFile(tlsFiles.ca, { signal }),
      ]);
      // Like OVS's stream-ssl: the peer must chain to our CA; its name is not checked.
      socket = tls.connect({ host: remote.host, port: remote.port, key, cert, ca, checkServerIdentity: () => undefined });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
      break;
    }
    default:
      return remote satisfies never;
  }
  const connected = Promise.withResolvers<void>();
  const onAbort = (): void => connected.reject(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  socket.once(remote.scheme === 'ssl' ? 'secureConnect' : 'connect', connected.resolve);
  socket.once('error', connected.reject);
  try {
    await connected.promise;
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket.off('connect', connected.resolve).off('secureConnect', connected.resolve).off('error', connected.reject);
  }
}
