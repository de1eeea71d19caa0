/**
 * Two OVN "nodes" on one machine, as /work/shared/ENVIRONMENT.md describes them: each node is a
 * network namespace with its own ovsdb-server, ovs-vswitchd (netdev) and ovn-controller (own
 * system-id, own encap IP), and its own compiled daemon. Node A's sandbox also runs the NB, the SB
 * and northd; node B's ovn-controller joins A's SB over A's unix socket (a file, so it reaches
 * across namespaces, where A's 127.0.0.1 would not), and B's daemon uses A's NB.
 *
 * The underlay is one veth pair between the two node namespaces, never anywhere else. Each end is
 * a port of an OVS bridge br-phy that holds the node's encap IP (192.168.200.0/24). Measured: the
 * encap IP straight on the veth does not carry geneve in the userspace datapath (its native
 * tunnelling only sends through an OVS bridge's own port), and the first packets to a new peer
 * are dropped while ovs-vswitchd learns the peer's MAC; so each node gets the other's br-phy MAC
 * as a static tunnel neighbour (`tnl/neigh/set`) before any pod exists.
 */
import { readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { socketDir, startDaemon, startNode, DAEMON_BINARY, type CniOutcome, type DaemonProcess, type StartDaemonOptions, type TestNode } from './node.ts';
import type { Netns, Teardown } from './netns.ts';

/** The pod MTU the geneve underlay allows: 1500 - 58 (outer Ethernet, IPv4, UDP, Geneve + option). */
export const TWO_NODE_MTU = 1442;
const UNDERLAY_PREFIX = '192.168.200';
const UNDERLAY_BRIDGE = 'br-phy';

export type NodeId = 'a' | 'b';

/** A node's encap IP, on its br-phy: reachable from the other node's namespace over the underlay. */
export const encapIpOf = (id: NodeId): string => `${UNDERLAY_PREFIX}.${id === 'a' ? 1 : 2}`;

export interface ClusterNode extends TestNode {
  readonly id: NodeId;
  /** The daemon's --node-name and the chassis name. */
  readonly name: string;
  readonly encapIp: string;
  /** The node's namespace: ovs-vswitchd, ovn-controller, the daemon and the host veths live here. */
  readonly netns: Netns;
  /** The underlay veth end in this node's namespace. */
  readonly underlay: string;
  /** The daemon now serving this node's socket (a getter: it changes on restart). */
  readonly daemon: DaemonProcess;
  /** Every daemon process started for this node so far, the current one last. */
  readonly daemons: readonly DaemonProcess[];
  /**
   * Ends the daemon, by SIGTERM (a stop) or SIGKILL (a crash), and starts a new one with the same
   * flags and the same socket path, as a DaemonSet restarts its pod. Resolves once the new one
   * listens. `between` runs while no daemon is running.
   */
  restartDaemon(signal: 'SIGTERM' | 'SIGKILL', between?: () => Promise<void>): Promise<DaemonProcess>;
}

export interface TwoNodes {
  readonly a: ClusterNode;
  readonly b: ClusterNode;
  readonly nodes: readonly [ClusterNode, ClusterNode];
  /** `ovn-nbctl` against the one NB both nodes share (A's). */
  nbctl(args: readonly string[]): Promise<string>;
  /** `ovn-sbctl` against the one SB both chassis share (A's). */
  sbctl(args: readonly string[]): Promise<string>;
  /** The chassis a logical switch port is bound to (its name), or '' when unbound. */
  chassisOf(logicalPort: string): Promise<string>;
  /**
   * What the harness made and still exists: live daemon, OVS or OVN processes, node
   * namespaces, sandbox and socket directories. Empty after teardown ran.
   */
  leftovers(): Promise<string[]>;
}

export interface TwoNodesOptions {
  /** Appended to every daemon's flags (both nodes, every restart). */
  readonly daemonArgs?: readonly string[];
}

/** Everything the harness started or made, for leftovers(). */
interface Made {
  /** A process counts as ours while its command line still names `marker`. */
  pids: Array<{ pid: number; marker: string }>;
  paths: string[];
  netns: string[];
}

export async function startTwoNodes(t: Teardown, opts: TwoNodesOptions = {}): Promise<TwoNodes> {
  const made: Made = { pids: [], paths: [], netns: [] };
  const a = await startClusterNode(t, 'a', {}, opts, made);
  // B has no NB of its own: it lists logical switch ports through A, the one NB.
  const b = await startClusterNode(t, 'b', { sbDb: a.env.SB_DB, nbDb: a.env.NB_DB, switchPorts: (lswitch) => a.switchPorts(lswitch) }, opts, made);
  await connectUnderlay(a, b);
  const nbctl = (args: readonly string[]): Promise<string> => a.sandbox.nbctl(args);
  const sbctl = (args: readonly string[]): Promise<string> => a.sandbox.sbctl(args);
  return {
    a,
    b,
    nodes: [a, b],
    nbctl,
    sbctl,
    chassisOf: async (logicalPort) => {
      const uuid = await sbctl(['--bare', '--columns=chassis', 'find', 'Port_Binding', `logical_port=${logicalPort}`]);
      return uuid === '' ? '' : sbctl(['--bare', '--columns=name', 'list', 'Chassis', uuid]);
    },
    leftovers: () => leftovers(made),
  };
}

interface JoinOptions {
  /** A's SB, to join as a second chassis. */
  sbDb?: string;
  /** A's NB, for the daemon. */
  nbDb?: string;
  switchPorts?: TestNode['switchPorts'];
}

async function startClusterNode(t: Teardown, id: NodeId, joining: JoinOptions, opts: TwoNodesOptions, made: Made): Promise<ClusterNode> {
  const name = `node-${id}`;
  const encapIp = encapIpOf(id);
  // One socket path for the node, whichever daemon serves it; the daemon makes run/ 0700.
  const dir = await socketDir(`om2n${id}-`);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  made.paths.push(dir);
  const daemonOpts: StartDaemonOptions = {
    nodeName: name,
    socket: join(dir, 'run', 'cni.sock'),
    extraArgs: ['--mtu', String(TWO_NODE_MTU), ...(opts.daemonArgs ?? [])],
    ...(joining.nbDb === undefined ? {} : { nbDb: joining.nbDb }),
  };
  const base = await startNode(t, {
    name,
    encapIp,
    netns: true,
    ...(joining.sbDb === undefined ? {} : { sbDb: joining.sbDb }),
    daemon: daemonOpts,
  });
  const netns = base.sandbox.netns;
  if (netns === undefined) throw new Error(`${name}: the sandbox made no namespace`);
  made.netns.push(netns.name);
  made.paths.push(base.sandbox.dir);
  for (const pid of await base.sandbox.pids()) made.pids.push({ pid, marker: base.sandbox.dir });
  const daemons: DaemonProcess[] = [base.daemon];
  made.pids.push(...pidOf(base.daemon));

  const tunnelPorts = async (): Promise<Set<string>> =>
    new Set((await base.sandbox.vsctl(['--bare', '--columns=name', 'find', 'Interface', 'type=geneve'])).split('\n').filter((s) => s !== ''));
  const node: ClusterNode = {
    ...base,
    id,
    name,
    encapIp,
    netns,
    underlay: `ul-${id}`,
    get daemon(): DaemonProcess {
      const current = daemons.at(-1);
      if (current === undefined) throw new Error('no daemon');
      return current;
    },
    daemons,
    switchPorts: joining.switchPorts ?? ((lswitch) => base.switchPorts(lswitch)),
    // br-int's ports besides br-int itself and the geneve tunnels ovn-controller makes.
    bridgePorts: async () => {
      const tunnels = await tunnelPorts();
      return (await base.bridgePorts()).filter((p) => !tunnels.has(p));
    },
    restartDaemon: async (signal, between) => {
      const old = node.daemon;
      if (signal === 'SIGKILL') await old.kill();
      else await old.stop();
      await between?.();
      const next = await startDaemon(t, base.sandbox, daemonOpts);
      daemons.push(next);
      made.pids.push(...pidOf(next));
      return next;
    },
  };
  return node;
}

function pidOf(daemon: DaemonProcess): Array<{ pid: number; marker: string }> {
  return daemon.child.pid === undefined ? [] : [{ pid: daemon.child.pid, marker: DAEMON_BINARY }];
}

/** The veth pair between the two node namespaces, each end in its node's br-phy with the encap IP. */
async function connectUnderlay(a: ClusterNode, b: ClusterNode): Promise<void> {
  // Made straight inside the two namespaces: the pair never exists in the test's own.
  await a.netns.exec(['ip', 'link', 'add', a.underlay, 'type', 'veth', 'peer', 'name', b.underlay, 'netns', b.netns.name]);
  const macs = await Promise.all(
    [a, b].map(async (node) => {
      await node.sandbox.vsctl([
        '--', 'add-br', UNDERLAY_BRIDGE,
        '--', 'set', 'Bridge', UNDERLAY_BRIDGE, 'datapath_type=netdev', 'fail_mode=standalone',
        '--', 'add-port', UNDERLAY_BRIDGE, node.underlay,
      ]);
      await node.netns.exec(['ip', 'link', 'set', node.underlay, 'up']);
      await node.netns.exec(['ip', 'addr', 'add', `${node.encapIp}/24`, 'dev', UNDERLAY_BRIDGE]);
      await node.netns.exec(['ip', 'link', 'set', UNDERLAY_BRIDGE, 'up']);
      return (await node.netns.exec(['cat', `/sys/class/net/${UNDERLAY_BRIDGE}/address`])).trim();
    }),
  );
  const [macA, macB] = macs;
  if (macA === undefined || macB === undefined) throw new Error('no br-phy MAC');
  await a.sandbox.appctl('ovs-vswitchd', ['tnl/neigh/set', UNDERLAY_BRIDGE, b.encapIp, macB]);
  await b.sandbox.appctl('ovs-vswitchd', ['tnl/neigh/set', UNDERLAY_BRIDGE, a.encapIp, macA]);
}

/** Bytes sent and received so far on a node's underlay veth end. */
export async function underlayBytes(node: ClusterNode): Promise<{ tx: number; rx: number }> {
  const read = async (what: string): Promise<number> => Number(await node.netns.exec(['cat', `/sys/class/net/${node.underlay}/statistics/${what}`]));
  return { tx: await read('tx_bytes'), rx: await read('rx_bytes') };
}

async function leftovers(made: Made): Promise<string[]> {
  const out: string[] = [];
  for (const { pid, marker } of made.pids) {
    if (await running(pid, marker)) out.push(`process ${pid} (${marker})`);
  }
  for (const name of made.netns) if (existsSync(`/var/run/netns/${name}`)) out.push(`netns ${name}`);
  for (const path of made.paths) if (existsSync(path)) out.push(`directory ${path}`);
  return out;
}

/** True while `pid` runs (not a zombie) and its command line names `marker` (no reused pid). */
async function running(pid: number, marker: string): Promise<boolean> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return false;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

/** A pod attached on one of the nodes, as the two-node tests keep it. */
export interface ClusterPod {
  node: ClusterNode;
  id: string;
  ns: Netns;
  ip: string;
  add: CniOutcome;
  call: { containerId: string; netns: string; ifName: string };
}

/** The first IP (without prefix length) of an ADD's result, '' when none. */
export function ipOf(add: CniOutcome): string {
  const ips = add.json?.['ips'] as Array<{ address: string }> | undefined;
  return ips?.[0]?.address.split('/')[0] ?? '';
}
