/**
 * How the daemon's parts report to the metrics (registry.ts), without knowing prom-client: the
 * socket its refusals, the handler each request, main.ts each database session. With the
 * listener off they report to NO_METRICS.
 */
import type { DaemonResponse } from '../cni-spec/protocol.ts';

/** Why the CNI socket refused a request before the handler saw it (server/socket.ts). */
export const REFUSAL_REASONS = ['too_many_connections', 'request_too_large', 'read_timeout', 'malformed_request'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const DATABASES = ['nb', 'ovs'] as const;
export type Database = (typeof DATABASES)[number];

/** What the daemon's parts report. */
export interface DaemonMetrics {
  /** A decoded request begins; the function returned is called once with its answer. */
  requestStarted(command: string | undefined): (response: DaemonResponse | undefined) => void;
  refused(reason: RefusalReason): void;
  /** A session with the database began after an earlier one (the first is not counted). */
  reconnected(database: Database): void;
}

/** The listener is off: nothing is recorded. */
export const NO_METRICS: DaemonMetrics = {
  requestStarted: () => () => undefined,
  refused: () => undefined,
  reconnected: () => undefined,
};

