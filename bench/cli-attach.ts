/**
 * Baseline B: the same attachment made step by step with the CLI tools, as an admin script on the
 * node would: ovn-nbctl for the logical switch port, ip for the veth and the pod end, ovs-vsctl
 * for the br-int port, then `ovs-vsctl wait-until` for ovn-installed. Every command goes to the
 * sandbox's databases with --db=. Links are made with `ip -n NS` (a script on the node is already
 * in the node namespace; `ip -n` enters it inside the one ip process, without the mount work of
 * `ip netns exec`). Addresses come from a counter: 10.97.0.0/16, MAC 0a:58 + the IPv4 address.
 */
import type { Sandbox } from '../test/helpers/sandbox.ts';
import { elapsedMs, stamp, type Stamp } from './clock.ts';
import { basePath, timedSpawn } from './spawn.ts';
import { failureDetail, type AttachMethod, type Sample, type Step } from './method.ts';
import type { Pod } from './pods.ts';

export const CLI_SWITCH = 'omb-cli';
const SUBNET_PREFIX = [10, 97] as const;
const PREFIX_LENGTH = 16;
const BRIDGE = 'br-int';

interface Command {
  readonly label: string;
  readonly file: string;
  readonly args: readonly string[];
}

interface Names {
  readonly port: string;
  readonly veth: string;
  readonly mac: string;
  readonly ip: string;
}

/** Host number n (2, 3, ...) in 10.97.0.0/16, its MAC derived like OVN's 0a:58:<ipv4>. */
function namesFor(n: number): Names {
  const a = (n >> 8) & 0xff;
  const b = n & 0xff;
  const hex = (x: number): string => x.toString(16).padStart(2, '0');
  const [p0, p1] = SUBNET_PREFIX;
  return {
    port: `omb-cli-${n}`,
    veth: `ombc${n}`,
    mac: `0a:58:${hex(p0)}:${hex(p1)}:${hex(a)}:${hex(b)}`,
    ip: `${p0}.${p1}.${a}.${b}`,
  };
}

/** Runs the commands in order; stops at the first failure. */
async function runSteps(pod: Pod, commands: readonly Command[]): Promise<Sample> {
  const env = { PATH: basePath() };
  const steps: Step[] = [];
  let start: Stamp | undefined;
  let end = stamp();
  let detail = '';
  for (const c of commands) {
    const t = await timedSpawn(c.file, c.args, { env, timeoutMs: 60_000 });
    start ??= t.start;
    end = t.end;
    steps.push({ label: c.label, ms: t.ms });
    if (t.failure !== undefined || t.exitCode !== 0) {
      detail = failureDetail(`${c.file} ${c.args.join(' ')}`, t.exitCode, t.failure, t.stdout, t.stderr);
      break;
    }
  }
  const first = start ?? end;
  return { pod, ms: elapsedMs(first, end), start: first, end, ok: detail === '', detail, steps };
}

export interface CliAttach extends AttachMethod {
  /** Creates the logical switch the script attaches to. */
  setUp(): Promise<void>;
}

export function cliAttach(sandbox: Sandbox): CliAttach {
  const { NB_DB: nb, OVS_DB: ovs, SANDBOX_NETNS: node } = sandbox.env;
  const byPod = new Map<string, Names>();
  let counter = 1;
  return {
    name: 'CLI script',
    setUp: async () => {
      await sandbox.nbctl(['ls-add', CLI_SWITCH]);
    },
    add: (pod) => {
      counter += 1;
      const n = namesFor(counter);
      byPod.set(pod.containerId, n);
      const addr = `${n.mac} ${n.ip}`;
      return runSteps(pod, [
        {
          label: 'ovn-nbctl lsp-add + lsp-set-addresses + lsp-set-port-security',
          file: 'ovn-nbctl',
          args: [`--db=${nb}`, 'lsp-add', CLI_SWITCH, n.port, '--', 'lsp-set-addresses', n.port, addr, '--', 'lsp-set-port-security', n.port, addr],
        },
        {
          label: 'ip link add veth peer (pod end into the pod netns, with MAC)',
          file: 'ip',
          args: ['-n', node, 'link', 'add', n.veth, 'type', 'veth', 'peer', 'name', pod.ifName, 'address', n.mac, 'netns', pod.netns.name],
        },
        { label: 'ip -n POD addr add', file: 'ip', args: ['-n', pod.netns.name, 'addr', 'add', `${n.ip}/${PREFIX_LENGTH}`, 'dev', pod.ifName] },
        { label: 'ip -n POD link set up', file: 'ip', args: ['-n', pod.netns.name, 'link', 'set', pod.ifName, 'up'] },
        { label: 'ip link set VETH up (node netns)', file: 'ip', args: ['-n', node, 'link', 'set', n.veth, 'up'] },
        {
          label: 'ovs-vsctl add-port + iface-id',
          file: 'ovs-vsctl',
          args: [`--db=${ovs}`, 'add-port', BRIDGE, n.veth, '--', 'set', 'interface', n.veth, `external_ids:iface-id=${n.port}`],
        },
        {
          label: 'ovs-vsctl wait-until ovn-installed=true',
          file: 'ovs-vsctl',
          args: [`--db=${ovs}`, '--timeout=30', 'wait-until', 'interface', n.veth, 'external_ids:ovn-installed=true'],
        },
      ]);
    },
    del: (pod) => {
      const n = byPod.get(pod.containerId);
      if (n === undefined) return Promise.reject(new Error(`CLI DEL for ${pod.containerId} without an ADD`));
      byPod.delete(pod.containerId);
      return runSteps(pod, [
        { label: 'ovs-vsctl del-port', file: 'ovs-vsctl', args: [`--db=${ovs}`, 'del-port', BRIDGE, n.veth] },
        { label: 'ip link del VETH (node netns)', file: 'ip', args: ['-n', node, 'link', 'del', n.veth] },
        { label: 'ovn-nbctl lsp-del', file: 'ovn-nbctl', args: [`--db=${nb}`, 'lsp-del', n.port] },
      ]);
    },
  };
}
