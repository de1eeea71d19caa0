// OVS + OVN in a temp dir for integration tests: a thin wrapper over scripts/sandbox.sh.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, rootSkipReason, run } from './netns.ts';
import type { ExecOptions, Netns, Teardown } from './netns.ts';

export const SANDBOX_SCRIPT = fileURLToPath(new URL('../../scripts/sandbox.sh', import.meta.url));

/** The keys scripts/sandbox.sh writes to DIR/env; all present, some possibly empty. */
export const SANDBOX_ENV_KEYS = [
  'SANDBOX_DIR',
  'SANDBOX_NAME',
  'SANDBOX_ENCAP_IP',
  'SANDBOX_NETNS',
  'SANDBOX_BRIDGE',
  'OVS_DB',
  'NB_DB',
  'SB_DB',
  'NB_TCP',
  'SB_TCP',
  'OVN_NB_DB',
  'OVN_SB_DB',
  'OVS_RUNDIR',
  'OVS_DBDIR',
  'OVS_LOGDIR',
  'OVS_SYSCONFDIR',
  'OVN_RUNDIR',
  'OVN_DBDIR',
  'OVN_LOGDIR',
  'OVN_SYSCONFDIR',
  'OVS_VSWITCHD_CTL',
  'OVN_NORTHD_CTL',
] as const;

export type SandboxEnvKey = (typeof SANDBOX_ENV_KEYS)[number];
export type SandboxEnv = Readonly<Record<SandboxEnvKey, string>>;

export interface SandboxOptions {
  /** system-id and Chassis name (default: derived from the temp dir). */
  readonly name?: string;
  /** ovn-encap-ip (default 127.0.0.1). */
  readonly encapIp?: string;
  /** Also serve NB on tcp:127.0.0.1:PORT. */
  readonly nbTcpPort?: number;
  /** Also serve SB on tcp:127.0.0.1:PORT. */
  readonly sbTcpPort?: number;
  /**
   * Where ovs-vswitchd runs, and so where br-int's ports must live:
   * - undefined/false: the test's own namespace. Two such sandboxes cannot run at once (both
   *   need the taps br-int and ovs-netdev): a second start waits for the first to stop.
   * - true: a fresh namespace made for this sandbox (`sandbox.netns`), removed by stop().
   *   Sandboxes like this run side by side.
   * - a string: an existing namespace by name.
   */
  readonly netns?: boolean | string;
  /** Join this SB (another sandbox's env.SB_DB) as an extra chassis: no NB/SB/northd here. */
  readonly sbDb?: string;
  /** Use this NB (e.g. the members of a raft cluster, comma-separated) instead of starting one. */
  readonly nbDb?: string;
  /** With a tap Test: stop() at teardown. */
  readonly t?: Teardown;
  /** Bounds start (default: the script's own timeouts). */
  readonly signal?: AbortSignal;
}

export interface Sandbox {
  readonly dir: string;
  /** Chassis name / system-id. */
  readonly name: string;
  readonly env: SandboxEnv;
  /** The namespace ovs-vswitchd runs in, when it is not the test's own. */
  readonly netns: Netns | undefined;
  /** `ovn-nbctl --db=NB_DB ...args` */
  nbctl(args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** `ovn-sbctl --db=SB_DB ...args` */
  sbctl(args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** `ovs-vsctl --db=OVS_DB ...args` */
  vsctl(args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** `ovs-appctl -t TARGET ...args`, TARGET a daemon name: ovs-vswitchd, ovn-northd, ovn-controller. */
  appctl(target: 'ovs-vswitchd' | 'ovn-northd' | 'ovn-controller', args: readonly string[]): Promise<string>;
  /** Runs a command where ovs-vswitchd runs (the sandbox netns, if any) with the sandbox env. */
  exec(args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** pids of the running daemons, read from their pid files. */
  pids(): Promise<number[]>;
  /**
   * Fault injection on the NB or the Open_vSwitch ovsdb-server: stops it or starts it again;
   * hangs it (SIGSTOP: connections stay open, nothing is answered) or wakes it (SIGCONT).
   */
  db(action: 'stop' | 'start' | 'hang' | 'wake', which: 'nb' | 'ovs'): Promise<void>;
  /** Stops every daemon, removes taps, the dir and (if made here) the netns. Idempotent. */
  stop(): Promise<void>;
}

const OVS_TOOLS = ['/usr/sbin/ovsdb-server', '/usr/sbin/ovs-vswitchd', '/usr/bin/ovn-northd', '/usr/bin/ovn-controller'];

/** Why sandbox tests cannot run here, or false. Use as `t.test(name, { skip: sandboxSkipReason() }, ...)`. */
export function sandboxSkipReason(): string | false {
  const root = rootSkipReason();
  if (root !== false) return root;
  const missing = OVS_TOOLS.filter((p) => !existsSync(p));
  if (missing.length > 0) return `needs OVS/OVN (scripts/install-deps.sh): missing ${missing.join(', ')}`;
  return false;
}

/** Parses DIR/env (KEY=VALUE lines) and checks every expected key is there. */
export function parseSandboxEnv(text: string): SandboxEnv {
  const seen = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) seen.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const env: Partial<Record<SandboxEnvKey, string>> = {};
  for (const key of SANDBOX_ENV_KEYS) {
    const value = seen.get(key);
    if (value === undefined) throw new Error(`sandbox env lacks ${key}`);
    env[key] = value;
  }
  return env as SandboxEnv;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'omsbx-'));
  let ownNetns: Netns | undefined;
  try {
    let netnsName: string | undefined;
    if (opts.netns === true) {
      ownNetns = await createNetns(undefined, 'omsbx');
      netnsName = ownNetns.name;
    } else if (typeof opts.netns === 'string') {
      netnsName = opts.netns;
    }
    const args = ['start', dir];
    if (opts.name !== undefined) args.push('--name', opts.name);
    if (opts.encapIp !== undefined) args.push('--encap-ip', opts.encapIp);
    if (opts.nbTcpPort !== undefined) args.push('--nb-tcp', String(opts.nbTcpPort));
    if (opts.sbTcpPort !== undefined) args.push('--sb-tcp', String(opts.sbTcpPort));
    if (netnsName !== undefined) args.push('--netns', netnsName);
    if (opts.sbDb !== undefined) args.push('--sb-db', opts.sbDb);
    if (opts.nbDb !== undefined) args.push('--nb-db', opts.nbDb);
    // Waiting for another sandbox in the same namespace can take a while: no short timeout.
    await run('bash', [SANDBOX_SCRIPT, ...args], {
      timeout: 180_000,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (err) {
    await stopDir(dir);
    await ownNetns?.remove();
    throw err;
  }

  const env = parseSandboxEnv(await readFile(join(dir, 'env'), 'utf8'));
  const processEnv = { ...toolEnv(env) };
  let stopped: Promise<void> | undefined;
  const sandbox: Sandbox = {
    dir,
    name: env.SANDBOX_NAME,
    env,
    netns: ownNetns,
    nbctl: (args, o) => {
      if (env.NB_DB === '') return Promise.reject(new Error('this sandbox joined another SB: it has no NB'));
      return run('ovn-nbctl', [`--db=${env.NB_DB}`, ...args], o);
    },
    sbctl: (args, o) => run('ovn-sbctl', [`--db=${env.SB_DB}`, ...args], o),
    vsctl: (args, o) => run('ovs-vsctl', [`--db=${env.OVS_DB}`, ...args], o),
    appctl: async (target, args) => {
      const ctl =
        target === 'ovs-vswitchd'
          ? env.OVS_VSWITCHD_CTL
          : target === 'ovn-northd'
            ? env.OVN_NORTHD_CTL
            : join(env.OVN_RUNDIR, `ovn-controller.${await readPid(join(env.OVN_RUNDIR, 'ovn-controller.pid'))}.ctl`);
      return run('ovs-appctl', ['-t', ctl, ...args]);
    },
    exec: (args, o) => {
      const file = env.SANDBOX_NETNS === '' ? args[0] : 'ip';
      if (file === undefined) return Promise.reject(new Error('exec needs a command'));
      const full = env.SANDBOX_NETNS === '' ? args.slice(1) : ['netns', 'exec', env.SANDBOX_NETNS, ...args];
      return run(file, full, { ...o, env: { ...processEnv, ...o?.env } });
    },
    db: async (action, which) => {
      if (action === 'hang' || action === 'wake') {
        process.kill(await readPid(join(dir, which === 'nb' ? 'ovn/ovnnb_db.pid' : 'ovs/ovsdb-server.pid')), action === 'hang' ? 'SIGSTOP' : 'SIGCONT');
        return;
      }
      await run('bash', [SANDBOX_SCRIPT, `db-${action}`, dir, which]);
    },
    pids: async () => {
      const files = [
        'ovs/ovsdb-server.pid',
        'ovs/ovs-vswitchd.pid',
        'ovn/ovn-controller.pid',
        ...(env.NB_DB === '' ? [] : ['ovn/ovnnb_db.pid', 'ovn/ovnsb_db.pid', 'ovn/ovn-northd.pid']),
      ];
      const pids = await Promise.all(files.map((f) => readPid(join(dir, f))));
      return pids;
    },
    stop: () => {
      stopped ??= (async () => {
        await stopDir(dir);
        await ownNetns?.remove();
      })();
      return stopped;
    },
  };
  opts.t?.teardown(() => sandbox.stop());
  return sandbox;
}

/** The variables the OVS/OVN command-line tools read, so plain `ovs-vsctl` reaches the sandbox. */
function toolEnv(env: SandboxEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of SANDBOX_ENV_KEYS) {
    if (env[key] !== '') out[key] = env[key];
  }
  return out;
}

async function readPid(file: string): Promise<number> {
  const text = (await readFile(file, 'utf8')).trim();
  const pid = Number(text);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`bad pid ${JSON.stringify(text)} in ${file}`);
  return pid;
}

async function stopDir(dir: string): Promise<void> {
  try {
    await run('bash', [SANDBOX_SCRIPT, 'stop', dir], { timeout: 60_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
