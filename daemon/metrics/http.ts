/**
 * The daemon's HTTP listener (docs/metrics.md): `/metrics` (Prometheus text format), `/healthz`
 * and `/readyz` for the DaemonSet's probes. The daemon runs on the node's host network, so the
 * listener is on the node's addresses, not a pod network: 127.0.0.1 unless told otherwise.
 * `/status` (JSON) is for `ovn-multinetd status` (metrics/status.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import { SocketSetupError } from '../errors.ts';
import type { DaemonStatus } from './status.ts';

export interface ProbeOptions {
  address: string;
  port: number;
  registry: Registry;
  /** What keeps the daemon from serving requests now: empty when it is ready. */
  notReady: () => string[];
  /** The daemon's state for `/status` (metrics/status.ts); without it, `/status` is 404. */
  status?: () => DaemonStatus;
  log: Logger;
}

/** What a failed readiness check says, one missing piece a line. */
export function readinessText(missing: readonly string[]): { status: number; body: string } {
  return missing.length === 0 ? { status: 200, body: 'ok\n' } : { status: 503, body: missing.map((m) => `not ready: ${m}\n`).join('') };
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

async function route(req: IncomingMessage, res: ServerResponse, options: ProbeOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n');
    return;
  }
  const path = (req.url ?? '/').split('?', 1)[0];
  switch (path) {
    case '/metrics':
      send(res, 200, await options.registry.metrics(), options.registry.contentType);
      return;
    // Answered on the event loop: a loop that is stuck answers nothing, and the probe's timeout
    // fails it.
    case '/healthz':
      send(res, 200, 'ok\n');
      return;
    case '/readyz': {
      const { status, body } = readinessText(options.notReady());
      send(res, status, body);
      return;
    }
    case '/status':
      if (options.status === undefined) send(res, 404, 'not found: /metrics, /healthz, /readyz\n');
      else send(res, 200, `${JSON.stringify(options.status())}\n`, 'application/json');
      return;
    default:
      send(res, 404, 'not found: /metrics, /healthz, /readyz\n');
  }
}

/** Listens on address:port (port 0: any free port); resolves with the server and the port bound. */
export async function listenProbes(options: ProbeOptions): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    route(req, res, options).catch((err: unknown) => {
      options.log.warn({ err, url: req.url }, 'metrics request failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // A scraper that keeps its connection must not hold the daemon's stop.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new SocketSetupError(`cannot listen for metrics and probes on ${options.address}:${options.port}`, { details: err.message, cause: err })));
    server.listen(options.port, options.address, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
