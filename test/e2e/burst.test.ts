// A burst as after a node reboot: BURST (200) concurrent ADDs through the CNI executable, each
// retried on code 11 as a runtime retries, then as many concurrent DELs. Every one succeeds, the
// daemon queues the ADDs beyond --max-parallel-requests instead of failing them, its peak RSS
// (VmHWM) stays within 300 MB, and it logs the event loop delay of the burst.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode, type TestNode } from '../helpers/node.ts';

const skip = e2eSkipReason();
const BURST = Number(process.env['BURST'] ?? 200);
const MAX_RSS_MB = 300;
const RETRIES = 10;

/** The command, retried on 11 (try again later) after a second, as kubelet retries a sandbox. */
async function withRetries(node: TestNode, call: Parameters<TestNode['cni']>[0], config: unknown): Promise<{ exitCode: number; stdout: string; tries: number }> {
  for (let tries = 1; ; tries++) {
    const out = await node.cni(call, config);
    if (out.json?.['code'] !== 11 || tries >= RETRIES) return { exitCode: out.exitCode, stdout: out.stdout, tries };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

t.test(`a burst of ${BURST} ADDs, then ${BURST} DELs`, { skip }, async (t) => {
  const node = await startNode(t, { daemon: { extraArgs: ['--max-parallel-requests', '32'] } });
  await node.sandbox.nbctl(['ls-add', 'burst', '--', 'set', 'logical_switch', 'burst', 'other_config:subnet=10.63.0.0/23']);
  const config = node.config('burst');
  const pid = node.daemon.child.pid;
  if (pid === undefined) throw new Error('no daemon pid');
  const pods: Netns[] = [];
  for (let i = 0; i < BURST; i++) pods.push(await createNetns(t));
  const calls = pods.map((pod, i) => ({ containerId: `burst-${i}`, netns: pod.path, ifName: 'net1' }));

  const addStart = Date.now();
  const adds = await Promise.all(calls.map((call) => withRetries(node, { command: 'ADD', ...call }, config)));
  const addMs = Date.now() - addStart;
  const failed = adds.filter((a) => a.exitCode !== 0);
  t.equal(failed.length, 0, `every ADD succeeded (first failure: ${failed[0]?.stdout ?? 'none'})`);
  const retried = adds.filter((a) => a.tries > 1).length;
  const ports = await node.switchPorts('burst');
  t.equal(ports.length, BURST, 'one logical switch port each');

  const delStart = Date.now();
  const dels = await Promise.all(calls.map((call) => withRetries(node, { command: 'DEL', ...call }, config)));
  const delMs = Date.now() - delStart;
  t.equal(dels.filter((d) => d.exitCode !== 0).length, 0, 'every DEL succeeded');
  t.same(await node.switchPorts('burst'), [], 'no port left');
  t.same(await node.noHostVeths(), [], 'no veth left');

  const rss = await peakRssMb(pid);
  t.ok(rss <= MAX_RSS_MB, `daemon peak RSS ${rss.toFixed(0)} MB (≤ ${MAX_RSS_MB} MB)`);
  const deadline = Date.now() + 15_000;
  let delay: Record<string, unknown> | undefined;
  while (delay === undefined && Date.now() < deadline) {
    delay = node.daemon.logs.find((l) => l['msg'] === 'event loop delay');
    if (delay === undefined) await new Promise((r) => setTimeout(r, 200));
  }
  t.match(delay, { p99Ms: Number, maxMs: Number }, 'the daemon logged its event loop delay');
  t.comment(`burst of ${BURST}: ADDs ${addMs} ms (${retried} retried on 11), DELs ${delMs} ms, daemon peak RSS ${rss.toFixed(0)} MB, event loop delay p50 ${String(delay?.['p50Ms'])} ms, p99 ${String(delay?.['p99Ms'])} ms, max ${String(delay?.['maxMs'])} ms`);
});
