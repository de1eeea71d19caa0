// The test harness itself: a sandbox starts, binds a port by hand, and stops without leaks.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import type { Test } from 'tap';
import { createNetns, run, uniqueName } from '../helpers/netns.ts';
import type { Netns } from '../helpers/netns.ts';
import { sandboxSkipReason, startSandbox } from '../helpers/sandbox.ts';
import type { Sandbox } from '../helpers/sandbox.ts';

const skip = sandboxSkipReason();
// A sandbox in the test's own netns waits while another one runs there (another test file,
// or someone's sandbox on a shared machine): allow for it.
t.setTimeout(180_000);

/** State letter from /proc/PID/status, or undefined once the process is gone. */
async function procState(pid: number): Promise<string | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return /^State:\s+(\S)/m.exec(status)?.[1];
  } catch {
    return undefined;
  }
}

/** ifindex of a link where ovs-vswitchd runs, or undefined if there is none (or no netns). */
async function ifindex(sb: Sandbox, name: string): Promise<number | undefined> {
  const ns = sb.env.SANDBOX_NETNS;
  if (ns !== '' && !existsSync(`/var/run/netns/${ns}`)) return undefined;
  const out = await run('ip', [...(ns === '' ? [] : ['-n', ns]), '-o', 'link', 'show']);
  for (const line of out.split('\n')) {
    const m = /^(\d+): ([^:@]+)[:@]/.exec(line);
    if (m?.[2] === name) return Number(m[1]);
  }
  return undefined;
}

interface Pod {
  readonly ns: Netns;
  readonly hostIf: string;
  readonly ip: string;
}

/**
 * A "pod": netns with eth0 (veth) whose host end sits where ovs-vswitchd runs, plugged into
 * br-int as the logical port `lsp` of switch `sw`.
 */
async function plugPod(tt: Test, sb: Sandbox, sw: string, lsp: string, mac: string, ip: string): Promise<Pod> {
  const ns = await createNetns(tt);
  const hostIf = uniqueName('omv');
  const hostNs = sb.env.SANDBOX_NETNS;
  const onHost = hostNs === '' ? [] : ['-n', hostNs];
  await run('ip', [...onHost, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
  tt.teardown(async () => {
    // Usually gone with the pod netns already.
    await run('ip', [...onHost, 'link', 'del', hostIf]).catch(() => undefined);
  });
  await run('ip', [...onHost, 'link', 'set', hostIf, 'up']);
  await ns.exec(['ip', 'link', 'set', 'eth0', 'address', mac]);
  await ns.exec(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await ns.exec(['ip', 'link', 'set', 'eth0', 'up']);
  await sb.nbctl(['--may-exist', 'lsp-add', sw, lsp, '--', 'lsp-set-addresses', lsp, `${mac} ${ip}`]);
  await sb.vsctl(['add-port', 'br-int', hostIf, '--', 'set', 'Interface', hostIf, `external_ids:iface-id=${lsp}`]);
  return { ns, hostIf, ip };
}

async function exercise(tt: Test, sb: Sandbox): Promise<void> {
  tt.match(sb.env.OVS_DB, /^unix:\//, 'OVS_DB is a unix socket');
  tt.match(sb.env.NB_DB, /^unix:\//, 'NB_DB is a unix socket');
  tt.equal(await sb.vsctl(['get', 'Bridge', 'br-int', 'datapath_type']), 'netdev');
  tt.match(await sb.sbctl(['--columns=name', '--bare', 'list', 'Chassis']), sb.name, 'chassis registered');

  const sw = uniqueName('sw');
  await sb.nbctl(['ls-add', sw]);
  const a = await plugPod(tt, sb, sw, 'pod-a', '0a:58:0a:00:00:05', '10.0.0.5');
  const b = await plugPod(tt, sb, sw, 'pod-b', '0a:58:0a:00:00:06', '10.0.0.6');
  for (const pod of [a, b]) {
    await sb.vsctl(['--timeout=10', 'wait-until', 'Interface', pod.hostIf, 'external_ids:ovn-installed="true"']);
    tt.pass(`${pod.hostIf}: ovn-installed`);
  }
  tt.equal(await sb.sbctl(['--bare', '--columns=chassis', 'find', 'Port_Binding', 'logical_port=pod-a']) !== '', true, 'pod-a bound');
  const ping = await a.ns.exec(['busybox', 'ping', '-c', '1', '-W', '2', b.ip]);
  tt.match(ping, /1 packets received/, 'pod-a pings pod-b across the logical switch');

  const pids = await sb.pids();
  const taps = [await ifindex(sb, 'br-int'), await ifindex(sb, 'ovs-netdev')];
  tt.ok(
    taps.every((i) => i !== undefined),
    'br-int and ovs-netdev taps exist while running',
  );

  await sb.stop();
  for (const pid of pids) {
    const state = await procState(pid);
    tt.ok(state === undefined || state === 'Z', `daemon ${pid} gone after stop (state ${state ?? 'none'})`);
  }
  // By ifindex: another sandbox in the same namespace may own taps of the same names by now.
  const after = [await ifindex(sb, 'br-int'), await ifindex(sb, 'ovs-netdev')];
  tt.notOk(
    after.some((i) => i !== undefined && taps.includes(i)),
    'no tap of this sandbox left behind',
  );
  await sb.stop(); // idempotent
}

t.test('sandbox in a private node netns', { skip }, async (tt) => {
  const started = Date.now();
  const sb = await startSandbox({ t: tt, netns: true });
  tt.comment(`start ${Date.now() - started} ms`);
  tt.ok(sb.netns, 'has its own netns');
  await exercise(tt, sb);
});

t.test('sandbox in the test netns', { skip }, async (tt) => {
  // Waits here while another sandbox runs in this namespace (another test file, say).
  const sb = await startSandbox({ t: tt });
  tt.equal(sb.netns, undefined);
  await exercise(tt, sb);
});

t.test('two chassis in two netns share one SB', { skip }, async (tt) => {
  const one = await startSandbox({ t: tt, netns: true, name: uniqueName('node') });
  const two = await startSandbox({ t: tt, netns: true, name: uniqueName('node'), sbDb: one.env.SB_DB, encapIp: '127.0.0.2' });
  const chassis = (await one.sbctl(['--columns=name', '--bare', 'list', 'Chassis'])).split(/\s+/).filter(Boolean);
  tt.same(chassis.sort(), [one.name, two.name].sort(), 'both chassis registered');
  await tt.rejects(two.nbctl(['show']), /no NB/, 'a joined sandbox has no NB');
  await two.stop();
  await one.stop();
});
