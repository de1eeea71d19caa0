/**
 * N real daemons on one machine for the many-nodes bench: each `dist/ovn-multinetd daemon` with
 * its own bare Open_vSwitch database (an ovsdb-server with br-int and no ovs-vswitchd), its own
 * socket and node name `node-<i>`, all against the same NB. Started at once and timed until every
 * STATUS answers ok (asked on the daemon's socket, as the CNI executable asks it, so that polling
 * a hundred daemons does not spawn thousands of processes); then one IPAM-mode ADD each on a
 * network none has used, all at once, with no retries.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { runCni, socketDir, startDaemon, type DaemonProcess } from '../test/helpers/node.ts';
import { startOvsdbServer, VSWITCH_SCHEMA } from '../test/helpers/ovsdb-server.ts';
import { sendToSocket } from '../test/helpers/socket-client.ts';
import type { Teardown } from '../test/helpers/netns.ts';
import { elapsedMs, sleep, stamp, type Stamp } from './clock.ts';
import { createPods, mapLimit, type Pod } from './pods.ts';
import { ipamConfig } from './scale-daemon.ts';

/** How often each starting daemon's STATUS is asked. */
const STATUS_POLL_MS = 100;
/** How long a daemon may take to listen on its socket (it answers STATUS only later). */
const LISTEN_LIMIT_MS = 600_000;
/** What the NB client logs when its connection drops (daemon/ovsdb/client.ts). */
const DISCONNECTED = 'ovsdb disconnected';
const NB_DATABASE = 'OVN_Northbound';

/** One node, made before the timing starts: its Open_vSwitch database, socket and pod. */
export interface PreparedNode {
  readonly name: string;
  readonly ovsDb: string;
  readonly socket: string;
  readonly pod: Pod;
}

export interface RunningNode extends PreparedNode {
  readonly proc: DaemonProcess;
  /** Spawn → its first STATUS that answered ok, ms. */
  readonly statusOkMs: number;
}

/** `count` nodes' Open_vSwitch databases (br-int in each), socket directories and pod netns. */
export async function prepareNodes(cleanup: Teardown, count: number): Promise<PreparedNode[]> {
  const pods = await createPods(cleanup, count);
  return mapLimit(pods, 8, async (pod, i) => {
    const { server } = await startOvsdbServer(cleanup, VSWITCH_SCHEMA);
    await execa('ovs-vsctl', [`--db=${server.unixRemote}`, '--no-wait', 'init', '--', 'add-br', 'br-int']);
    return { name: `node-${i}`, ovsDb: server.unixRemote, socket: join(await socketDir('omnodes-'), 'run', 'cni.sock'), pod };
  });
}

/** The request line the CNI executable sends (cni/protocol.go), for STATUS. */
function statusRequest(socket: string): Buffer {
  const config = JSON.stringify({ cniVersion: '1.1.0', name: 'status', type: 'ovn-multinet', socket });
  return Buffer.from(`${JSON.stringify({ env: { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, config })}\n`);
}

async function statusOk(socket: string): Promise<boolean> {
  const out = await sendToSocket(socket, { chunks: [statusRequest(socket)], gapMs: 0, finish: 'end' }, 10_000);
  try {
    const reply: unknown = JSON.parse(out.reply);
    return typeof reply === 'object' && reply !== null && 'exitCode' in reply && reply.exitCode === 0;
  } catch {
    return false;
  }
}

/** Polls STATUS from `spawned` until ok: the ms from the spawn, or undefined once `limitMs` has passed. */
async function untilStatusOk(socket: string, spawned: Stamp, exited: () => boolean, limitMs: number): Promise<number | undefined> {
  for (;;) {
    if (await statusOk(socket)) return elapsedMs(spawned, stamp());
    if (exited()) throw new Error(`the daemon on ${socket} exited before STATUS answered ok`);
    if (elapsedMs(spawned, stamp()) > limitMs) return undefined;
    await sleep(STATUS_POLL_MS);
  }
}

export interface Started {
  /** The daemons whose STATUS answered ok within the limit. */
  readonly running: RunningNode[];
  /** How many did not (still running: the cleanup stops them). */
  readonly late: number;
}

/** Spawns every daemon in one tick; resolves once every STATUS has answered ok, or `limitMs` after the spawn. */
export async function startDaemons(cleanup: Teardown, nodes: readonly PreparedNode[], nbDb: readonly string[], limitMs: number): Promise<Started> {
  const spawned = stamp();
  const starting = nodes.map((node) => {
    const host = { name: node.name, env: { OVS_DB: node.ovsDb, NB_DB: nbDb.join(','), SANDBOX_NETNS: '' } };
    // Info level: the bench reads the NB client's "ovsdb disconnected" lines, not every request's.
    const proc = startDaemon(cleanup, host, { socket: node.socket, nodeName: node.name, extraArgs: ['--log-level', 'info'], listenTimeoutMs: LISTEN_LIMIT_MS });
    let gone = false;
    proc.catch(() => {
      gone = true;
    });
    return { node, proc, ok: untilStatusOk(node.socket, spawned, () => gone, limitMs) };
  });
  const running: RunningNode[] = [];
  let late = 0;
  for (const { node, proc, ok } of starting) {
    const statusOkMs = await ok;
    // A daemon that answered STATUS listens: its start has resolved.
    if (statusOkMs === undefined) late++;
    else running.push({ ...node, statusOkMs, proc: await proc });
  }
  return { running, late };
}

export interface FirstUse {
  /** From the spawn of the first ADD to the exit of the last, ms. */
  readonly wallMs: number;
  /** Each ADD's spawn → exit, ms. */
  readonly ms: readonly number[];
  /** CNI error code (or "exit N" without one) → how many ADDs failed with it. */
  readonly failures: ReadonlyMap<string, number>;
}

/** The CNI error code of a failed call: its JSON `code`, else its exit status. */
function failureCode(exitCode: number, json: Record<string, unknown> | undefined): string {
  const code = json?.['code'];
  return typeof code === 'number' ? String(code) : `exit ${exitCode}`;
}

/** One IPAM-mode ADD per daemon on `network`, all spawned in one tick, no retries. */
export async function firstUse(nodes: readonly RunningNode[], network: string): Promise<FirstUse> {
  const started = stamp();
  const calls = nodes.map(async (node) => {
    const from = stamp();
    const out = await runCni(undefined, { command: 'ADD', containerId: node.pod.containerId, netns: node.pod.netns.path, ifName: node.pod.ifName }, ipamConfig(network, node.socket));
    return { ms: elapsedMs(from, stamp()), failure: out.exitCode === 0 ? undefined : failureCode(out.exitCode, out.json) };
  });
  const results = await Promise.all(calls);
  const wallMs = elapsedMs(started, stamp());
  const failures = new Map<string, number>();
  for (const { failure } of results) if (failure !== undefined) failures.set(failure, (failures.get(failure) ?? 0) + 1);
  return { wallMs, ms: results.map((r) => r.ms), failures };
}

/** NB connections the daemons' clients saw drop so far (their "ovsdb disconnected" lines). */
export function droppedConnections(nodes: readonly RunningNode[]): number {
  return nodes.reduce((sum, node) => sum + node.proc.logs.filter((e) => e['msg'] === DISCONNECTED && e['ovsdb'] === NB_DATABASE).length, 0);
}

export async function stopDaemons(nodes: readonly RunningNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.proc.stop()));
}
