/**
 * The daemon as the scale bench runs it: `dist/ovn-multinetd daemon` on the sandbox node
 * (test/helpers/node.ts startDaemon, debug log level), timed from its spawn until the CNI
 * executable's STATUS answers ok, which the daemon does once its NB and Open_vSwitch caches are
 * loaded. Plus what the bench reads of it: its pid, memory, bytes read, and the moment its log
 * says an ADD's logical switch port was committed.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CNI_BINARY, DAEMON_BINARY, socketDir, startDaemon, type DaemonProcess } from '../test/helpers/node.ts';
import type { Sandbox } from '../test/helpers/sandbox.ts';
import type { Teardown } from '../test/helpers/netns.ts';
import { execCni, type CniExecutable } from './cni-exec.ts';
import { elapsedMs, sleep, stamp } from './clock.ts';
import type { Sample } from './method.ts';
import type { Pod } from './pods.ts';
import { findDaemon } from './rss.ts';

export const CREATED_LSP = 'created logical switch port';
const RECEIVED = 'request received';
const NB_CONNECTED = 'connected to the OVN Northbound database';

export interface TimedDaemon {
  readonly proc: DaemonProcess;
  readonly pid: number;
  /** spawn → the first STATUS that answered ok (its exit), ms. */
  readonly statusOkMs: number;
  /** spawn → the daemon's "connected to the OVN Northbound database" log line (ms resolution). */
  readonly nbConnectedMs: number | undefined;
  /** STATUS calls that failed before the first ok one (socket not there yet, caches not loaded). */
  readonly statusTries: number;
  /** Which build the process runs (/proc/PID/exe: the file it was started from, even if replaced since). */
  readonly build: { readonly id: string; readonly size: number; readonly mtime: string };
  /** A network config for switch `network`, pointing at this daemon. */
  config(network: string): Record<string, unknown>;
  add(pod: Pod, network: string): Promise<Sample>;
  del(pod: Pod, network: string): Promise<Sample>;
  /**
   * The executable as another plugin's IPAM (IPAM mode, `ipam.type: ovn-multinet` under a
   * macvlan config, exec'd directly as macvlan would): the addresses only, recorded as a logical
   * switch port; no veth, no OVS port, no OVN binding to wait for.
   */
  ipamAdd(pod: Pod, network: string): Promise<Sample>;
  ipamDel(pod: Pod, network: string): Promise<Sample>;
  status(): Promise<Sample>;
  /**
   * When the daemon logged that it committed the pod's logical switch port (pino `time`, ms; the
   * line follows the NB transaction's reply at once), and the port's first IP.
   */
  /** The daemon's log times (ms) of the ADD's "request received" and "created logical switch port", and the IP it got. */
  committed(pod: Pod): { at: number | undefined; receivedAt: number | undefined; allocateMs: number | undefined; nbMs: number | undefined; ip: string | undefined };
}

/**
 * The config of an IPAM-mode call (`ipam.type: ovn-multinet` under a macvlan config, the
 * executable exec'd directly as macvlan would run its IPAM plugin) for switch `network`.
 */
export function ipamConfig(network: string, socket: string): Record<string, unknown> {
  return { cniVersion: '1.1.0', name: network, type: 'macvlan', ipam: { type: 'ovn-multinet', logicalSwitch: network, socket } };
}

export function cniExecutable(sandbox: Sandbox): CniExecutable {
  return { nodeNetns: sandbox.env.SANDBOX_NETNS, binary: CNI_BINARY, cniPath: '/opt/cni/bin' };
}

/**
 * Starts the daemon (on `socket`, to stand in for a restarted one, or a fresh one) and polls STATUS
 * with the CNI executable from the moment of the spawn.
 */
export async function startTimedDaemon(cleanup: Teardown, sandbox: Sandbox, opts: { socket?: string; timeoutMs?: number } = {}): Promise<TimedDaemon> {
  // startDaemon spawns synchronously when given a socket: make the directory here, so the
  // socket path is known before the spawn and STATUS can be polled from that moment.
  const socket = opts.socket ?? join(await socketDir('omscale-'), 'run', 'cni.sock');
  const exe = cniExecutable(sandbox);
  const config = (network: string): Record<string, unknown> => ({ cniVersion: '1.1.0', name: network, type: 'ovn-multinet', socket });
  const statusConfig = config('status');
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  const spawned = stamp();
  const starting = startDaemon(cleanup, sandbox, { socket });
  let gone = false;
  starting.catch(() => {
    gone = true;
  });
  let tries = 0;
  let ok: Sample | undefined;
  while (ok === undefined && !gone) {
    const s = await execCni(exe, 'STATUS', undefined, statusConfig);
    if (s.ok) ok = s;
    else {
      tries++;
      if (Date.now() > deadline) throw new Error(`STATUS not ok ${opts.timeoutMs ?? 180_000} ms after the daemon's spawn: ${s.detail}`);
      await sleep(5);
    }
  }
  const proc = await starting;
  if (ok === undefined) throw new Error('the daemon stopped before STATUS answered ok');
  const found = await findDaemon(proc.child.pid, DAEMON_BINARY);
  if (typeof found === 'string') throw new Error(`daemon pid: ${found}`);
  const exeStat = await stat(`/proc/${found.pid}/exe`);
  const build = { id: `${exeStat.dev}:${exeStat.ino}:${exeStat.size}:${exeStat.mtimeMs}`, size: exeStat.size, mtime: exeStat.mtime.toISOString() };
  const connected = proc.logs.find((e) => e['msg'] === NB_CONNECTED)?.['time'];
  return {
    proc,
    pid: found.pid,
    statusOkMs: elapsedMs(spawned, ok.end),
    nbConnectedMs: typeof connected === 'number' ? connected - spawned.wallMs : undefined,
    statusTries: tries,
    build,
    config,
    add: (pod, network) => execCni(exe, 'ADD', pod, config(network)),
    del: (pod, network) => execCni(exe, 'DEL', pod, config(network)),
    ipamAdd: (pod, network) => execCni(exe, 'ADD', pod, ipamConfig(network, socket)),
    ipamDel: (pod, network) => execCni(exe, 'DEL', pod, ipamConfig(network, socket)),
    status: () => execCni(exe, 'STATUS', undefined, statusConfig),
    committed(pod) {
      const ofAdd = (msg: string) => proc.logs.find((e) => e['msg'] === msg && e['command'] === 'ADD' && e['containerId'] === pod.containerId);
      const entry = ofAdd(CREATED_LSP);
      const at = entry?.['time'];
      const received = ofAdd(RECEIVED)?.['time'];
      const addresses = entry?.['addresses'];
      const first = Array.isArray(addresses) && typeof addresses[0] === 'string' ? addresses[0] : undefined;
      const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
      return { at: number(at), receivedAt: number(received), allocateMs: number(entry?.['allocateMs']), nbMs: number(entry?.['nbMs']), ip: first?.split(' ')[1] };
    },
  };
}
