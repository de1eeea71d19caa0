/**
 * The per-node daemon: connects to the local Open_vSwitch DB and the OVN NB (monitors feed the
 * caches every read comes from), then serves CNI requests on the Unix socket until SIGTERM/SIGINT.
 * It keeps no state of its own: everything it needs is in the two databases and the kernel.
 */
import type { Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { readFile, rm } from 'node:fs/promises';
import { modelClient } from './ovsdb/client.ts';
import { ovsModel } from './ovsdb/models/vswitch.ts';
import { createLogger, type Logger } from './lib/log.ts';
import { listenCniSocket } from './server/socket.ts';
import { createHandler } from './server/handler.ts';
import type { NbClient } from './ovn/nb.ts';
import { nodeNbView } from './ovn/node-view.ts';
import { releaseDhcpWithSwitches } from './ovn/dhcp-release.ts';
import { OVS_MONITOR, type OvsClient } from './ovs/bridge.ts';
import { startThreadpool } from './netlink/netns.ts';
import type { Attacher } from './attachments/context.ts';
import { Reconciler } from './attachments/reconcile.ts';
import { convertLegacyKeysAtStart } from './ipam/legacy-keys.ts';
import { PortRestorer } from './attachments/restore.ts';
import { KeyedLock } from './lib/keylock.ts';
import { Semaphore } from './lib/semaphore.ts';
import { LoopDelayReport } from './lib/loop-delay.ts';
import { NO_METRICS, type Database, type DaemonMetrics } from './metrics/hooks.ts';
import type { MetricsRegistry } from './metrics/registry.ts';
import { daemonStatus, type StatusSource } from './metrics/status.ts';

/** How often the event loop delay of a busy daemon is logged. */
const LOOP_DELAY_REPORT_MS = 10_000;
import type { LevelWithSilent } from 'pino';
import { echoIntervalFor, flagReader, logLevelFlag, nbFlags } from './lib/flags.ts';
import { untilStopSignal } from './lib/signals.ts';
import { FlagError } from './errors.ts';
import type { NetworkAccessMode } from './k8s/networks.ts';

export interface DaemonOptions {
  socket: string;
  ovsDb: string;
  nbDb: string[];
  nbTls: { key: string; cert: string; ca: string } | undefined;
  dbInactivityProbeMs: number;
  nodeName: string;
  /** Where this boot's id is read (the kernel's, or a test's stand-in). */
  bootIdFile: string;
  bridge: string;
  requestTimeoutMs: number;
  readTimeoutMs: number;
  maxParallelRequests: number;
  /** Connections the CNI socket holds open at once (socket.ts). */
  maxConnections: number;
  defaultMtu: number;
  dbWaitMs: number;
  reconcileIntervalMs: number;
  reconcileGraceMs: number;
  logLevel: LevelWithSilent;
  /** --kubeconfig: per-pod network requests from Kubernetes (also on in-cluster, see k8s/pods.ts). */
  kubeconfig: string | undefined;
  /** --network-access: how Network objects decide what a pod's config may reach (k8s/networks.ts). */
  networkAccess: NetworkAccessMode;
  /** The metrics and probes listener (docs/metrics.md); port 0: none. */
  metricsAddress: string;
  metricsPort: number;
}

const NETWORK_ACCESS_MODES: readonly NetworkAccessMode[] = ['strict', 'by-name'];

function networkAccessFlag(flags: Record<string, unknown>): NetworkAccessMode {
  const mode = flagReader(flags).str('networkAccess');
  const found = NETWORK_ACCESS_MODES.find((m) => m === mode);
  if (found === undefined) throw new FlagError(`--network-access must be one of ${NETWORK_ACCESS_MODES.join(', ')}`);
  return found;
}

/** Commander hands flags over untyped; this is where they become DaemonOptions. */
export function parseDaemonFlags(flags: Record<string, unknown>): DaemonOptions {
  const { str, optional, num } = flagReader(flags);
  return {
    socket: str('socket'),
    ovsDb: str('ovsDb'),
    ...nbFlags(flags),
    nodeName: str('nodeName'),
    bootIdFile: str('bootIdFile'),
    bridge: str('bridge'),
    requestTimeoutMs: num('requestTimeout'),
    readTimeoutMs: num('readTimeout'),
    maxParallelRequests: num('maxParallelRequests'),
    maxConnections: num('maxConnections'),
    defaultMtu: num('mtu'),
    dbWaitMs: num('dbWait'),
    reconcileIntervalMs: num('reconcileInterval'),
    reconcileGraceMs: num('reconcileGrace'),
    logLevel: logLevelFlag(flags),
    kubeconfig: optional('kubeconfig'),
    networkAccess: networkAccessFlag(flags),
    metricsAddress: str('metricsAddress'),
    metricsPort: num('metricsPort'),
  };
}

export interface RunningDaemon {
  server: Server;
  nb: NbClient;
  ovs: OvsClient;
  log: Logger;
  reconciler: Reconciler;
  stop(): Promise<void>;
}

export async function startDaemon(options: DaemonOptions, log: Logger = createLogger(options.logLevel)): Promise<RunningDaemon> {
  await startThreadpool();
  const bootId = (await readFile(options.bootIdFile, 'utf8')).trim();
  const ovs = modelClient(ovsModel, OVS_MONITOR, { remotes: [options.ovsDb], logger: log, echoIntervalMs: echoIntervalFor(options.dbInactivityProbeMs) });
  const { nb, scope } = nodeNbView(options, options.nodeName, log);
  const admission = new Semaphore(options.maxParallelRequests);
  // Loaded only with the listener on: off, the daemon's hooks are empty functions. Before the
  // clients start, so that their first session is never taken for a reconnection.
  let registry: MetricsRegistry | undefined;
  // Made once the clients run; a scrape before counts no suspects.
  let reconciler: Reconciler | undefined = undefined;
  if (options.metricsPort !== 0) {
    const { createMetricsRegistry } = await import('./metrics/registry.ts');
    const { servedSwitchUsage, ownedDhcpRows } = await import('./metrics/served.ts');
    const connectedTo = (client: { connected: boolean; remote: string | undefined }) => (): string | undefined => (client.connected ? client.remote : undefined);
    registry = createMetricsRegistry({
      queued: () => admission.load.waiting,
      databases: { nb: { remotes: options.nbDb, connectedTo: connectedTo(nb) }, ovs: { remotes: [options.ovsDb], connectedTo: connectedTo(ovs) } },
      suspects: () => reconciler?.suspects ?? 0,
      servedSwitches: () => servedSwitchUsage(nb, scope),
      dhcpRows: () => ownedDhcpRows(nb),
    });
  }
  const metrics: DaemonMetrics = registry?.metrics ?? NO_METRICS;
  countSessions(ovs, 'ovs', metrics);
  countSessions(nb, 'nb', metrics);
  releaseDhcpWithSwitches(nb, log);
  ovs.start();
  nb.start();
  ovs.on('connected', (remote) => log.info({ remote }, 'connected to the local Open_vSwitch database'));
  nb.on('connected', (remote) => log.info({ remote }, 'connected to the OVN Northbound database'));
  const stopping = new AbortController();
  const lost = (what: string) => (err: Error | undefined): void => {
    if (!stopping.signal.aborted) log.warn({ err }, `lost the ${what}`);
  };
  ovs.on('disconnected', lost('local Open_vSwitch database'));
  nb.on('disconnected', lost('OVN Northbound database'));

  const ctx: Attacher = { nb, scope, ovs, node: options.nodeName, bootId, bridge: options.bridge, defaultMtu: options.defaultMtu, dbWaitMs: options.dbWaitMs, log, metrics };
  // Kubernetes is optional: loaded only with --kubeconfig or in a cluster (KUBERNETES_SERVICE_HOST).
  let pods: { stop(): Promise<void> } | undefined;
  let networks: { stop(): Promise<void> } | undefined;
  let claims: { stop(): Promise<void> } | undefined;
  let events: { stop(): Promise<void> } | undefined;
  let ipPools: { stop(): Promise<void> } | undefined;
  if (options.kubeconfig !== undefined || (process.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '') {
    const { PodCache, loadKubeConfig } = await import('./k8s/pods.ts');
    const kubeConfig = loadKubeConfig(options.kubeconfig);
    if (kubeConfig !== undefined) {
      const cache = new PodCache({ kubeConfig, nodeName: options.nodeName, log });
      cache.start();
      ctx.pods = cache;
      pods = cache;
      log.info({ server: kubeConfig.getCurrentCluster()?.server, node: options.nodeName }, 'watching this node\'s pods for network requests');
      const { NetworkCache } = await import('./k8s/networks.ts');
      const access = new NetworkCache({ kubeConfig, log });
      access.start();
      ctx.networks = access;
      ctx.networkAccess = options.networkAccess;
      log.info({ networkAccess: options.networkAccess }, 'Network objects decide what pods may reach');
      networks = access;
      const { IpPoolCache } = await import('./k8s/ippools.ts');
      const poolCache = new IpPoolCache({ kubeConfig, log });
      poolCache.start();
      ctx.ipPools = poolCache;
      ipPools = poolCache;
      const { ClaimCache } = await import('./k8s/ipamclaims.ts');
      const claimCache = new ClaimCache({ kubeConfig, log });
      claimCache.start();
      ctx.claims = claimCache;
      claims = claimCache;
      const { EventRecorder } = await import('./k8s/events.ts');
      const { PodEvents } = await import('./k8s/pod-events.ts');
      const recorder = new EventRecorder({ kubeConfig, log, controller: 'ovn-multinet.io/daemon', instance: options.nodeName });
      ctx.events = new PodEvents(recorder, cache, log);
      events = recorder;
    }
  }
  const lock = new KeyedLock();
  const loopDelay = new LoopDelayReport(log);
  loopDelay.start(LOOP_DELAY_REPORT_MS);
  reconciler = new Reconciler(ctx, lock, { graceMs: options.reconcileGraceMs, intervalMs: options.reconcileIntervalMs });
  // Before the CNI socket: a port that cannot be had stops the start with nothing to undo.
  let server: Server | undefined = undefined;
  let probes: HttpServer | undefined;
  // What `GET /status` tells `ovn-multinetd status`, read at each request.
  const status: StatusSource = {
    node: options.nodeName,
    socket: options.socket,
    socketListening: () => server?.listening === true,
    nb,
    ovs,
    servedSwitches: () => scope.servedNames,
    load: () => admission.load,
    limit: options.maxParallelRequests,
    reconciler,
  };
  if (registry !== undefined) {
    const { listenProbes } = await import('./metrics/http.ts');
    const listening = await listenProbes({
      address: options.metricsAddress,
      port: options.metricsPort,
      registry: registry.registry,
      log,
      status: () => daemonStatus(status),
      notReady: () => [
        ...(server?.listening === true ? [] : ['the CNI socket is not listening']),
        ...(nb.connected ? [] : ['not connected to the OVN Northbound database']),
        ...(ovs.connected ? [] : ['not connected to the local Open_vSwitch database']),
      ],
    });
    probes = listening.server;
    log.info({ address: options.metricsAddress, port: listening.port }, 'metrics and probes listening');
  }
  let cniServer: Server;
  try {
    cniServer = await listenCniSocket({
      path: options.socket,
      readTimeoutMs: options.readTimeoutMs,
      maxConnections: options.maxConnections,
      log,
      handle: createHandler(ctx, { requestTimeoutMs: options.requestTimeoutMs, lock, reconciler, admission, served: () => loopDelay.served(), metrics }),
      refused: (reason) => metrics.refused(reason),
    });
  } catch (err) {
    // A start that failed leaves nothing running: no listener answering /healthz, no database
    // session or watch keeping the process alive without a CNI socket.
    loopDelay.stop();
    probes?.close();
    await Promise.all([nb.close(), ovs.close(), pods?.stop(), networks?.stop(), claims?.stop(), events?.stop(), ipPools?.stop()]);
    throw err;
  }
  server = cniServer;
  const restorer = new PortRestorer(ctx, lock);
  // The first pass waits for both caches, so it sees everything this node owns.
  Promise.all([nb.waitConnected(stopping.signal), ovs.waitConnected(stopping.signal)]).then(
    () => {
      reconciler.start();
      restorer.start();
    },
    () => undefined,
  );
  // Guard keys and reservations of older daemons on the switches of this node's ports (ipam/legacy-keys.ts).
  nb.waitConnected(stopping.signal).then(
    () => convertLegacyKeysAtStart(nb, options.nodeName, log, stopping.signal),
    () => undefined,
  ).catch((err: unknown) => {
    if (!stopping.signal.aborted) log.warn({ err }, 'could not convert old-format guard keys at start; the first request on each switch tries again');
  });
  log.info({ socket: options.socket, node: options.nodeName, nb: options.nbDb, ovs: options.ovsDb }, 'ovn-multinet daemon listening');

  const stop = async (): Promise<void> => {
    stopping.abort();
    loopDelay.stop();
    await Promise.all([reconciler.stop(), restorer.stop()]);
    await new Promise<void>((resolve) => cniServer.close(() => resolve()));
    probes?.closeAllConnections();
    await new Promise<void>((resolve) => (probes === undefined ? resolve() : probes.close(() => resolve())));
    await rm(options.socket, { force: true });
    await Promise.all([nb.close(), ovs.close(), pods?.stop(), networks?.stop(), claims?.stop(), events?.stop(), ipPools?.stop()]);
    log.info('ovn-multinet daemon stopped');
  };
  return { server: cniServer, nb, ovs, log, reconciler, stop };
}

/** Each session with the database after its first is a reconnection; some resume their monitor. */
function countSessions(client: { on(event: 'connected' | 'resumed', listener: () => void): unknown }, database: Database, metrics: DaemonMetrics): void {
  let sessions = 0;
  client.on('connected', () => {
    if (sessions++ > 0) metrics.reconnected(database);
  });
  client.on('resumed', () => metrics.monitorResumed(database));
}

/** Runs until SIGTERM or SIGINT; in-flight requests finish, nothing is torn down in the pods. */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const daemon = await startDaemon(options);
  await untilStopSignal(daemon.log);
  await daemon.stop();
  // Everything of ours is closed; an HTTP keep-alive socket the Kubernetes client may still hold
  // must not keep a stopped daemon running.
  process.exit(0);
}
