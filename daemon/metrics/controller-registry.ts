/**
 * The controller's Prometheus metrics, declared once in CONTROLLER_METRICS (docs/metrics.md's
 * second table is rendered from it, test/unit/metrics.test.ts): its NB session, whether it leads,
 * the addresses of every Network, the live migrations in progress and the ports released for dead
 * nodes. Everything but the releases and the sessions is read at scrape time from the caches.
 */
import { Registry } from 'prom-client';
import { addressGauges, counter, databaseConnectedGauge, gauge, METRICS_PREFIX, processMetrics, SHARED_METRICS, zeroSeries, type DatabaseSource, type LabelledUsage, type MetricDefinition } from './define.ts';

export const CONTROLLER_METRICS = {
  databaseConnected: SHARED_METRICS.databaseConnected,
  databaseReconnects: SHARED_METRICS.databaseReconnects,
  monitorResumes: SHARED_METRICS.monitorResumes,
  leader: {
    name: `${METRICS_PREFIX}controller_leader`,
    type: 'gauge',
    help: 'Whether this replica holds the Lease and runs the leader loops (1) or not (0).',
    labels: [],
  },
  addressCapacity: {
    name: `${METRICS_PREFIX}network_address_capacity`,
    type: 'gauge',
    help: 'Addresses the allocator may hand out from a Network\'s subnet: less its own, the first (left for a gateway) and the excluded ones. Exported by the leader.',
    labels: ['network', 'switch', 'family'],
    labelValues: 'network: the Network object; switch: its logical switch; family: ipv4, ipv6',
  },
  addressesInUse: {
    name: `${METRICS_PREFIX}network_addresses_in_use`,
    type: 'gauge',
    help: 'Addresses of that pool that ovn-multinet\'s ports and IPAMClaims hold (their guard keys on the switch). Exported by the leader.',
    labels: ['network', 'switch', 'family'],
    labelValues: 'network, switch, family',
  },
  addressesReserved: {
    name: `${METRICS_PREFIX}network_addresses_reserved`,
    type: 'gauge',
    help: 'Addresses of that pool held by IPAMClaims. Exported by the leader.',
    labels: ['network', 'switch', 'family'],
    labelValues: 'network, switch, family',
  },
  liveMigrations: {
    name: `${METRICS_PREFIX}live_migrations`,
    type: 'gauge',
    help: 'Logical switch ports shared by a live migration\'s two pods (an IPAMClaim\'s port with a target) now.',
    labels: [],
  },
  deadNodePortsReleased: {
    name: `${METRICS_PREFIX}dead_node_ports_released_total`,
    type: 'counter',
    help: 'Logical switch ports released because their node was deleted (their addresses freed).',
    labels: [],
  },
} as const satisfies Record<string, MetricDefinition>;

/** What the controller's parts report. */
export interface ControllerMetrics {
  reconnected(): void;
  monitorResumed(): void;
  portsReleased(count: number): void;
}

export const NO_CONTROLLER_METRICS: ControllerMetrics = {
  reconnected: () => undefined,
  monitorResumed: () => undefined,
  portsReleased: () => undefined,
};

export interface ControllerScrapeSources {
  nb: DatabaseSource;
  leading: () => boolean;
  /** Each Network's address usage, labelled `network` and `switch`; empty on a replica that does not lead. */
  networks: () => readonly LabelledUsage[];
  liveMigrations: () => number;
}

export function createControllerRegistry(sources: ControllerScrapeSources): { registry: Registry; metrics: ControllerMetrics } {
  const registry = new Registry();
  const def = CONTROLLER_METRICS;
  databaseConnectedGauge(registry, { nb: sources.nb });
  const reconnects = counter(registry, def.databaseReconnects);
  const resumes = counter(registry, def.monitorResumes);
  gauge(registry, def.leader, (g) => g.set(sources.leading() ? 1 : 0));
  addressGauges(registry, { capacity: def.addressCapacity, inUse: def.addressesInUse, reserved: def.addressesReserved }, () => (sources.leading() ? sources.networks() : []));
  gauge(registry, def.liveMigrations, (g) => g.set(sources.liveMigrations()));
  const released = counter(registry, def.deadNodePortsReleased);
  zeroSeries(reconnects, 'database', ['nb']);
  zeroSeries(resumes, 'database', ['nb']);
  released.inc(0);
  processMetrics(registry);
  return {
    registry,
    metrics: {
      reconnected: () => reconnects.inc({ database: 'nb' }),
      monitorResumed: () => resumes.inc({ database: 'nb' }),
      portsReleased: (count) => released.inc(count),
    },
  };
}
