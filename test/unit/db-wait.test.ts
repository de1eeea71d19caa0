// ensureConnected: a request waits for a database that is away until dbWaitMs after its arrival,
// then answers 11, unless a session is being set up then (a busy database, not an unreachable
// one); fractional times (performance.now()) are fine.
import t from 'tap';
import { ensureConnected, type Attacher } from '../../daemon/attachments/context.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { toCniError } from '../../daemon/server/cni-errors.ts';
import type { NbClient } from '../../daemon/ovn/nb.ts';

/** The CNI code `err` is answered with. */
const cniCode = (err: unknown): number => toCniError(err, 'ADD').code;

/** waitConnected of a client that is never connected: it ends only with its signal. */
const never = (signal: AbortSignal): Promise<void> => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
/** A client that is never connected, and sets up no session. */
const away = { connected: false, waitConnected: never, waitSettingUp: () => Promise.resolve(false) } as unknown as NbClient;
const ctx = { nb: away, ovs: away, dbWaitMs: 300 } as unknown as Attacher;
// AbortSignal.timeout() does not keep a process alive (the daemon's server does).
const alive = setInterval(() => undefined, 1000);
t.teardown(() => clearInterval(alive));

t.test('waits what is left of dbWaitMs since the arrival, then code 11', async (t) => {
  const start = performance.now();
  const err: unknown = await ensureConnected(ctx, away, new AbortController().signal, start - 100.5).catch((e: unknown) => e);
  t.ok(cniCode(err) === ErrorCode.TryAgainLater, 'code 11');
  const waited = performance.now() - start;
  t.ok(waited >= 150 && waited < 300, `waited ${waited.toFixed(0)} ms of the 200 left`);
});

t.test('an arrival longer ago than dbWaitMs: code 11 at once', async (t) => {
  const start = performance.now();
  const err: unknown = await ensureConnected(ctx, away, new AbortController().signal, start - 1000).catch((e: unknown) => e);
  t.ok(cniCode(err) === ErrorCode.TryAgainLater, 'code 11');
  t.ok(performance.now() - start < 100);
});

t.test('the request\'s own end wins: its reason, not 11', async (t) => {
  const request = new AbortController();
  setTimeout(() => request.abort(new Error('deadline')), 20);
  const err: unknown = await ensureConnected(ctx, away, request.signal).catch((e: unknown) => e);
  t.ok(err instanceof Error && err.message === 'deadline', 'the deadline');
});

t.test('a session being set up when dbWaitMs runs out is waited for: busy is not unreachable', async (t) => {
  const slow = { connected: false, waitConnected: never, waitSettingUp: async () => { await new Promise((r) => setTimeout(r, 200)); return true; } } as unknown as NbClient;
  const start = performance.now();
  await ensureConnected(ctx, slow, new AbortController().signal, start - 1000);
  t.ok(performance.now() - start >= 150, 'resolved once the session was up, past dbWaitMs');
});

t.test('a session being set up that ends without one: code 11', async (t) => {
  const failed = { connected: false, waitConnected: never, waitSettingUp: () => Promise.resolve(false) } as unknown as NbClient;
  const err: unknown = await ensureConnected(ctx, failed, new AbortController().signal, performance.now() - 1000).catch((e: unknown) => e);
  t.ok(cniCode(err) === ErrorCode.TryAgainLater, 'code 11');
});
