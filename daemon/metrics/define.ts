/**
 * What the daemon's (registry.ts) and the controller's (controller-registry.ts) metrics share:
 * how a metric is declared (one MetricDefinition each, which docs/metrics.md's tables are
 * rendered from), the definitions both export, and the prom-client objects made from them, in a
 * registry of the process's own (never prom-client's global one).
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { AddressUsage } from '../ipam/usage.ts';

export const METRICS_PREFIX = 'ovn_multinet_';

export interface MetricDefinition {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labels: readonly string[];
  /** What each label's values are, for the docs. */
  readonly labelValues?: string;
}

/** The definitions both processes export, and the address gauges each makes with its own labels. */
export const SHARED_METRICS = {
  databaseConnected: {
    name: `${METRICS_PREFIX}database_connected`,
    type: 'gauge',
    help: 'Whether the process has a session with the database through this remote (1) or not (0); every configured remote has a series.',
    labels: ['database', 'remote'],
    labelValues: 'database: nb (OVN Northbound), ovs (the local Open_vSwitch, daemon only); remote: as configured (--nb-db, --ovs-db)',
  },
  databaseReconnects: {
    name: `${METRICS_PREFIX}database_reconnects_total`,
    type: 'counter',
    help: 'Sessions with the database after the first one (each a reconnection after a loss).',
    labels: ['database'],
    labelValues: 'database: nb, ovs',
  },
  monitorResumes: {
    name: `${METRICS_PREFIX}database_monitor_resumes_total`,
    type: 'counter',
    help: 'Sessions whose monitor resumed from the last transaction the cache held (monitor_cond_since): only the changes were sent, not every row.',
    labels: ['database'],
    labelValues: 'database: nb, ovs',
  },
} as const satisfies Record<string, MetricDefinition>;

/** Durations from 1 ms to the 2-minute request deadline. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function counter(registry: Registry, def: MetricDefinition): Counter {
  return new Counter({ name: def.name, help: def.help, labelNames: def.labels, registers: [registry] });
}

export function histogram(registry: Registry, def: MetricDefinition, buckets: number[] = DURATION_BUCKETS): Histogram {
  return new Histogram({ name: def.name, help: def.help, labelNames: def.labels, buckets, registers: [registry] });
}

/** A gauge set by the process, or (with `collect`) read at each scrape: nothing is done between scrapes. */
export function gauge(registry: Registry, def: MetricDefinition, collect?: (gauge: Gauge) => void): Gauge {
  return new Gauge({
    name: def.name,
    help: def.help,
    labelNames: def.labels,
    registers: [registry],
    ...(collect === undefined
      ? {}
      : {
          collect(this: Gauge) {
            // Series of a switch or remote gone since the last scrape must not linger.
            this.reset();
            collect(this);
          },
        }),
  });
}

/** Each series of `values` from the start at 0: a rate() over a series that appears late misses its first step. */
export function zeroSeries(counter: Counter, label: string, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value }, 0);
}

/** prom-client's process and Node.js metrics (CPU, memory, event-loop lag, GC), prefixed. */
export function processMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });
}

/** A database's remotes as configured, and the one its session is on while connected. */
export interface DatabaseSource {
  remotes: readonly string[];
  /** The remote of the session, undefined while there is none. */
  connectedTo: () => string | undefined;
}

export function databaseConnectedGauge(registry: Registry, databases: Readonly<Record<string, DatabaseSource>>): void {
  gauge(registry, SHARED_METRICS.databaseConnected, (g) => {
    for (const [database, source] of Object.entries(databases)) {
      const current = source.connectedTo();
      for (const remote of source.remotes) g.set({ database, remote }, remote === current ? 1 : 0);
    }
  });
}

/** The usage of one switch's address families, with the labels that name it. */
export interface LabelledUsage {
  labels: Readonly<Record<string, string>>;
  usage: readonly AddressUsage[];
}

/** The three address gauges (capacity, in use, reserved), read from `usages` at each scrape. */
export function addressGauges(registry: Registry, defs: { capacity: MetricDefinition; inUse: MetricDefinition; reserved: MetricDefinition }, usages: () => readonly LabelledUsage[]): void {
  // One reading per scrape, shared by the three gauges: a scrape starts every collect in one
  // synchronous loop, so a reading kept until the next microtask is this scrape's only.
  let reading: readonly LabelledUsage[] | undefined;
  const read = (): readonly LabelledUsage[] => {
    if (reading === undefined) {
      reading = usages();
      queueMicrotask(() => {
        reading = undefined;
      });
    }
    return reading;
  };
  // Sample values are floats: an IPv6 /64's capacity is rounded, a count of addresses in use is exact.
  const each = (pick: (u: AddressUsage) => bigint) => (g: Gauge): void => {
    for (const { labels, usage } of read()) for (const u of usage) g.set({ ...labels, family: `ipv${u.family}` }, Number(pick(u)));
  };
  gauge(registry, defs.capacity, each((u) => u.capacity));
  gauge(registry, defs.inUse, each((u) => u.used));
  gauge(registry, defs.reserved, each((u) => u.reserved));
}
