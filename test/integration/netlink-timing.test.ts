// Prints how long the netlink layer takes per pod (create veth pair + configure the pod end),
// one pod at a time and many at once, and checks concurrent pods do not mix up netns.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { deleteLink } from '../../daemon/netlink/link.ts';
import { inNetnsSync, openNetns, type NetnsHandle } from '../../daemon/netlink/netns.ts';
import { configurePodInterface, inspectPodInterface } from '../../daemon/netlink/pod.ts';
import { createVethPair } from '../../daemon/netlink/veth.ts';
import { createNetns, rootSkipReason, type Netns } from '../helpers/netns.ts';

const samples = Number(process.env['NETLINK_TIMING_SAMPLES'] ?? 30);
const concurrent = Number(process.env['NETLINK_TIMING_CONCURRENT'] ?? 20);
const tag = randomBytes(2).toString('hex');
const signal = (): AbortSignal => AbortSignal.timeout(10_000);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

interface Pod {
  ns: Netns;
  handle: NetnsHandle;
  host: string;
  address: string;
}

async function makePods(count: number, offset: number): Promise<Pod[]> {
  const pods: Pod[] = [];
  for (let i = offset; i < offset + count; i++) {
    const ns = await createNetns(undefined, 'nlt');
    pods.push({ ns, handle: await openNetns(ns.path), host: `nlt${tag}x${i}`, address: `10.50.${Math.floor(i / 250)}.${(i % 250) + 2}` });
  }
  return pods;
}

async function removePods(pods: Pod[]): Promise<void> {
  for (const pod of pods) {
    await pod.handle.close();
    await deleteLink(pod.host, signal());
    await pod.ns.remove();
  }
}

async function attach(pod: Pod): Promise<void> {
  const podMac = `0a:58:${randomBytes(4).toString('hex').replace(/(..)(?!$)/g, '$1:')}`;
  await createVethPair({ hostName: pod.host, podName: 'net1', podNetns: pod.handle, podMac, mtu: 1442, signal: signal() });
  await configurePodInterface({
    podNetns: pod.handle,
    podName: 'net1',
    addresses: [{ address: pod.address, prefixLength: 16 }, { address: `fd00:50::${pod.address.split('.').slice(2).join(':')}`, prefixLength: 64 }],
    routes: [{ destination: '0.0.0.0/0', gateway: '10.50.0.1' }],
    disableTxChecksum: true,
    signal: signal(),
  });
}

const skip = rootSkipReason();
if (skip !== false) {
  t.plan(0, skip);
} else {
  t.test('one pod at a time', async (tt) => {
    const pods = await makePods(samples, 0);
    tt.teardown(() => removePods(pods));
    const times: number[] = [];
    for (const pod of pods) {
      const start = performance.now();
      await attach(pod);
      times.push(performance.now() - start);
    }
    tt.comment(`create+configure one pod: median ${median(times).toFixed(2)} ms over ${samples} (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)})`);
    const [first] = pods;
    if (first !== undefined) {
      const switches = 1000;
      const start = performance.now();
      for (let i = 0; i < switches; i++) inNetnsSync(first.handle, () => 0);
      tt.comment(`setns into a pod netns and back: ${(((performance.now() - start) / switches) * 1000).toFixed(1)} µs`);
    }
    tt.equal(times.length, samples);
  });

  t.test(`${concurrent} pods at once keep to their own netns`, async (tt) => {
    const pods = await makePods(concurrent, samples);
    tt.teardown(() => removePods(pods));
    const start = performance.now();
    await Promise.all(pods.map(attach));
    tt.comment(`create+configure ${concurrent} pods concurrently: ${(performance.now() - start).toFixed(1)} ms total`);
    for (const pod of pods) {
      const state = await inspectPodInterface(pod.handle, 'net1', signal());
      tt.same(state?.addresses.find((a) => a.address.startsWith('10.')), { address: pod.address, prefixLength: 16 }, `${pod.ns.name} has its own address`);
      tt.equal(state?.txChecksum, false);
    }
  });
}
