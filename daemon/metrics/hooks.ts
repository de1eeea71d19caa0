/**
 * How the daemon's parts report to the metrics (registry.ts), without knowing prom-client: the
 * socket its refusals, the handler each request, an ADD its phases, the reconciler its passes and
 * removals, main.ts each database session. With the listener off they report to NO_METRICS.
 */
import type { DaemonResponse } from '../cni-spec/protocol.ts';
import type { RetryReason } from '../ipam/allocate.ts';

/** Why the CNI socket refused a request before the handler saw it (server/socket.ts). */
export const REFUSAL_REASONS = ['too_many_connections', 'request_too_large', 'read_timeout', 'malformed_request'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const DATABASES = ['nb', 'ovs'] as const;
export type Database = (typeof DATABASES)[number];

/**
 * The parts of an ADD that wait on something outside the daemon: the NB transactions that make
 * the logical switch port (retries included), the kernel work (veth pair, pod interface), and the
 * wait for ovn-controller to set ovn-installed. The first two overlap in time.
 */
export const ADD_PHASES = ['nb_transaction', 'kernel', 'ovn_installed'] as const;
export type AddPhase = (typeof ADD_PHASES)[number];


/**
 * Why the reconciler removed something (attachments/reconcile.ts): an attachment recorded under
 * another boot, one whose veth and netns were gone at the daemon's start, one a DEL or failed ADD
 * left, one whose container went without a DEL (its veth gone for the grace period), one not in a
 * CNI GC's valid attachments; a host veth no database records; the guard keys of a port gone.
 */
export const REMOVAL_REASONS = ['other_boot', 'gone_at_start', 'left_by_request', 'container_gone', 'cni_gc', 'orphan_veth', 'stale_guard'] as const;
export type RemovalReason = (typeof REMOVAL_REASONS)[number];

/** What the daemon's parts report. */
export interface DaemonMetrics {
  /** A decoded request begins; the function returned is called once with its answer. */
  requestStarted(command: string | undefined): (response: DaemonResponse | undefined) => void;
  refused(reason: RefusalReason): void;
  /** A session with the database began after an earlier one (the first is not counted). */
  reconnected(database: Database): void;
  /** A new session's monitor resumed from the cache's last transaction (monitor_cond_since). */
  monitorResumed(database: Database): void;
  /** How long one phase of one ADD took, in seconds. */
  addPhase(phase: AddPhase, seconds: number): void;
  transactionRetried(reason: RetryReason): void;
  /** A reconciler pass ended, after `seconds`. */
  reconcilerPass(seconds: number): void;
  removed(reason: RemovalReason): void;
  /** The logical switch port of a live attachment was made again (attachments/restore.ts). */
  portRestored(): void;
}

/** The listener is off: nothing is recorded. */
export const NO_METRICS: DaemonMetrics = {
  requestStarted: () => () => undefined,
  refused: () => undefined,
  reconnected: () => undefined,
  monitorResumed: () => undefined,
  addPhase: () => undefined,
  transactionRetried: () => undefined,
  reconcilerPass: () => undefined,
  removed: () => undefined,
  portRestored: () => undefined,
};
