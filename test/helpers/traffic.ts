/**
 * Traffic between test network namespaces: ping (busybox), a TCP transfer, and TCP/UDP services
 * with a prober that says which of them answer (Node's own net and dgram modules), run inside
 * the namespaces with `ip netns exec`. Nothing leaves the namespaces.
 */
import { execa } from 'execa';
import type { Test } from 'tap';
import type { Netns, Teardown } from './netns.ts';

/** True when `count` pings from `from` (optionally from source `source`) to `to` all get answers. */
export async function ping(from: Netns, to: string, opts: { count?: number; source?: string } = {}): Promise<boolean> {
  const args = ['netns', 'exec', from.name, 'busybox', 'ping', '-c', String(opts.count ?? 2), '-W', '1', ...(opts.source === undefined ? [] : ['-I', opts.source]), to];
  const result = await execa('ip', args, { reject: false, timeout: 15_000 });
  return result.exitCode === 0;
}

const SERVER = `
const net = require('node:net');
let n = 0;
const s = net.createServer((c) => {
  c.on('data', (d) => { n += d.length; });
  c.on('end', () => { c.end(String(n)); s.close(); });
}).listen(Number(process.argv[2]), process.argv[1], () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(3), 20000).unref();
`;

const CLIENT = `
const net = require('node:net');
const c = net.connect(Number(process.argv[2]), process.argv[1], () => c.end(Buffer.alloc(Number(process.argv[3]), 7)));
let r = '';
c.on('data', (d) => { r += d; });
c.on('end', () => process.stdout.write(r));
c.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
setTimeout(() => process.exit(3), 20000).unref();
`;

/** Sends `bytes` over TCP from `client` to `server` listening on `address:port`; resolves with what the server counted. */
export async function tcpTransfer(server: Netns, client: Netns, address: string, bytes: number, port = 5201): Promise<number> {
  const node = process.execPath;
  const srv = execa('ip', ['netns', 'exec', server.name, node, '-e', SERVER, address, String(port)], { timeout: 25_000 });
  await new Promise<void>((resolve, reject) => {
    srv.stdout?.once('data', () => resolve());
    srv.catch(reject);
  });
  const cli = await execa('ip', ['netns', 'exec', client.name, node, '-e', CLIENT, address, String(port), String(bytes)], { timeout: 25_000 });
  await srv;
  return Number(cli.stdout);
}

/** What a series of pings got back: the sequence numbers answered, out of `sent`. */
export interface PingSeries {
  sent: number;
  answered: ReadonlySet<number>;
  /** Requests never answered. */
  lost: number;
  /** The longest run of consecutive unanswered requests. */
  longestGap: number;
  /** How long the series took, in ms (the real interval is elapsedMs / sent). */
  elapsedMs: number;
  output: string;
}

/**
 * `count` pings from `from` to `to`, one every `intervalS` seconds (busybox ping, as root), in
 * the background; resolves once the last answer had 2 s to come. With `stop`, the series ends
 * when `stop` resolves (SIGINT: ping reports what it sent), `count` being only an upper bound, so
 * a slow machine cannot end the series before the events it must cover.
 */
export async function pingSeries(from: Netns, to: string, count: number, intervalS: number, stop?: Promise<unknown>): Promise<PingSeries> {
  const started = performance.now();
  const child = execa('ip', ['netns', 'exec', from.name, 'busybox', 'ping', '-c', String(count), '-i', String(intervalS), '-W', '2', to], {
    reject: false,
    timeout: (count * intervalS + 30) * 1000,
  });
  void stop?.then(() => child.kill('SIGINT'));
  const r = await child;
  const elapsedMs = performance.now() - started;
  const transmitted = Math.min(count, Number(/(\d+) packets transmitted/.exec(r.stdout)?.[1] ?? count));
  const answered = new Set<number>();
  for (const m of r.stdout.matchAll(/seq=(\d+)/g)) answered.add(Number(m[1]));
  // Stopped: the requests of its last 200 ms had no time to be answered; they are not counted.
  let sent = transmitted;
  if (stop !== undefined) while (sent > 0 && transmitted - sent < 0.2 / intervalS && !answered.has(sent - 1)) sent--;
  let longestGap = 0;
  let run = 0;
  for (let seq = 0; seq < sent; seq++) {
    run = answered.has(seq) ? 0 : run + 1;
    longestGap = Math.max(longestGap, run);
  }
  const lost = [...Array(sent).keys()].filter((seq) => !answered.has(seq)).length;
  return { sent, answered, lost, longestGap, elapsedMs, output: `${r.stdout}${r.stderr}` };
}

/**
 * Readies a RARP request from `mac` out of interface `ifName` in `ns`, as QEMU announces a VM after
 * a live migration (opcode 3, "request reverse", sender and target hardware address the VM's),
 * through an AF_PACKET socket held by a python3 process started now; `send()` sends it at once
 * (no process start in between) and resolves once it is out.
 */
export async function armRarp(ns: Netns, ifName: string, mac: string): Promise<{ send(): Promise<void> }> {
  const script = [
    'import socket, sys',
    "mac = bytes.fromhex(sys.argv[2].replace(':', ''))",
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
    's.bind((sys.argv[1], 0))',
    'rarp = bytes([0, 1, 8, 0, 6, 4, 0, 3]) + mac + bytes(4) + mac + bytes(4)',
    "frame = (b'\\xff' * 6 + mac + bytes([0x80, 0x35]) + rarp).ljust(60, b'\\0')",
    "print('ready', flush=True)",
    'sys.stdin.readline()',
    's.send(frame)',
    "print('sent', flush=True)",
  ].join('\n');
  const child = execa('ip', ['netns', 'exec', ns.name, 'python3', '-c', script, ifName, mac], { timeout: 60_000, stdin: 'pipe' });
  const lines = (async function* () {
    let buffer = '';
    for await (const chunk of child.stdout) {
      buffer += String(chunk);
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        yield buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
      }
    }
  })();
  const next = async (want: string): Promise<void> => {
    const { value } = await lines.next();
    if (value !== want) throw new Error(`RARP sender: expected ${want}, got ${String(value)}: ${(await child.catch((e: unknown) => e)) as string}`);
  };
  await next('ready');
  return {
    send: async () => {
      child.stdin.write('go\n');
      await next('sent');
      await child;
    },
  };
}

const SERVICES = `
const net = require('node:net');
const dgram = require('node:dgram');
const ports = (arg) => arg.split(',').filter((s) => s !== '').map(Number);
const tcp = ports(process.argv[1]);
const udp = ports(process.argv[2]);
let pending = tcp.length + udp.length;
const ready = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
for (const port of tcp) {
  net.createServer((c) => { c.on('error', () => {}); c.end('ok'); }).listen({ port, host: '::', ipv6Only: false }, ready);
}
for (const port of udp) {
  const s = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(port, '::', ready);
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/**
 * Servers inside `ns` on every address (IPv4 and IPv6): each TCP port answers "ok" and closes,
 * each UDP port echoes. Resolves once all listen; they stop at teardown (or when the namespace goes).
 */
export async function startServices(t: Teardown, ns: Netns, ports: { tcp: readonly number[]; udp: readonly number[] }): Promise<void> {
  if (ports.tcp.length + ports.udp.length === 0) throw new Error('startServices: no port');
  const child = execa('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVICES, ports.tcp.join(','), ports.udp.join(',')], { stdin: 'pipe', reject: false });
  t.teardown(async () => {
    child.stdin.end();
    child.kill('SIGTERM');
    await child;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    void child.then((r) => reject(new Error(`services in ${ns.name} exited: ${r.stderr}`)));
  });
}

/** A TCP connect (and its "ok") or a UDP echo, the way reachable() tries it. */
export interface ServiceTarget {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

const PROBE = `
const net = require('node:net');
const dgram = require('node:dgram');
const targets = JSON.parse(process.argv[1]);
const ms = Number(process.argv[2]);
const one = (t) => new Promise((resolve) => {
  let settled = false;
  let cleanup = () => {};
  const done = (ok) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    cleanup();
    resolve(ok);
  };
  const timer = setTimeout(() => done(false), ms);
  if (t.protocol === 'tcp') {
    const c = net.connect({ port: t.port, host: t.address });
    let got = '';
    c.on('data', (d) => { got += d; });
    c.on('end', () => done(got === 'ok'));
    c.on('error', () => done(false));
    cleanup = () => c.destroy();
  } else {
    const s = dgram.createSocket(net.isIPv6(t.address) ? 'udp6' : 'udp4');
    s.on('message', () => done(true));
    s.on('error', () => done(false));
    const send = () => s.send(Buffer.from('probe'), t.port, t.address);
    send();
    const again = setInterval(send, 200);
    cleanup = () => { clearInterval(again); s.close(); };
  }
});
Promise.all(targets.map(one)).then((r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); });
`;

/**
 * From inside `from`, tries every target at once (a TCP connect that reads the server's "ok", or a
 * UDP datagram sent every 200 ms until echoed) and resolves with whether each answered within
 * `timeoutMs`. One process for all the targets.
 */
export async function reachable(from: Netns, targets: readonly ServiceTarget[], timeoutMs = 1000): Promise<boolean[]> {
  if (targets.length === 0) return [];
  const r = await execa('ip', ['netns', 'exec', from.name, process.execPath, '-e', PROBE, JSON.stringify(targets), String(timeoutMs)], { timeout: timeoutMs + 15_000 });
  const parsed: unknown = JSON.parse(r.stdout);
  if (!Array.isArray(parsed) || parsed.length !== targets.length || !parsed.every((v) => typeof v === 'boolean')) throw new Error(`reachable: unexpected output ${r.stdout}`);
  return parsed;
}

/** One ping from `from` to `to` (IPv4 or IPv6), answered within `timeoutS` seconds. */
export async function pingOnce(from: Netns, to: string, timeoutS = 1): Promise<boolean> {
  const family = to.includes(':') ? ['-6'] : [];
  const result = await execa('ip', ['netns', 'exec', from.name, 'busybox', 'ping', ...family, '-c', '1', '-W', String(timeoutS), to], { reject: false, timeout: 15_000 });
  return result.exitCode === 0;
}

/**
 * TCP throughput, in bits per second, of two streams from `client` to the iperf3 server started in
 * `server` on `address` (with `reverse`, from the server to the client), over `seconds` after a
 * first second left out (slow start, and a policer's burst); what the receiver counted. Two
 * streams fill a policed link more evenly than one (one backs off while the other sends).
 */
export async function iperf3Rate(server: Netns, client: Netns, address: string, opts: { seconds?: number; reverse?: boolean; port?: number } = {}): Promise<number> {
  const port = String(opts.port ?? 5202);
  const seconds = opts.seconds ?? 3;
  const srv = execa('ip', ['netns', 'exec', server.name, 'iperf3', '--server', '--one-off', '--bind', address, '--port', port], { reject: false, timeout: (seconds + 30) * 1000 });
  // iperf3 prints nothing usable before it listens: try until the client connects.
  let out = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    const cli = await execa('ip', ['netns', 'exec', client.name, 'iperf3', '--client', address, '--port', port, '--time', String(seconds), '--omit', '1', '--parallel', '2', '--json', ...(opts.reverse === true ? ['--reverse'] : [])], { reject: false, timeout: (seconds + 20) * 1000 });
    out = cli.stdout;
    if (cli.exitCode === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await srv;
  const parsed = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  const rate = parsed.end?.sum_received?.bits_per_second;
  if (rate === undefined) throw new Error(`iperf3 to ${address}: ${parsed.error ?? out}`);
  return rate;
}

export const MBIT = 1_000_000;

/**
 * Asserts that TCP runs within 10 % of `limit` (bits/s). A run that misses is measured once more
 * (the machine is shared: a busy moment slows one run), and both results are reported.
 */
export async function rateWithin(t: Pick<Test, 'ok'>, measure: () => Promise<number>, limit: number, what: string): Promise<void> {
  const close = (rate: number): boolean => Math.abs(rate - limit) <= limit * 0.1;
  const runs = [await measure()];
  if (!close(runs[0] ?? 0)) runs.push(await measure());
  t.ok(close(runs[runs.length - 1] ?? 0), `${what}: ${runs.map((r) => (r / MBIT).toFixed(2)).join(', then ')} Mbit/s, within 10 % of ${limit / MBIT} Mbit/s`);
}
