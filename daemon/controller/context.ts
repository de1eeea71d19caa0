/**
 * What a leader-only loop is and what it may use: the contract between the loops (sync.ts,
 * expose.ts, claims.ts, dead-nodes.ts) and the list that runs them (loops.ts).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import type { NbFlags } from '../lib/flags.ts';
import type { ControllerNbClient } from '../ovn/exposed.ts';
import type { SwitchIds } from '../ovn/exposed.ts';
import type { ControllerCaches } from './caches.ts';
import type { SwitchState } from './plan.ts';
import type { ControllerMetrics } from '../metrics/controller-registry.ts';
import type { EventSink } from '../k8s/events.ts';
import type { Subnet } from '../lib/ip.ts';

export interface LeaderLoop {
  readonly name: string;
  /** Begins the loop; `signal` aborts when leadership is lost or the controller stops. */
  start(signal: AbortSignal): void;
  /** Ends it; resolves once none of its writes is in flight. Restartable by start(). */
  stop(): Promise<void>;
}

/** The NB as the loops see it (the OvsdbClient in main.ts; fakes in tests). */
export interface NbView {
  /** Whether the NB has been read at least once: before that, nothing can be said about switches. */
  readonly ready: boolean;
  switchState(name: string): SwitchState;
  /** Switches carrying the expose mark (ExposeKeys.expose). */
  marked(): SwitchIds[];
  onChange(listener: () => void): () => void;
}

/** What every loop may use. */
export interface LeaderContext {
  kubeConfig: KubeConfig;
  caches: ControllerCaches;
  nb: NbView;
  /** The NB client behind `nb`, for loops that write to the NB (monitor: CONTROLLER_NB_MONITOR). */
  nbClient: ControllerNbClient;
  log: Logger;
  /** Full passes this often, besides the ones events trigger. */
  resyncMs: number;
  /** The NB flags, for loops that open a short-lived NB client of their own. */
  nbFlags: NbFlags;
  /** --dead-node-grace: how long a node with attachments has no Node object before they are released. */
  deadNodeGraceMs: number;
  /** What the metrics record (NO_CONTROLLER_METRICS when the listener is off). */
  metrics: ControllerMetrics;
  /** Where the loops' Events go (daemon/k8s/events.ts). */
  events: EventSink;
  /** --network-low-threshold: the percentage of a Network's addresses in use that is low. */
  networkLowThreshold: number;
  /** --tenant-excluded-subnets: no NamespacedNetwork may overlap them (none when absent). */
  tenantExcludedSubnets?: readonly Subnet[];
}
