// The compiled executable, run as a runtime runs it, follows a config's `socket` (or, as another
// plugin's IPAM, `ipam.socket`) only under /run/ovn-multinet/, and only to a root listener: a
// listener elsewhere, or one that is not root reached through a symlink there, gets code 7 naming
// the field and never sees a byte of the request (docs/security.md, "The CNI executable's sockets").
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { rootSkipReason } from '../helpers/netns.ts';
import { CNI_BINARY, runCni, socketDir, type CniCall } from '../helpers/node.ts';

const skip = rootSkipReason() || (existsSync(CNI_BINARY) ? false : 'needs dist/ovn-multinet (npm run build)');
const NOBODY = 65534;
const add: CniCall = { command: 'ADD', containerId: 'sockpeer', netns: '/var/run/netns/sockpeer', ifName: 'net1' };
const plugin = (socket: string): Record<string, unknown> => ({ cniVersion: '1.1.0', name: 'red', type: 'ovn-multinet', socket });
const ipamMode = (socket: string): Record<string, unknown> => ({ cniVersion: '1.1.0', name: 'red', type: 'macvlan', ipam: { type: 'ovn-multinet', socket } });

/** A root listener that would answer like a daemon, and counts the bytes it is sent. */
async function rootListener(path: string): Promise<{ received: () => number; server: Server }> {
  let received = 0;
  const server = createServer((conn) => {
    conn.on('data', (chunk: Buffer) => {
      received += chunk.length;
      conn.end('{"exitCode":0,"stdout":"{}"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { received: () => received, server };
}

t.test('sockets outside /run/ovn-multinet/ are refused before connecting', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omsock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const outside = join(dir, 'cni.sock');
  const listener = await rootListener(outside);
  t.teardown(() => new Promise<void>((r) => listener.server.close(() => r())));
  const run = await socketDir('omsp-');
  t.teardown(() => rm(run, { recursive: true, force: true }));
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a root listener in /tmp', plugin(outside), 'socket'],
    ['the same, as the IPAM plugin', ipamMode(outside), 'ipam.socket'],
    ['escaping with ..', plugin(`${run}/../../..${outside}`), 'socket'],
    ['a sibling directory', plugin('/run/ovn-multinet-x/cni.sock'), 'socket'],
  ];
  for (const [name, config, field] of cases) {
    const out = await runCni(undefined, add, config);
    t.equal(out.exitCode, 1, `${name}: exit 1`);
    t.equal(out.json?.['code'], 7, `${name}: code 7: ${out.stdout}`);
    t.equal(out.json?.['msg'], `${field}: must be a clean path under /run/ovn-multinet/`, `${name}: names ${field}`);
  }
  t.equal(listener.received(), 0, 'the listener outside was never sent anything');
});

t.test('a listener that is not root is refused without sending the request', { skip }, async (t) => {
  // The non-root process cannot reach root's 0700 /run/ovn-multinet: it listens in a directory of
  // its own, and a symlink under /run/ovn-multinet/ leads there (the lexical rule passes).
  const home = await mkdtemp(join(tmpdir(), 'omnobody-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  await chmod(home, 0o755);
  await chown(home, NOBODY, NOBODY);
  const listening = join(home, 'p.sock');
  const script = [
    "const net = require('node:net');",
    'net.createServer((c) => { let n = 0; c.on("data", (d) => { n += d.length; }); c.on("close", () => console.log(`received ${n}`)); })',
    `  .listen(${JSON.stringify(listening)}, () => console.log('ready'));`,
  ].join('\n');
  const child = spawn(process.execPath, ['-e', script], { uid: NOBODY, gid: NOBODY, cwd: home, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => String((await lines.next()).value);
  t.equal(await next(), 'ready', 'the uid 65534 listener is up');

  const run = await socketDir('omsp-');
  t.teardown(() => rm(run, { recursive: true, force: true }));
  const link = join(run, 'cni.sock');
  await symlink(listening, link);
  for (const [config, field] of [[plugin(link), 'socket'], [ipamMode(link), 'ipam.socket']] as const) {
    const out = await runCni(undefined, add, config);
    t.equal(out.exitCode, 1, `${field}: exit 1`);
    t.equal(out.json?.['code'], 7, `${field}: code 7: ${out.stdout}`);
    t.equal(out.json?.['msg'], `${field}: the socket's listener is not root`, `${field}: names the field`);
    t.match(String(out.json?.['details']), `uid ${NOBODY}`, 'details name the uid');
    t.equal(await next(), 'received 0', `${field}: the listener got nothing`);
  }
});
