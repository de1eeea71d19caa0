// ensureConnected: a request waits for a database that is away until dbWaitMs after its arrival,
// then answers 11; fractional times (performance.now()) are fine.
import t from 'tap';
import { ensureConnected, type Attacher } from '../../daemon/attachments/context.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { toCniError } from '../../daemon/server/cni-errors.ts';
import type { NbClient } from '../../daemon/ovn/nb.ts';

/** The CNI code `err` is answered with. */
const cniCode = (err: unknown): number => toCniError(err, 'ADD').code;

/** A client that is never connected: waitConnected ends only with its signal. */
const away = {
  connected: false,
  waitConnected: (signal: AbortSignal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
} as unknown as NbClient;
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
