/**
 * The controller's pod webhook listener (docs/interface-discovery.md): HTTPS with the certificate
 * of --webhook-cert-dir (webhook-tls.ts), one path, POST of `application/json` only, bodies capped
 * at MAX_BODY_BYTES and read within READ_TIMEOUT_MS, at most MAX_CONNECTIONS connections at once.
 * Every replica serves it: it keeps no state.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../lib/log.ts';
import { SocketSetupError } from '../errors.ts';
import { parseAdmissionReview, reviewPod } from './admission.ts';
import { CertificateWatcher } from './webhook-tls.ts';

/** The path the MutatingWebhookConfiguration names (the API server adds `?timeout=…`). */
export const WEBHOOK_PATH = '/mutate-pods';
/** An AdmissionReview of the largest pod etcd stores (1.5 MiB) with room to spare. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** The API server gives a webhook at most 30 s; a client slower than this is cut off (408). */
export const READ_TIMEOUT_MS = 10_000;
/** How often those deadlines are looked at (node:http's default, 30 s, would let one run to 40 s). */
const CHECK_INTERVAL_MS = 1_000;
/**
 * Connections held at once, TLS handshakes included; one more is closed at once. The API servers
 * hold a few each (one per review in flight); a client that opens many and sends nothing takes
 * them for READ_TIMEOUT_MS at most (the handshake's deadline), then they are closed.
 */
export const MAX_CONNECTIONS = 256;
/** At most one warning about connections over the cap in this time, with their count. */
const DROP_WARN_INTERVAL_MS = 10_000;

export interface WebhookOptions {
  address: string;
  port: number;
  certDir: string;
  log: Logger;
}

export interface RunningWebhook {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** The body, or undefined once answered 413 (a body over the cap is not read further). */
async function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  const tooLarge = (): undefined => {
    // The rest of the body is not read: the connection is closed once the answer is out (not
    // before, or the client may see a reset instead of the answer).
    res.once('finish', () => req.destroy());
    send(res, 413, `request body larger than ${MAX_BODY_BYTES} bytes\n`, { connection: 'close' });
    return undefined;
  };
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== WEBHOOK_PATH) return send(res, 404, `not found: the webhook is POST ${WEBHOOK_PATH}\n`);
  if (req.method !== 'POST') return send(res, 405, 'method not allowed: POST only\n', { allow: 'POST' });
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') return send(res, 415, 'unsupported media type: application/json only\n');
  const body = await readBody(req, res);
  if (body === undefined) return;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return send(res, 400, `the body is not JSON: ${(err as Error).message}\n`);
  }
  const request = parseAdmissionReview(json);
  if ('invalid' in request) return send(res, 400, `${request.invalid}\n`);
  const review = reviewPod(request, log);
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(review));
}

/** Listens on address:port with the certificate of certDir (loaded now or when it appears). */
export async function listenWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const { log } = options;
  const server: Server = createServer({ requestTimeout: READ_TIMEOUT_MS, headersTimeout: READ_TIMEOUT_MS, handshakeTimeout: READ_TIMEOUT_MS, connectionsCheckingInterval: CHECK_INTERVAL_MS }, (req, res) => {
    handle(req, res, log).catch((err: unknown) => {
      log.warn({ err, url: req.url }, 'webhook request failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Handshakes without a certificate yet, or from scanners, are the client's problem, not a log line each.
  server.on('tlsClientError', (err) => log.debug({ err }, 'webhook TLS handshake failed'));
  server.maxConnections = MAX_CONNECTIONS;
  let dropped = 0;
  let warnedAt = -Infinity;
  server.on('drop', () => {
    dropped++;
    if (performance.now() - warnedAt < DROP_WARN_INTERVAL_MS) return;
    warnedAt = performance.now();
    log.warn({ droppedSinceStart: dropped, maxConnections: MAX_CONNECTIONS }, 'webhook connections over the cap closed at once');
  });
  const certificates = new CertificateWatcher(options.certDir, log, (pair) => server.setSecureContext(pair));
  await certificates.start();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new SocketSetupError(`cannot listen for the webhook on ${options.address}:${options.port}`, { details: err.message, cause: err })));
      server.listen(options.port, options.address, () => resolve());
    });
  } catch (err) {
    certificates.stop();
    throw err;
  }
  const close = async (): Promise<void> => {
    certificates.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as AddressInfo).port, close };
}
