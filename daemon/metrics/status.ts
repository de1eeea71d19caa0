/**
 * What `GET /status` on the daemon's metrics listener answers (JSON), for `ovn-multinetd status`
 * (daemon/ops/status.ts): the databases and their current remotes, the switches served, the
 * requests running and queued, the reconciler's last pass. main.ts fills a StatusSource from the
 * daemon's parts; `daemonStatus` reads it at each request; `parseDaemonStatus` is the reader's
 * check of what came over HTTP.
 */
import { isObject } from '../cni-spec/json.ts';

interface DatabaseState {
  connected: boolean;
  /** The remote of the current session; null when not connected. */
  remote: string | null;
}

export interface DaemonStatus {
  node: string;
  socket: { path: string; listening: boolean };
  databases: { nb: DatabaseState; ovs: DatabaseState };
  /** The logical switches this daemon serves now (used by a request lately, or holding its ports). */
  servedSwitches: string[];
  /** ADD and CHECK requests running (at most `limit`: --max-parallel-requests) and waiting for a slot. */
  requests: { running: number; queued: number; limit: number };
  reconciler: {
    passes: number;
    /** When the last pass ended (ISO 8601), null before the first. */
    lastPassAt: string | null;
    lastPassRemoved: number;
    /** Attachments removed since the daemon started. */
    removedTotal: number;
    /** Attachments known or suspected dead, waiting for both databases. */
    suspects: number;
  };
}

/** The daemon's parts, as main.ts hands them over. */
export interface StatusSource {
  node: string;
  socket: string;
  socketListening: () => boolean;
  nb: { readonly connected: boolean; readonly remote: string | undefined };
  ovs: { readonly connected: boolean; readonly remote: string | undefined };
  servedSwitches: () => readonly string[];
  load: () => { held: number; waiting: number };
  limit: number;
  reconciler: {
    readonly passes: number;
    readonly lastPass: { at: number; removed: number } | undefined;
    readonly removedTotal: number;
    readonly suspects: number;
  };
}

export function daemonStatus(source: StatusSource): DaemonStatus {
  const db = (c: StatusSource['nb']): DatabaseState => ({ connected: c.connected, remote: c.connected ? (c.remote ?? null) : null });
  const { held, waiting } = source.load();
  const { lastPass } = source.reconciler;
  return {
    node: source.node,
    socket: { path: source.socket, listening: source.socketListening() },
    databases: { nb: db(source.nb), ovs: db(source.ovs) },
    servedSwitches: [...source.servedSwitches()].sort(),
    requests: { running: held, queued: waiting, limit: source.limit },
    reconciler: {
      passes: source.reconciler.passes,
      lastPassAt: lastPass === undefined ? null : new Date(lastPass.at).toISOString(),
      lastPassRemoved: lastPass?.removed ?? 0,
      removedTotal: source.reconciler.removedTotal,
      suspects: source.reconciler.suspects,
    },
  };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function database(v: unknown): DatabaseState | undefined {
  return isObject(v) && typeof v['connected'] === 'boolean' && isStringOrNull(v['remote']) ? { connected: v['connected'], remote: v['remote'] } : undefined;
}

/** A /status answer, checked field by field; undefined when it is not one. */
export function parseDaemonStatus(raw: unknown): DaemonStatus | undefined {
  if (!isObject(raw) || typeof raw['node'] !== 'string') return undefined;
  const { socket, databases, servedSwitches, requests, reconciler } = raw;
  if (!isObject(socket) || typeof socket['path'] !== 'string' || typeof socket['listening'] !== 'boolean') return undefined;
  const nb = isObject(databases) ? database(databases['nb']) : undefined;
  const ovs = isObject(databases) ? database(databases['ovs']) : undefined;
  if (nb === undefined || ovs === undefined) return undefined;
  if (!Array.isArray(servedSwitches) || !servedSwitches.every((s) => typeof s === 'string')) return undefined;
  if (!isObject(requests) || !isCount(requests['running']) || !isCount(requests['queued']) || !isCount(requests['limit'])) return undefined;
  if (!isObject(reconciler) || !isCount(reconciler['passes']) || !isStringOrNull(reconciler['lastPassAt']) || !isCount(reconciler['lastPassRemoved']) || !isCount(reconciler['removedTotal']) || !isCount(reconciler['suspects'])) return undefined;
  return {
    node: raw['node'],
    socket: { path: socket['path'], listening: socket['listening'] },
    databases: { nb, ovs },
    servedSwitches,
    requests: { running: requests['running'], queued: requests['queued'], limit: requests['limit'] },
    reconciler: {
      passes: reconciler['passes'],
      lastPassAt: reconciler['lastPassAt'],
      lastPassRemoved: reconciler['lastPassRemoved'],
      removedTotal: reconciler['removedTotal'],
      suspects: reconciler['suspects'],
    },
  };
}
