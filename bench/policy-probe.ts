/**
 * Traffic on the wire for the policy bench: a UDP sender in the client pod's netns sends one
 * datagram every `intervalMs` (one flow: the same source port throughout, so OVN's ACLs must
 * re-judge an established connection), each carrying its sequence number and the wall-clock time
 * it was sent; a receiver in the server pod's netns prints what arrives. Both are Node processes
 * started with `ip netns exec` and kept running; the bench reads the receiver's lines.
 *
 * A change that allows is enforced at the send time of the first datagram that arrives after
 * it; one that denies, at the send time of the last datagram that arrived plus one interval,
 * once nothing has arrived for `quietMs`.
 */
import { createInterface } from 'node:readline';
import type { Teardown } from '../test/helpers/netns.ts';
import type { ProbePod } from './policy-cluster.ts';
import { sleep, stamp } from './clock.ts';
import { netnsScript } from './spawn.ts';

const PORT = 7777;

const RECEIVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (b) => {
  if (b.length < 16) return;
  process.stdout.write(b.readUInt32BE(0) + ' ' + b.readDoubleBE(8) + ' ' + (performance.timeOrigin + performance.now()) + '\\n');
});
s.bind(Number(process.argv[1]), () => process.stdout.write('ready\\n'));
`;

const SENDER = `
const s = require('node:dgram').createSocket('udp4');
let seq = 0;
s.bind(Number(process.argv[2]), () => {
  setInterval(() => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(seq++ >>> 0, 0);
    b.writeDoubleBE(performance.timeOrigin + performance.now(), 8);
    s.send(b, Number(process.argv[2]), process.argv[1], () => {});
  }, Number(process.argv[3]));
});
`;

interface Arrival {
  readonly seq: number;
  /** Wall-clock ms (the sender's clock, the machine's). */
  readonly sentMs: number;
  readonly receivedMs: number;
}

export interface Flip {
  /** Change → enforced on the wire, ms (0 when faster than one interval). */
  readonly ms: number;
  /** Wall-clock ms of the flip. */
  readonly atMs: number;
}

export interface Prober {
  /** Waits until traffic passes (a datagram arrives after `fromMs`); undefined after `timeoutMs`. */
  allowed(fromMs: number, timeoutMs: number): Promise<Flip | undefined>;
  /** Waits until nothing has arrived for `quietMs` after `fromMs`; undefined when traffic still flows after `timeoutMs`. */
  denied(fromMs: number, quietMs: number, timeoutMs: number): Promise<Flip | undefined>;
  /** Datagrams received so far. */
  readonly received: number;
}

export async function startProber(t: Teardown, server: ProbePod, client: ProbePod, intervalMs: number): Promise<Prober> {
  const receiver = netnsScript(t, server.netns.name, RECEIVER, [String(PORT)]);
  const arrivals: Arrival[] = [];
  let received = 0;
  const ready = Promise.withResolvers<void>();
  receiver.once('exit', (code) => ready.reject(new Error(`the receiver exited with ${String(code)}`)));
  if (receiver.stdout === null) throw new Error('the receiver has no stdout');
  createInterface({ input: receiver.stdout }).on('line', (line) => {
    if (line === 'ready') {
      ready.resolve();
      return;
    }
    const [seq, sent, at] = line.split(' ').map(Number);
    if (seq === undefined || sent === undefined || at === undefined) return;
    arrivals.push({ seq, sentMs: sent, receivedMs: at });
    received++;
  });
  await ready.promise;
  netnsScript(t, client.netns.name, SENDER, [server.ip, String(PORT), String(intervalMs)]);
  const last = (): Arrival | undefined => arrivals[arrivals.length - 1];
  /** Only the latest arrivals matter: dropped between waits (never during one). */
  const trim = (): void => {
    if (arrivals.length > 10_000) arrivals.splice(0, arrivals.length - 1000);
  };
  return {
    get received() {
      return received;
    },
    allowed: async (fromMs, timeoutMs) => {
      trim();
      const deadline = fromMs + timeoutMs;
      // The first arrival after the change (arrivals are in order).
      let index = arrivals.length;
      while (index > 0 && (arrivals[index - 1]?.receivedMs ?? 0) > fromMs) index--;
      for (;;) {
        const first = arrivals[index];
        if (first !== undefined) return { ms: Math.max(0, first.sentMs - fromMs), atMs: first.sentMs };
        if (stamp().wallMs > deadline) return undefined;
        await sleep(2);
      }
    },
    denied: async (fromMs, quietMs, timeoutMs) => {
      trim();
      const deadline = fromMs + timeoutMs;
      for (;;) {
        const now = stamp().wallMs;
        const lastMs = last()?.receivedMs ?? 0;
        if (now - Math.max(lastMs, fromMs) >= quietMs) {
          const at = (last()?.sentMs ?? fromMs) + intervalMs;
          return { ms: Math.max(0, at - fromMs), atMs: Math.max(at, fromMs) };
        }
        if (now > deadline) return undefined;
        await sleep(5);
      }
    },
  };
}
