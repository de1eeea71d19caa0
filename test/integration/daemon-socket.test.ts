// The daemon's Unix socket: root-only permissions, size cap, read deadline, malformed requests,
// and the next request still served afterwards; the connection limit.
import t from 'tap';
import { connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { listenCniSocket } from '../../daemon/server/socket.ts';
import type { DaemonRequest } from '../../daemon/cni-spec/protocol.ts';
import { rootSkipReason } from '../helpers/netns.ts';
import { sendToSocket } from '../helpers/socket-client.ts';
import { until } from '../helpers/until.ts';

/** The CNI error the daemon rendered for the executable to print. */
function printedError(reply: Record<string, unknown>): Record<string, unknown> {
  if (reply['exitCode'] !== 1 || typeof reply['stdout'] !== 'string') throw new Error(`not an error reply: ${JSON.stringify(reply)}`);
  return JSON.parse(reply['stdout']) as Record<string, unknown>;
}

/** Sends raw bytes (optionally slowly), half-closes, and resolves with the parsed reply. */
function rawExchange(path: string, chunks: Buffer[], gapMs = 0): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let reply = '';
    sock.on('data', (d) => (reply += d.toString()));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      try {
        resolve(JSON.parse(reply) as Record<string, unknown>);
      } catch (err) {
        reject(new Error(`bad reply ${JSON.stringify(reply)}: ${String(err)}`));
      }
    });
    sock.on('connect', () => {
      void (async () => {
        for (const c of chunks) {
          if (sock.destroyed) return;
          sock.write(c);
          if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        }
        if (!sock.destroyed) sock.end();
      })();
    });
  });
}

t.test('daemon socket', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omsock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'run', 'cni.sock');
  const seen: DaemonRequest[] = [];
  const server = await listenCniSocket({
    path,
    readTimeoutMs: 300,
    maxRequestBytes: 4096,
    maxConnections: 1024,
    log: pino({ level: 'silent' }),
    handle: async (request) => {
      seen.push(request);
      return { exitCode: 0, stdout: `echoed ${request.env.CNI_COMMAND ?? ''}\n` };
    },
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));

  t.test('permissions: 0700 directory, 0600 socket', async (t) => {
    t.equal((await stat(join(dir, 'run'))).mode & 0o777, 0o700);
    t.equal((await stat(path)).mode & 0o777, 0o600);
  });

  t.test('a well-formed request reaches the handler', async (t) => {
    const reply = await rawExchange(path, [Buffer.from(`${JSON.stringify({ env: { CNI_COMMAND: 'ADD' }, config: '{}' })}\n`)]);
    t.same(reply, { exitCode: 0, stdout: 'echoed ADD\n' });
  });

  t.test('malformed requests get code 6 and never reach the handler', async (t) => {
    const before = seen.length;
    for (const body of ['{"env":', '[]', '{"env":{},"config":3}', '{"env":{"HOME":"/"},"config":"{}"}', '']) {
      const reply = await rawExchange(path, [Buffer.from(body)]);
      t.match(printedError(reply), { cniVersion: '1.1.0', code: 6 }, `${JSON.stringify(body)} → 6`);
    }
    t.equal(seen.length, before);
  });

  t.test('over the size cap: code 6', async (t) => {
    const reply = await rawExchange(path, [Buffer.alloc(8192, 'x')]);
    t.match(printedError(reply), { code: 6, msg: /too large/ });
  });

  t.test('over the size cap while still writing: the answer arrives, no EPIPE (a lingering close)', async (t) => {
    // 8 MiB in 64 KiB writes against a cap of a few kB: the daemon answers long before the client
    // is done. Repeated, since closing at once lost the answer only when the timing was unlucky.
    const chunks = Array.from({ length: 128 }, () => Buffer.alloc(64 * 1024, 'x'));
    for (let i = 0; i < 20; i++) {
      const out = await sendToSocket(path, { chunks, gapMs: 0, finish: 'end' }, 10_000);
      if (out.error !== undefined || !out.reply.includes('too large')) {
        t.fail(`attempt ${i}: ${JSON.stringify({ error: out.error, reply: out.reply.slice(0, 200) })}`);
        return;
      }
    }
    t.pass('20 of 20 got code 6 and no write error');
  });

  t.test('a refused client that keeps its connection open is closed promptly', async (t) => {
    const start = performance.now();
    const out = await sendToSocket(path, { chunks: [Buffer.alloc(8192, 'x')], gapMs: 0, finish: 'hold' }, 10_000);
    const ms = performance.now() - start;
    t.notOk(out.timedOut, `closed by the daemon after ${ms.toFixed(0)} ms`);
    t.ok(ms < 5000, 'within seconds, not at the client\'s will');
    t.match(out.reply, /too large/);
  });

  t.test('a client sending one byte at a time past the deadline is cut off', async (t) => {
    const body = Buffer.from(JSON.stringify({ env: { CNI_COMMAND: 'ADD' }, config: '{}' }));
    const chunks = [...body].map((b) => Buffer.from([b]));
    const reply = await rawExchange(path, chunks, 50);
    t.match(printedError(reply), { code: 5, msg: /in time/ });
  });

  t.test('the next request is still served', async (t) => {
    const reply = await rawExchange(path, [Buffer.from(`${JSON.stringify({ env: { CNI_COMMAND: 'DEL' }, config: '{}' })}\n`)]);
    t.same(reply, { exitCode: 0, stdout: 'echoed DEL\n' });
  });

  t.test('a non-root user cannot connect', { skip: rootSkipReason() }, async (t) => {
    const script = `require('node:net').connect(${JSON.stringify(path)}).on('connect', () => process.exit(0)).on('error', (e) => { console.log(e.code); process.exit(1); });`;
    const out = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { reject: false });
    t.equal(out.exitCode, 1, 'connect refused');
    t.equal(out.stdout.trim(), 'EACCES');
  });
});

t.test('connection limit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omsock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'run', 'cni.sock');
  const LIMIT = 3;
  let handled = 0;
  const server: Server = await listenCniSocket({
    path,
    readTimeoutMs: 1500,
    maxRequestBytes: 4096,
    maxConnections: LIMIT,
    log: pino({ level: 'silent' }),
    handle: async (request) => {
      handled++;
      return { exitCode: 0, stdout: `echoed ${request.env.CNI_COMMAND ?? ''}\n` };
    },
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const request = Buffer.from(`${JSON.stringify({ env: { CNI_COMMAND: 'DEL' }, config: '{}' })}\n`);
  /** A client that connects and sends nothing. */
  const idle = async (): Promise<Socket> => {
    const sock = connect(path);
    sock.on('error', () => undefined);
    t.teardown(() => sock.destroy());
    await once(sock, 'connect');
    return sock;
  };
  /** Every connection the server holds is closed (refused ones lingering included). */
  const allClosed = (): Promise<true> =>
    until('every connection closed', () => new Promise<true | undefined>((resolve) => server.getConnections((_err, n) => resolve(n === 0 ? true : undefined))));
  /** Fills the limit with idle clients and checks that one more is refused, unread. */
  const fill = async (what: string): Promise<Socket[]> => {
    const held = [];
    for (let i = 0; i < LIMIT; i++) held.push(await idle());
    const before = handled;
    const refused = printedError(await rawExchange(path, [request]));
    t.match(refused, { cniVersion: '1.1.0', code: 11, msg: `the daemon serves at most ${LIMIT} connections at once` }, `${what}: one over the limit gets code 11`);
    t.equal(handled, before, `${what}: its request was never read`);
    return held;
  };

  const held = await fill('idle clients');
  // A client that disconnects frees its slot: the next request is served.
  held[0]?.destroy();
  const served = await until('a freed slot', async () => {
    const reply = await rawExchange(path, [request]);
    return reply['exitCode'] === 0 ? reply : undefined;
  });
  t.same(served, { exitCode: 0, stdout: 'echoed DEL\n' }, 'a slot freed by a client gone serves the next request');
  held.push(await idle());
  t.match(printedError(await rawExchange(path, [request])), { code: 11 }, 'full again');
  // The idle ones reach the read deadline (code 5, closed by the daemon); requests over the size
  // cap are refused (code 6); answered requests finish: every path gives its slot back.
  await allClosed();
  const oversized = await Promise.all(Array.from({ length: LIMIT }, () => rawExchange(path, [Buffer.alloc(8192, 'x')])));
  for (const reply of oversized) t.match(printedError(reply), { code: 6 }, 'over the size cap');
  const answered = await Promise.all(Array.from({ length: LIMIT }, () => rawExchange(path, [request])));
  t.same(answered.map((r) => r['exitCode']), Array.from({ length: LIMIT }, () => 0), `${LIMIT} requests at once are all served`);
  await allClosed();
  // The count is back to zero: exactly LIMIT fit again.
  for (const sock of await fill('after every kind of close')) sock.destroy();
  await allClosed();
});
