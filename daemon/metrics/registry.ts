/**
 * The daemon's Prometheus metrics (prom-client): every metric is declared once in
 * DAEMON_METRICS, which docs/metrics.md's table is rendered from (test/unit/metrics.test.ts), so
 * the reference cannot drift from the code.
 *
 * The parts of the daemon report through DaemonMetrics, a few small hooks; what a scrape can read
 * for itself (the admission queue, the databases, the served switches' addresses) is read at
 * scrape time and costs nothing between scrapes. With the listener off the daemon gets
 * NO_METRICS (hooks.ts) and this module, prom-client with it, is never loaded.
 */
import { Gauge, Registry } from 'prom-client';
import { COMMANDS } from '../cni-spec/env.ts';
import type { DaemonResponse } from '../cni-spec/protocol.ts';
import { ADD_PHASES, DATABASES, REFUSAL_REASONS, REMOVAL_REASONS, type DaemonMetrics, type Database } from './hooks.ts';
import { RETRY_REASONS } from '../ipam/allocate.ts';
import { addressGauges, counter, databaseConnectedGauge, gauge, histogram, METRICS_PREFIX, processMetrics, SHARED_METRICS, zeroSeries, type DatabaseSource, type LabelledUsage, type MetricDefinition } from './define.ts';

/** A CNI_COMMAND that is none of the spec's: one label value, so a bad client cannot add series. */
const UNKNOWN_COMMAND = 'unknown';

/**
 * Every metric of the daemon. Durations in seconds and counters ending in _total, as the
 * Prometheus naming conventions ask.
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
  addPhase: {
    name: `${METRICS_PREFIX}add_phase_duration_seconds`,
    type: 'histogram',
    help: 'Time a successful ADD spent in each phase: the NB transactions of its logical switch port (retries included), the kernel work (veth pair, pod interface), the wait for ovn-installed. The first two overlap.',
    labels: ['phase'],
    labelValues: `phase: ${ADD_PHASES.join(', ')}`,
  },
  transactionRetries: {
    name: `${METRICS_PREFIX}nb_transaction_retries_total`,
    type: 'counter',
    help: 'NB transactions of ADDs sent again: an address was taken by another writer meanwhile, or the connection dropped before the answer.',
    labels: ['reason'],
    labelValues: `reason: ${RETRY_REASONS.join(', ')}`,
  },
  ...SHARED_METRICS,
  reconcilerPass: {
    name: `${METRICS_PREFIX}reconciler_pass_duration_seconds`,
    type: 'histogram',
    help: 'Time each reconciler pass took (its count: the passes).',
    labels: [],
  },
  reconcilerRemovals: {
    name: `${METRICS_PREFIX}reconciler_removals_total`,
    type: 'counter',
    help: 'What the reconciler removed, by why: attachments (their records in both databases and their veth), orphan veths, guard keys of ports that are gone.',
    labels: ['reason'],
    labelValues: `reason: ${REMOVAL_REASONS.join(', ')}`,
  },
  reconcilerSuspects: {
    name: `${METRICS_PREFIX}reconciler_suspects`,
    type: 'gauge',
    help: 'Attachments a DEL or a failed ADD could not finish with, waiting for the reconciler.',
    labels: [],
  },
  portsRestored: {
    name: `${METRICS_PREFIX}reconciler_ports_restored_total`,
    type: 'counter',
    help: 'Logical switch ports of live attachments that vanished from the NB and were made again.',
    labels: [],
  },
  addressCapacity: {
    name: `${METRICS_PREFIX}switch_address_capacity`,
    type: 'gauge',
    help: 'Addresses the allocator may hand out from a served switch\'s subnet: less its own, the first (left for a gateway) and the excluded ones.',
    labels: ['switch', 'family'],
    labelValues: 'switch: a logical switch this node serves; family: ipv4, ipv6',
  },
  addressesInUse: {
    name: `${METRICS_PREFIX}switch_addresses_in_use`,
    type: 'gauge',
    help: 'Addresses of that pool taken on the switch, by any port or reservation.',
    labels: ['switch', 'family'],
    labelValues: 'switch, family',
  },
  addressesReserved: {
    name: `${METRICS_PREFIX}switch_addresses_reserved`,
    type: 'gauge',
    help: 'Addresses of that pool held by IPAMClaims (in use too).',
    labels: ['switch', 'family'],
    labelValues: 'switch, family',
  },
  dhcpRows: {
    name: `${METRICS_PREFIX}dhcp_options_rows`,
    type: 'gauge',
    help: 'DHCP_Options rows ovn-multinet made for the switches this node serves.',
    labels: [],
  },
} as const satisfies Record<string, MetricDefinition>;

/** What a scrape reads for itself. */
export interface ScrapeSources {
  /** Waiters of the admission semaphore. */
  queued: () => number;
  databases: Record<Database, DatabaseSource>;
  suspects: () => number;
  /** The address usage of each switch this node serves, labelled `switch`. */
  servedSwitches: () => readonly LabelledUsage[];
  dhcpRows: () => number;
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
  const duration = histogram(registry, def.requestDuration);
  const inFlight = gauge(registry, def.inFlight);
  gauge(registry, def.queued, (g: Gauge) => g.set(sources.queued()));
  const refused = counter(registry, def.refused);
  const phases = histogram(registry, def.addPhase);
  const retries = counter(registry, def.transactionRetries);
  databaseConnectedGauge(registry, sources.databases);
  const reconnects = counter(registry, def.databaseReconnects);
  const resumes = counter(registry, def.monitorResumes);
  const passes = histogram(registry, def.reconcilerPass);
  const removals = counter(registry, def.reconcilerRemovals);
  gauge(registry, def.reconcilerSuspects, (g) => g.set(sources.suspects()));
  const restored = counter(registry, def.portsRestored);
  addressGauges(registry, { capacity: def.addressCapacity, inUse: def.addressesInUse, reserved: def.addressesReserved }, sources.servedSwitches);
  gauge(registry, def.dhcpRows, (g) => g.set(sources.dhcpRows()));
  zeroSeries(refused, 'reason', REFUSAL_REASONS);
  zeroSeries(retries, 'reason', RETRY_REASONS);
  zeroSeries(reconnects, 'database', DATABASES);
  zeroSeries(resumes, 'database', DATABASES);
  zeroSeries(removals, 'reason', REMOVAL_REASONS);
  restored.inc(0);
  processMetrics(registry);

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
    monitorResumed: (database) => resumes.inc({ database }),
    addPhase: (phase, seconds) => phases.observe({ phase }, seconds),
    transactionRetried: (reason) => retries.inc({ reason }),
    reconcilerPass: (seconds) => passes.observe(seconds),
    removed: (reason) => removals.inc({ reason }),
    portRestored: () => restored.inc(),
  };
  return { registry, metrics };
}
