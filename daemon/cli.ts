/**
 * The command-line tool: `ovn-multinetd daemon [flags]`, `ovn-multinetd controller [flags]`,
 * `ovn-multinetd --version`, and the operator commands (daemon/ops/, docs/operations.md):
 * `networks`, `attachments`, `inspect NS/NAME`, `status`, `gc --node NAME`, `completion SHELL`.
 * Each command's module is loaded only when it runs (the output options and the completion
 * script, small and pure, always are). A usage error exits 2 (ops/output.ts ExitCode).
 */
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import pkg from '../package.json' with { type: 'json' };
import { DEFAULT_SOCKET } from './netconf/fields.ts';
import type { DaemonOptions } from './main.ts';
import type { ControllerOptions } from './controller/main.ts';
import type { GcOptions } from './ops/gc.ts';
import { ExitCode, outputOption, print } from './ops/output.ts';
import { SHELLS, completionScript } from './ops/completion.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** A TCP port: 0 to 65535. */
function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number, 0 to 65535');
  return n;
}

/** An IPv4 or IPv6 address to listen on (no host name: it would be resolved at every start). */
function ipAddress(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError('must be an IPv4 or IPv6 address');
  return value;
}

function remotes(value: string): string[] {
  const list = value.split(',').map((r) => r.trim()).filter((r) => r !== '');
  if (list.length === 0) throw new InvalidArgumentError('must name at least one remote');
  for (const r of list) {
    if (!/^(unix:.+|tcp:.+:\d+|ssl:.+:\d+)$/.test(r)) throw new InvalidArgumentError(`${r}: expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT`);
  }
  return list;
}

/**
 * Where the daemon's listener is, for the daemon and for the commands run beside it in its pod:
 * the DaemonSet sets it to the node's IP from the downward API.
 */
const METRICS_ADDRESS_ENV = 'OVN_MULTINET_METRICS_ADDRESS';
/** A percentage, 1 to 100. */
function percent(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('must be a whole percentage, 1 to 100');
  return n;
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value;
}

/** A duration: milliseconds (`1500`, `1500ms`), seconds (`15s`) or minutes (`1m`); returns ms. */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError('must be a positive duration: 1500, 1500ms, 15s or 1m');
  return Math.round(ms);
}

/** The controller's Lease namespace and identity from the pod (downward API), when no flag gives them. */
export function controllerDefaults(env: NodeJS.ProcessEnv = process.env): { namespace: string; identity: string } {
  const pick = (v: string | undefined, fallback: string): string => (v === undefined || v === '' ? fallback : v);
  return { namespace: pick(env['POD_NAMESPACE'], 'ovn-multinet'), identity: pick(env['POD_NAME'], hostname()) };
}

/** --nb-db and its TLS files, the same for the daemon and the controller. */
function nbOptions(command: Command): Command {
  return command
    .addOption(new Option('--nb-db <remotes>', 'OVN Northbound database, comma-separated for a raft cluster (unix:, tcp:, ssl:)').env('OVN_NB_DB').argParser(remotes).makeOptionMandatory())
    .option('--nb-private-key <file>', 'private key for ssl: NB remotes')
    .option('--nb-certificate <file>', 'certificate for ssl: NB remotes')
    .option('--nb-ca-cert <file>', 'CA certificate for ssl: NB remotes')
    .option('--db-inactivity-probe <ms>', 'echo probes: a database silent a third of this is sent an echo, then allowed twice the silence at each unanswered one; silent 4 times this, its connection is dropped and the next raft member tried', positiveInt, 4500);
}

/** What the operator commands that read the NB share: its flags, --timeout and -o. */
function nbReader(command: Command): Command {
  return nbOptions(command)
    .option('--timeout <duration>', 'give up (exit code 1) when the NB (or the API server, or the local Open_vSwitch database) cannot be read within this', duration, 10_000)
    .addOption(outputOption());
}

/** --ovs-db and --node-name: what attachments and inspect look at on the node they run on. */
function localOptions(command: Command): Command {
  return command
    .option('--ovs-db <remote>', 'the local Open_vSwitch database: with it, ovn-installed and the host veth of this node\'s attachments are looked at (others show -)')
    .option('--node-name <name>', 'this node\'s name, as its daemon\'s --node-name', hostname());
}

export function buildCli(): Command {
  const program = new Command('ovn-multinetd')
    // Usage errors exit 2, not commander's 1 (runCli): scripts tell them from failures.
    .exitOverride()
    .description('Attach containers to OVN logical switches: the node daemon and the Network controller.\nThe CNI plugin the container runtime runs is the separate executable ovn-multinet.')
    .version(pkg.version, '-v, --version');
  const daemon = program
    .command('daemon')
    .description('run the per-node daemon that serves CNI requests on a Unix socket')
    .option('--socket <path>', 'Unix socket for CNI requests (its directory is made root-only)', DEFAULT_SOCKET)
    .option('--ovs-db <remote>', 'local Open_vSwitch database', 'unix:/var/run/openvswitch/db.sock');
  nbOptions(daemon)
    .option('--node-name <name>', 'name of this node, recorded as the owner of its attachments', hostname())
    .option('--boot-id-file <path>', 'this boot\'s id, recorded on each attachment: one made under another boot is removed at once', '/proc/sys/kernel/random/boot_id')
    .option('--bridge <name>', 'OVS integration bridge', 'br-int')
    .option('--mtu <bytes>', 'MTU of pod interfaces when the network config sets none', positiveInt, 1400)
    .option('--request-timeout <ms>', 'deadline of one CNI request', positiveInt, 120_000)
    .option('--read-timeout <ms>', 'time a client has to send its whole request', positiveInt, 10_000)
    .option('--max-parallel-requests <n>', 'ADD and CHECK served at once; more queue in arrival order (DEL never waits)', positiveInt, 32)
    .option('--max-connections <n>', 'CNI socket connections open at once (queued and running requests included); one more is answered code 11 unread', positiveInt, 1024)
    .option('--db-wait <ms>', 'how long a request waits, from its arrival, for a database connection that is away (then code 11)', positiveInt, 8_000)
    .option('--reconcile-interval <ms>', 'time between reconciler passes', positiveInt, 30_000)
    .option('--reconcile-grace <ms>', 'how long an attachment must look dead before the reconciler removes it', positiveInt, 60_000)
    .option('--kubeconfig <file>', 'take per-pod ips/mac from the pod annotation k8s.v1.cni.cncf.io/networks (in a cluster, in-cluster config is used without it)')
    .option('--network-access <mode>', 'with Kubernetes, what a pod may reach: strict (only a switch a Network admitting its namespace covers, with the Network\'s settings) or by-name (the Network named like the config, if any, must select the namespace)', 'strict')
    .addOption(new Option('--metrics-address <address>', 'address of the /metrics, /healthz and /readyz listener, on the node\'s host network (docs/metrics.md)').env(METRICS_ADDRESS_ENV).argParser(ipAddress).default('127.0.0.1'))
    .option('--metrics-port <port>', 'port of that listener; 0 turns it off', port, 9479)
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent', 'info')
    .action(async (flags: Record<string, unknown>) => {
      const { runDaemon, parseDaemonFlags } = await import('./main.ts');
      const options: DaemonOptions = parseDaemonFlags(flags);
      await runDaemon(options);
    });
  const defaults = controllerDefaults();
  const controller = program
    .command('controller')
    .description('run the Network controller (one active replica, elected with a Lease): NADs and status from Network objects, Networks from marked logical switches')
    .option('--kubeconfig <file>', 'kubeconfig file (in a cluster, in-cluster config is used without it)');
  nbOptions(controller)
    .option('--namespace <name>', 'namespace of the leader election Lease ($POD_NAMESPACE when set)', defaults.namespace)
    .option('--identity <name>', 'this replica\'s name in the Lease ($POD_NAME when set, else the host name)', defaults.identity)
    .option('--lease-name <name>', 'name of the Lease', 'ovn-multinet-controller')
    .option('--lease-duration <duration>', 'how long a Lease holds without renewal (1500, 1500ms, 15s, 1m)', duration, 15_000)
    .option('--renew-deadline <duration>', 'how long the leader keeps trying to renew before it steps down', duration, 10_000)
    .option('--retry-period <duration>', 'time between tries to acquire or renew the Lease', duration, 2_000)
    .option('--resync-interval <duration>', 'time between full passes besides those events trigger', duration, 60_000)
    .option('--dead-node-grace <duration>', 'how long a node with attachments must have no Node object before its attachments are released', duration, 300_000)
    .option('--metrics-address <address>', 'address of the /metrics, /healthz and /readyz listener (docs/metrics.md); the manifest sets the pod\'s IP', ipAddress, '127.0.0.1')
    .option('--metrics-port <port>', 'port of that listener; 0 turns it off', port, 9480)
    .option('--network-low-threshold <percent>', 'Event AddressesLow on a Network when this percentage of its addresses is in use (docs/events.md)', percent, 90)
    .option('--webhook-cert-dir <dir>', 'directory of the pod webhook\'s tls.crt and tls.key (a Secret\'s volume; reloaded when they change); the webhook is off without it (docs/interface-discovery.md)')
    .option('--webhook-address <address>', 'address of the pod webhook\'s HTTPS listener; the manifest sets the pod\'s IP', ipAddress, '0.0.0.0')
    .option('--webhook-port <port>', 'port of that listener', port, 9443)
    .option('--tenant-excluded-subnets <cidrs>', 'comma-separated subnets no NamespacedNetwork may overlap (the cluster, service and node CIDRs; docs/namespaced-networks.md)')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent', 'info')
    .action(async (flags: Record<string, unknown>) => {
      const { runController, parseControllerFlags } = await import('./controller/main.ts');
      const options: ControllerOptions = parseControllerFlags(flags);
      await runController(options);
    });
  const gc = program
    .command('gc')
    .description('release the attachments of a node that is gone: every logical switch port ovn-multinet made for it (its addresses become free); prints each port removed, then the count')
    .requiredOption('--node <name>', 'the dead node (the daemon\'s --node-name there)', nonEmpty);
  nbOptions(gc)
    .option('--timeout <duration>', 'give up (non-zero exit) when the NB cannot be reached or the work is not done within this', duration, 30_000)
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent', 'warn')
    .option('--progress', 'a progress line on stderr even when it is not a terminal (on a terminal it is always shown)')
    .action(async (flags: Record<string, unknown>) => {
      const { runGc, parseGcFlags } = await import('./ops/gc.ts');
      const options: GcOptions = parseGcFlags(flags);
      await runGc(options);
    });
  nbReader(program
    .command('networks')
    .description('each network ovn-multinet attaches to: its switch, subnets, addresses used, free and reserved (IPAMClaims) per subnet, ports per node'))
    .action(async (flags: Record<string, unknown>) => {
      const { runNetworks, parseNetworksFlags } = await import('./ops/networks.ts');
      await runNetworks(parseNetworksFlags(flags));
    });
  localOptions(nbReader(program
    .command('attachments')
    .description('one row per attachment the NB records: pod, interface, network, addresses, MAC, logical switch port, node, up, ovn-installed and veth (on this node, with --ovs-db)')
    .option('--node <name>', 'only the attachments of this node', nonEmpty)
    .option('--network <name>', 'only those of this network (or logical switch)', nonEmpty)
    .option('--pod <namespace/name>', 'only those of this pod', nonEmpty)))
    .action(async (flags: Record<string, unknown>) => {
      const { runAttachments, parseAttachmentsFlags } = await import('./ops/attachments.ts');
      await runAttachments(parseAttachmentsFlags(flags));
    });
  localOptions(nbReader(program
    .command('inspect')
    .description('everything about one pod\'s networks: its attachments, and with the Kubernetes API its network annotations, last error and Events; exit code 3 when neither the NB nor the API knows it')
    .argument('<namespace/name>', 'the pod')
    .option('--kubeconfig <file>', 'read the pod and its Events from this cluster (in a cluster, in-cluster config is used without it)')))
    .action(async (pod: string, flags: Record<string, unknown>) => {
      const { runInspect, parseInspectFlags } = await import('./ops/inspect.ts');
      await runInspect(parseInspectFlags(pod, flags));
    });
  program
    .command('status')
    .description('this node\'s daemon, as its metrics listener\'s /status tells: databases, served switches, requests running and queued, the reconciler')
    .addOption(new Option('--address <address>', 'the daemon\'s --metrics-address').env(METRICS_ADDRESS_ENV).argParser(ipAddress).default('127.0.0.1'))
    .option('--port <port>', 'the daemon\'s --metrics-port', port, 9479)
    .option('--timeout <duration>', 'give up (exit code 1) when the daemon does not answer within this', duration, 5_000)
    .addOption(outputOption())
    .action(async (flags: Record<string, unknown>) => {
      const { runStatus, parseStatusFlags } = await import('./ops/status.ts');
      await runStatus(parseStatusFlags(flags));
    });
  program
    .command('completion')
    .description('print a shell completion script: source <(ovn-multinetd completion bash)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(SHELLS))
    .action(async (shell: (typeof SHELLS)[number]) => {
      await print(completionScript(program, shell));
    });
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    // Commander has printed its message (or the help, or the version).
    if (!(err instanceof CommanderError)) throw err;
    process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
}
