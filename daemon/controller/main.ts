/**
 * `ovn-multinet controller`: the Network controller, run as a Deployment of a few replicas. Every
 * replica keeps its caches warm (Networks, Namespaces, NADs, the NB's logical switches); the one
 * that holds the Lease runs the leader loops (loops.ts). Runs until SIGTERM/SIGINT, then steps
 * down and releases the Lease so another replica takes over at once.
 */
import type { LevelWithSilent } from 'pino';
import { createLogger, type Logger } from '../lib/log.ts';
import { flagReader, logLevelFlag, nbFlags } from '../lib/flags.ts';
import { untilStopSignal } from '../lib/signals.ts';
import { nbClient } from '../ovn/nb.ts';
import { CONTROLLER_NB_MONITOR, CONTROLLER_NB_SELECTION, switchesWith, switchIds, type ControllerNbClient } from '../ovn/exposed.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { ExposeKeys } from '../ovn/ids.ts';
import { loadKubeConfig } from '../k8s/pods.ts';
import { EventRecorder } from '../k8s/events.ts';
import { ControllerCaches } from './caches.ts';
import { LeaderElector } from './election.ts';
import { leaderLoops, LoopRunner } from './loops.ts';
import type { NbView } from './context.ts';
import { FlagError } from '../errors.ts';
import { parseSubnet, type Subnet } from '../lib/ip.ts';
import type { Server } from 'node:http';
import { NO_CONTROLLER_METRICS, type ControllerMetrics } from '../metrics/controller-registry.ts';
import type { RunningWebhook } from './webhook-server.ts';

export interface ControllerOptions {
  kubeconfig: string | undefined;
  nbDb: string[];
  nbTls: { key: string; cert: string; ca: string } | undefined;
  dbInactivityProbeMs: number;
  namespace: string;
  identity: string;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resyncMs: number;
  deadNodeGraceMs: number;
  /** --network-low-threshold, a percentage. */
  networkLowThreshold: number;
  /** --tenant-excluded-subnets: what no NamespacedNetwork may overlap. */
  tenantExcludedSubnets: Subnet[];
  logLevel: LevelWithSilent;
  /** The metrics and probes listener (docs/metrics.md); port 0: none. */
  metricsAddress: string;
  metricsPort: number;
  /** The pod webhook (docs/interface-discovery.md): on only with a certificate directory. */
  webhook: { certDir: string; address: string; port: number } | undefined;
}

export function parseControllerFlags(flags: Record<string, unknown>): ControllerOptions {
  const { str, optional, num } = flagReader(flags);
  return {
    kubeconfig: optional('kubeconfig'),
    ...nbFlags(flags),
    namespace: str('namespace'),
    identity: str('identity'),
    leaseName: str('leaseName'),
    leaseDurationMs: num('leaseDuration'),
    renewDeadlineMs: num('renewDeadline'),
    retryPeriodMs: num('retryPeriod'),
    resyncMs: num('resyncInterval'),
    deadNodeGraceMs: num('deadNodeGrace'),
    networkLowThreshold: num('networkLowThreshold'),
    tenantExcludedSubnets: subnetList(optional('tenantExcludedSubnets') ?? '', '--tenant-excluded-subnets'),
    logLevel: logLevelFlag(flags),
    metricsAddress: str('metricsAddress'),
    metricsPort: num('metricsPort'),
    webhook: webhookFlags(flags),
  };
}

function webhookFlags(flags: Record<string, unknown>): ControllerOptions['webhook'] {
  const { str, optional, num } = flagReader(flags);
  const certDir = optional('webhookCertDir');
  return certDir === undefined ? undefined : { certDir, address: str('webhookAddress'), port: num('webhookPort') };
}

/** A comma-separated list of subnets (host bits zero), as a flag gives it. */
function subnetList(text: string, flag: string): Subnet[] {
  return text.split(',').map((c) => c.trim()).filter((c) => c !== '').map((cidr) => {
    const subnet = parseSubnet(cidr);
    if (subnet === undefined) throw new FlagError(`${flag}: ${JSON.stringify(cidr)} is not a subnet like 10.96.0.0/12 (host bits zero)`);
    return subnet;
  });
}

/** The NB through our OVSDB client: ready once its first monitor reply is in the cache. */
function nbView(nb: ControllerNbClient): NbView & { ready: boolean } {
  const view = {
    ready: false,
    switchState: (name: string) => switchIds(nb, name),
    marked: () => switchesWith(nb, ExposeKeys.expose),
    onChange: (listener: () => void) => {
      const onRow = (change: { table: string }): void => {
        if (change.table === NbTable.Logical_Switch) listener();
      };
      nb.cache.on('change', onRow);
      nb.on('connected', listener);
      return () => {
        nb.cache.off('change', onRow);
        nb.off('connected', listener);
      };
    },
  };
  nb.once('connected', () => {
    view.ready = true;
  });
  return view;
}

export interface RunningController {
  elector: LeaderElector;
  log: Logger;
  stop(): Promise<void>;
}

export async function startController(options: ControllerOptions, log: Logger = createLogger(options.logLevel)): Promise<RunningController> {
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  if (kubeConfig === undefined) throw new FlagError('the controller needs the Kubernetes API: --kubeconfig, or run in a cluster');
  const nb = nbClient(options, CONTROLLER_NB_MONITOR, log, CONTROLLER_NB_SELECTION);
  // Registered before start(), so the first 'connected' (the cache is filled by then) is seen.
  const view = nbView(nb);
  const caches = new ControllerCaches(kubeConfig, log);
  // Every replica serves the webhook, leader or not.
  const webhook = options.webhook === undefined ? undefined : await startWebhook(options.webhook, log);
  // The listener first: a port that cannot be had stops the start before anything runs. Nothing
  // is awaited after it until the elector exists, so no scrape can ask before.
  const listening: { server: Server; metrics: ControllerMetrics } | undefined = options.metricsPort === 0 ? undefined : await controllerListener(options, nb, caches, (): boolean => elector.leading, log).catch(async (err: unknown) => {
    await webhook?.close();
    throw err;
  });
  const metrics: ControllerMetrics = listening?.metrics ?? NO_CONTROLLER_METRICS;
  let sessions = 0;
  nb.on('connected', () => {
    if (sessions++ > 0) metrics.reconnected();
  });
  nb.on('resumed', () => metrics.monitorResumed());
  nb.start();
  caches.start();
  const events = new EventRecorder({ kubeConfig, log, controller: 'ovn-multinet.io/controller', instance: options.identity });
  const runner: LoopRunner = new LoopRunner(
    leaderLoops({ kubeConfig, caches, nb: view, nbClient: nb, log, resyncMs: options.resyncMs, nbFlags: options, deadNodeGraceMs: options.deadNodeGraceMs, metrics, events, networkLowThreshold: options.networkLowThreshold, tenantExcludedSubnets: options.tenantExcludedSubnets }),
    log,
  );
  const elector: LeaderElector = new LeaderElector({
    kubeConfig,
    namespace: options.namespace,
    name: options.leaseName,
    identity: options.identity,
    leaseDurationMs: options.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs,
    log,
    onStartedLeading: () => runner.start(),
    onStoppedLeading: () => runner.stop(),
  });
  elector.start();
  log.info({ identity: options.identity, lease: `${options.namespace}/${options.leaseName}`, nb: options.nbDb }, 'ovn-multinet controller started');
  const stop = async (): Promise<void> => {
    await elector.stop();
    await runner.stop();
    await webhook?.close();
    listening?.server.closeAllConnections();
    await new Promise<void>((resolve) => (listening === undefined ? resolve() : listening.server.close(() => resolve())));
    await Promise.all([caches.stop(), nb.close(), events.stop()]);
    log.info('ovn-multinet controller stopped');
  };
  return { elector, log, stop };
}

/**
 * The controller's /metrics, /healthz and /readyz (docs/metrics.md): ready once it has a session
 * with the NB and its Kubernetes caches are filled. Loaded only with the listener on.
 */
async function controllerListener(options: ControllerOptions, nb: ControllerNbClient, caches: ControllerCaches, leading: () => boolean, log: Logger): Promise<{ server: Server; metrics: ControllerMetrics }> {
  const { createControllerRegistry } = await import('../metrics/controller-registry.ts');
  const { networkAddressUsage, liveMigrations } = await import('./address-usage.ts');
  const { listenProbes } = await import('../metrics/http.ts');
  const { registry, metrics } = createControllerRegistry({
    nb: { remotes: options.nbDb, connectedTo: () => (nb.connected ? nb.remote : undefined) },
    leading,
    networks: () => networkAddressUsage(caches.networks(), nb),
    liveMigrations: () => liveMigrations(nb),
  });
  const { server, port } = await listenProbes({
    address: options.metricsAddress,
    port: options.metricsPort,
    registry,
    log,
    notReady: () => [...(nb.connected ? [] : ['not connected to the OVN Northbound database']), ...(caches.synced ? [] : ['the Kubernetes caches are not filled yet'])],
  });
  log.info({ address: options.metricsAddress, port }, 'metrics and probes listening');
  return { server, metrics };
}

/** The pod webhook's listener, loaded only when it is on. */
async function startWebhook(options: NonNullable<ControllerOptions['webhook']>, log: Logger): Promise<RunningWebhook> {
  const { listenWebhook } = await import('./webhook-server.ts');
  const webhook = await listenWebhook({ ...options, log });
  log.info({ address: options.address, port: webhook.port, certDir: options.certDir }, 'pod webhook listening');
  return webhook;
}

/** Runs until SIGTERM or SIGINT; releases the Lease on the way out. */
export async function runController(options: ControllerOptions): Promise<void> {
  const controller = await startController(options);
  await untilStopSignal(controller.log);
  await controller.stop();
  // As runDaemon: an HTTP keep-alive socket the Kubernetes client may hold must not keep it running.
  process.exit(0);
}
