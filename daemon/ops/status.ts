/**
 * `ovn-multinetd status`: this node's daemon as it tells it on `GET /status` of its metrics
 * listener (metrics/status.ts): the databases and their remotes, the switches served, the
 * requests running and queued, the reconciler's last pass. Nothing listening there is an
 * OpsFailedError that says where it looked and which daemon flag moves or turns off the listener.
 */
import { flagReader } from '../lib/flags.ts';
import { parseDaemonStatus, type DaemonStatus } from '../metrics/status.ts';
import { OpsFailedError } from '../errors.ts';
import { outputFlag, print, render, renderFields, type OutputFormat } from './output.ts';

export interface StatusOptions {
  address: string;
  port: number;
  timeoutMs: number;
  output: OutputFormat;
}

export function parseStatusFlags(flags: Record<string, unknown>): StatusOptions {
  const { str, num } = flagReader(flags);
  return { address: str('address'), port: num('port'), timeoutMs: num('timeout'), output: outputFlag(flags) };
}

export function statusUrl(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}/status`;
}

const db = (d: DaemonStatus['databases']['nb']): string => (d.connected ? `connected to ${d.remote ?? '?'}` : 'not connected');

export function statusText(s: DaemonStatus): string {
  const r = s.reconciler;
  return renderFields([
    ['Node', s.node],
    ['CNI socket', `${s.socket.path} (${s.socket.listening ? 'listening' : 'not listening'})`],
    ['Northbound', db(s.databases.nb)],
    ['Open_vSwitch', db(s.databases.ovs)],
    ['Served switches', s.servedSwitches.join(', ')],
    ['Requests', `${s.requests.running} running, ${s.requests.queued} queued (at most ${s.requests.limit} at once)`],
    ['Reconciler', r.lastPassAt === null ? 'no pass yet' : `${r.passes} passes; the last ended at ${r.lastPassAt}, removing ${r.lastPassRemoved}`],
    ['Removed', `${r.removedTotal} attachments since the start, ${r.suspects} suspects`],
  ]);
}

/** GET /status; an OpsFailedError when nothing answers there or the answer is not one. */
export async function fetchStatus(options: Omit<StatusOptions, 'output'>): Promise<DaemonStatus> {
  const url = statusUrl(options.address, options.port);
  let body: unknown;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
    if (res.status === 404) throw new OpsFailedError(`${url}: 404, the listener there is not an ovn-multinet daemon of this version`);
    body = await res.json();
  } catch (err) {
    if (err instanceof OpsFailedError) throw err;
    throw new OpsFailedError(
      `no daemon answers at ${url} (address ${options.address}, port ${options.port}): is the daemon running on this node with its metrics listener on? ` +
        'It listens where its --metrics-address and --metrics-port say (--metrics-port 0 turns it off); give the same here with --address and --port',
      { cause: err },
    );
  }
  const status = parseDaemonStatus(body);
  if (status === undefined) throw new OpsFailedError(`${url}: the answer is not a daemon status`);
  return status;
}

export async function runStatus(options: StatusOptions): Promise<void> {
  const status = await fetchStatus(options);
  await print(await render(options.output, status, () => statusText(status)));
}
