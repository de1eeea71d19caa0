/**
 * Traffic between test network namespaces: ping (busybox) and a TCP transfer with Node's own
 * net module, run inside the namespaces with `ip netns exec`. Nothing leaves the namespaces.
 */
import { execa } from 'execa';
import type { Netns } from './netns.ts';

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
