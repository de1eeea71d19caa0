/**
 * The daemon's Prometheus metrics (prom-client), in a registry of their own (never prom-client's
 * global one): every metric is declared once in DAEMON_METRICS, which docs/metrics.md's table is
 * rendered from (test/unit/metrics.test.ts), so the reference cannot drift from the code.
 *
 * The parts of the daemon report through DaemonMetrics, a few small hooks; what a scrape can read
 * for itself (the admission queue, whether a database is connected) is read at scrape time and
 * costs nothing between scrapes. With the listener off the daemon gets NO_METRICS (hooks.ts) and
 * this module, prom-client with it, is never loaded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { COMMANDS } from '../cni-spec/env.ts';
import type { DaemonResponse } from '../cni-spec/protocol.ts';
import { DATABASES, REFUSAL_REASONS, type DaemonMetrics, type Database } from './hooks.ts';

export const METRICS_PREFIX = 'ovn_multinet_';

/** A CNI_COMMAND that is none of the spec's: one label value, so a bad client cannot add series. */
const UNKNOWN_COMMAND = 'unknown';

export interface MetricDefinition {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labels: readonly string[];
  /** What each label's values are, for the docs. */
  readonly labelValues?: string;
}

/**
 * Every metric of ours. Durations in seconds and counters ending in _total, as the Prometheus
 * naming conventions ask.
 */
export const DAEMON_METRICS = {
  requestDuration: {
    name: `${METRICS_PREFIX}cni_request_duration_seconds`,
    type: 'histogram',
    help: 'Time the daemon took to answer a CNI request, from its decoding to its answer, queueing included.',
    labels: ['command', 'code'],
    labelValues: `command: ${COMMANDS.join(', ')} or ${UNKNOWN_COMMAND}; code: the CNI error code answered, 0 for success`,
  },
  inFlight: {
    name: `${METRICS_PREFIX}cni_requests_in_flight`,
    type: 'gauge',
    help: 'CNI requests decoded and not yet answered (queued ones included).',
    labels: [],
  },
  queued: {
    name: `${METRICS_PREFIX}cni_requests_queued`,
    type: 'gauge',
    help: 'ADD and CHECK requests waiting for a slot of --max-parallel-requests.',
    labels: [],
  },
  refused: {
    name: `${METRICS_PREFIX}cni_requests_refused_total`,
    type: 'counter',
    help: 'Requests the CNI socket answered with an error before the request could be handled.',
    labels: ['reason'],
    labelValues: `reason: ${REFUSAL_REASONS.join(', ')}`,
  },
  databaseConnected: {
    name: `${METRICS_PREFIX}database_connected`,
    type: 'gauge',
    help: 'Whether the daemon has a session with the database (1) or not (0).',
    labels: ['database'],
    labelValues: 'database: nb (OVN Northbound), ovs (the local Open_vSwitch)',
  },
  databaseReconnects: {
    name: `${METRICS_PREFIX}database_reconnects_total`,
    type: 'counter',
    help: 'Sessions with the database after the first one (each a reconnection after a loss).',
    labels: ['database'],
    labelValues: 'database: nb, ovs',
  },
} as const satisfies Record<string, MetricDefinition>;

/** Buckets of the request duration: from 5 ms (an ADD on an idle node) to the 2-minute deadline. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** What a scrape reads for itself. */
export interface ScrapeSources {
  /** Waiters of the admission semaphore. */
  queued: () => number;
  connected: Record<Database, () => boolean>;
}

/**
 * The CNI code of an answer: 0 for success, the `code` of the error JSON printed otherwise, 999
 * (the spec's "unknown") for no answer at all or one that carries none.
 */
export function cniCodeOf(response: DaemonResponse | undefined): number {
  if (response === undefined) return 999;
  if (response.exitCode === 0) return 0;
  try {
    const printed: unknown = JSON.parse(response.stdout);
    if (typeof printed === 'object' && printed !== null && 'code' in printed && typeof printed.code === 'number') return printed.code;
  } catch {
    // not JSON: falls through
  }
  return 999;
}

/** A CNI_COMMAND as a label value: the spec's commands, anything else one value. */
export function commandLabel(command: string | undefined): string {
  return (COMMANDS as readonly (string | undefined)[]).includes(command) ? (command as string) : UNKNOWN_COMMAND;
}

export interface MetricsRegistry {
  registry: Registry;
  metrics: DaemonMetrics;
}

export function createMetricsRegistry(sources: ScrapeSources): MetricsRegistry {
  const registry = new Registry();
  const def = DAEMON_METRICS;
  const duration = new Histogram({ name: def.requestDuration.name, help: def.requestDuration.help, labelNames: def.requestDuration.labels, buckets: DURATION_BUCKETS, registers: [registry] });
  const inFlight = new Gauge({ name: def.inFlight.name, help: def.inFlight.help, registers: [registry] });
  new Gauge({
    name: def.queued.name,
    help: def.queued.help,
    registers: [registry],
    collect() {
      this.set(sources.queued());
    },
  });
  const refused = new Counter({ name: def.refused.name, help: def.refused.help, labelNames: def.refused.labels, registers: [registry] });
  new Gauge({
    name: def.databaseConnected.name,
    help: def.databaseConnected.help,
    labelNames: def.databaseConnected.labels,
    registers: [registry],
    collect() {
      for (const database of DATABASES) this.set({ database }, sources.connected[database]() ? 1 : 0);
    },
  });
  const reconnects = new Counter({ name: def.databaseReconnects.name, help: def.databaseReconnects.help, labelNames: def.databaseReconnects.labels, registers: [registry] });
  // Every series exists from the start: a rate() over a counter that appears late misses its first step.
  for (const reason of REFUSAL_REASONS) refused.inc({ reason }, 0);
  for (const database of DATABASES) reconnects.inc({ database }, 0);
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });

  const metrics: DaemonMetrics = {
    requestStarted: (command) => {
      const startedAt = performance.now();
      inFlight.inc();
      return (response) => {
        inFlight.dec();
        duration.observe({ command: commandLabel(command), code: String(cniCodeOf(response)) }, (performance.now() - startedAt) / 1000);
      };
    },
    refused: (reason) => refused.inc({ reason }),
    reconnected: (database) => reconnects.inc({ database }),
  };
  return { registry, metrics };
}
