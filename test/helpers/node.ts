/**
 * A "node" for end-to-end tests: an OVS/OVN sandbox whose ovs-vswitchd runs in its own network
 * namespace, and the compiled daemon (dist/ovn-multinetd daemon) running in that namespace too,
 * as a host-network DaemonSet pod would. The CNI executable is run there as a runtime would:
 * env + stdin, stdout parsed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startSandbox, sandboxSkipReason, type Sandbox, type SandboxOptions } from './sandbox.ts';
import type { Teardown } from './netns.ts';
import { SOCKET_DIR } from '../../daemon/netconf/fields.ts';

/** The CNI executable a runtime spawns (the Go front end). */
export const CNI_BINARY = fileURLToPath(new URL('../../dist/ovn-multinet', import.meta.url));
/** The daemon, controller and command-line tool (the Node single executable). */
export const DAEMON_BINARY = fileURLToPath(new URL('../../dist/ovn-multinetd', import.meta.url));

export function e2eSkipReason(): string | false {
  const reason = sandboxSkipReason();
  if (reason !== false) return reason;
  for (const binary of [CNI_BINARY, DAEMON_BINARY]) {
    if (!existsSync(binary)) return `needs ${binary} (npm run build)`;
  }
  return false;
}

export interface DaemonProcess {
  socket: string;
  nodeName: string;
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** SIGTERM and wait; removes its temp dir. */
  stop(): Promise<void>;
  /** SIGKILL (a crash) and wait for the exit. */
  kill(): Promise<void>;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

export interface StartDaemonOptions {
  nodeName?: string;
  extraArgs?: string[];
  nbDb?: string;
  /** Extra environment of the daemon process. */
  env?: Record<string, string>;
  /** Reuse this socket path (a restarted daemon serving the same configs). */
  socket?: string;
  /** A command the daemon runs under, with its arguments (e.g. setpriv with fewer capabilities). */
  wrapper?: string[];
  /** How long it may take to listen (default 15 s; a hundred daemons starting at once take longer). */
  listenTimeoutMs?: number;
}

/** What startDaemon needs of a node: a sandbox, or a bare Open_vSwitch database (the many-nodes bench). */
export interface DaemonHost {
  readonly name: string;
  readonly env: Pick<Sandbox['env'], 'OVS_DB' | 'NB_DB' | 'SANDBOX_NETNS'>;
}

async function waitForListening(child: ChildProcess, logs: Array<Record<string, unknown>>, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not listen within ${timeoutMs} ms: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry['msg'] === 'ovn-multinet daemon listening') {
            clearTimeout(timer);
            resolve();
          }
        } catch {
          logs.push({ raw: line });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${String(code)}: ${JSON.stringify(logs.slice(-5))}`));
    });
  });
}

/**
 * A fresh directory for a daemon's socket under SOCKET_DIR, the only place the CNI executable
 * connects to: `<dir>/run/cni.sock` stays far below sun_path's 107 bytes. The caller removes it.
 */
export async function socketDir(prefix: string): Promise<string> {
  await mkdir(SOCKET_DIR, { recursive: true, mode: 0o700 });
  return mkdtemp(join(SOCKET_DIR, prefix));
}

/** Starts `dist/ovn-multinetd daemon` in the sandbox's namespace against its databases. */
export async function startDaemon(t: Teardown, sandbox: DaemonHost, opts: StartDaemonOptions = {}): Promise<DaemonProcess> {
  // A restarted daemon reuses its predecessor's socket, and with it the same directory.
  const dir = opts.socket === undefined ? await socketDir('omd-') : dirname(dirname(opts.socket));
  const socket = opts.socket ?? join(dir, 'run', 'cni.sock');
  const nodeName = opts.nodeName ?? sandbox.name;
  const args = [
    'daemon',
    '--socket', socket,
    '--ovs-db', sandbox.env.OVS_DB,
    '--nb-db', opts.nbDb ?? sandbox.env.NB_DB,
    '--node-name', nodeName,
    '--log-level', 'debug',
    // No metrics listener unless a test asks for one (extraArgs come after: the last one wins),
    // so daemons without a netns of their own never compete for its port.
    '--metrics-port', '0',
    ...(opts.extraArgs ?? []),
  ];
  const netns = sandbox.env.SANDBOX_NETNS;
  // OVN_MULTINET_DAEMON_NODE_OPTIONS becomes the daemon's NODE_OPTIONS (e.g. --cpu-prof): Node
  // refuses --cpu-prof in the NODE_OPTIONS of the test or bench process itself.
  const nodeOptions = process.env['OVN_MULTINET_DAEMON_NODE_OPTIONS'];
  const spawnOptions = { stdio: ['ignore', 'pipe', 'inherit'] as ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...opts.env, ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }) } };
  const command = [...(opts.wrapper ?? []), DAEMON_BINARY, ...args];
  const child = netns === '' ? spawn(command[0] ?? DAEMON_BINARY, command.slice(1), spawnOptions) : spawn('ip', ['netns', 'exec', netns, ...command], spawnOptions);
  const logs: Array<Record<string, unknown>> = [];
  let stopped: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const daemon: DaemonProcess = {
    socket,
    nodeName,
    child,
    logs,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
    stop: () => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  t.teardown(() => daemon.stop());
  await waitForListening(child, logs, opts.listenTimeoutMs ?? 15_000);
  return daemon;
}

export interface CniCall {
  command: string;
  /** The executable to run instead of ours: e.g. a reference plugin that execs ours as its IPAM. */
  plugin?: string;
  containerId?: string | undefined;
  netns?: string | undefined;
  ifName?: string | undefined;
  args?: string | undefined;
  path?: string | undefined;
  /** Extra or overriding env (undefined removes a variable). */
  env?: Record<string, string | undefined>;
}

export interface CniOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

/**
 * Runs the CNI executable exactly as a runtime does: CNI_* env, config on stdin (an object is
 * serialized; a string or Buffer goes as it is, e.g. invalid UTF-8), result on stdout.
 */
export async function runCni(node: { env: { SANDBOX_NETNS: string } } | undefined, call: CniCall, config: unknown): Promise<CniOutcome> {
  const env: Record<string, string | undefined> = {
    PATH: process.env['PATH'],
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifName,
    CNI_ARGS: call.args,
    CNI_PATH: call.path ?? '/opt/cni/bin',
    ...call.env,
  };
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const input = typeof config === 'string' || Buffer.isBuffer(config) ? config : JSON.stringify(config);
  const netns = node?.env.SANDBOX_NETNS ?? '';
  const binary = call.plugin ?? CNI_BINARY;
  const [file, args] = netns === '' ? [binary, []] : ['ip', ['netns', 'exec', netns, binary]];
  const result = await execa(file, args, { env: clean, extendEnv: false, input, reject: false, timeout: 180_000 });
  let json: Record<string, unknown> | undefined;
  try {
    json = result.stdout === '' ? undefined : (JSON.parse(result.stdout) as Record<string, unknown>);
  } catch {
    json = undefined;
  }
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, json };
}

export interface TestNode {
  sandbox: Sandbox;
  daemon: DaemonProcess;
  env: Sandbox['env'];
  /** A network config for a switch, pointing at this node's daemon. */
  config(name: string, extra?: Record<string, unknown>): Record<string, unknown>;
  cni(call: CniCall, config: unknown): Promise<CniOutcome>;
  /** Names of logical switch ports on `lswitch`. */
  switchPorts(lswitch: string): Promise<string[]>;
  /** Names of the ports on br-int besides br-int itself. */
  bridgePorts(): Promise<string[]>;
  /** Names of links in the node namespace that start with omn (our host veth ends). */
  hostVeths(): Promise<string[]>;
  /**
   * hostVeths() once it is empty, or what is left after 3 s: DEL answers before the kernel has
   * finished destroying the veth pair (the daemon holds the attachment until it has).
   */
  noHostVeths(): Promise<string[]>;
}

export async function startNode(t: Teardown, opts: SandboxOptions & { daemon?: StartDaemonOptions } = {}): Promise<TestNode> {
  const sandbox = await startSandbox({ netns: true, ...opts, t });
  const daemon = await startDaemon(t, sandbox, opts.daemon);
  const list = (out: string): string[] => out.split('\n').map((s) => s.trim()).filter((s) => s !== '');
  // /sys/class/net, not `ip link`: iproute2 opens every file in /var/run/netns to name a veth's
  // peer, and hangs on anything there that is not a netns.
  const hostVeths = async (): Promise<string[]> => list(await sandbox.exec(['ls', '/sys/class/net'])).filter((name) => name.startsWith('omn'));
  return {
    sandbox,
    daemon,
    env: sandbox.env,
    config: (name, extra = {}) => ({ cniVersion: '1.1.0', name, type: 'ovn-multinet', socket: daemon.socket, ...extra }),
    cni: (call, config) => runCni(sandbox, call, config),
    switchPorts: async (lswitch) => list(await sandbox.nbctl(['lsp-list', lswitch])).map((line) => line.replace(/^\S+\s+\((.*)\)$/, '$1')),
    bridgePorts: async () => list(await sandbox.vsctl(['list-ports', 'br-int'])),
    hostVeths,
    noHostVeths: async () => {
      const deadline = Date.now() + 3000;
      let left = await hostVeths();
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        left = await hostVeths();
      }
      return left;
    },
  };
}
