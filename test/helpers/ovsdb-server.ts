// Real ovsdb-server processes for integration tests, each in its own temp dir,
// as child processes (no --detach) so teardown can kill them by pid: a standalone
// database on a unix socket (and optionally 127.0.0.1 tcp), or a 3-member raft cluster
// (relay servers in front of either: ovsdb-relay.ts).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { TlsFiles } from '../../daemon/ovsdb/remote.ts';

/** The installed schemas, which the servers here are created with (unit tests: schemas.ts). */
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';

/** The part of a tap Test the helpers need. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export class OvsdbServerProcess {
  readonly dbFile: string;
  readonly unixPath: string;
  readonly ctlPath: string;
  readonly logPath: string;
  readonly tcpPort: number | undefined;
  readonly ssl: { readonly port: number; readonly server: TlsFiles; readonly client: TlsFiles } | undefined;
  /** `relay:DB:REMOTES` when this server relays a database instead of serving `dbFile`. */
  readonly relay: string | undefined;
  #child: ChildProcess | undefined;

  constructor(dir: string, name: string, tcpPort: number | undefined, ssl?: OvsdbServerProcess['ssl'], relay?: string) {
    this.dbFile = join(dir, `${name}.db`);
    this.unixPath = join(dir, `${name}.sock`);
    this.ctlPath = join(dir, `${name}.ctl`);
    this.logPath = join(dir, `${name}.log`);
    this.tcpPort = tcpPort;
    this.ssl = ssl;
    this.relay = relay;
  }

  get unixRemote(): string {
    return `unix:${this.unixPath}`;
  }

  get tcpRemote(): string {
    if (this.tcpPort === undefined) throw new Error('this server has no tcp port');
    return `tcp:127.0.0.1:${this.tcpPort}`;
  }

  get sslRemote(): string {
    if (this.ssl === undefined) throw new Error('this server has no ssl port');
    return `ssl:127.0.0.1:${this.ssl.port}`;
  }

  /** Starts the server and waits until its unix socket accepts connections. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error('already running');
    const args = [
      this.relay ?? this.dbFile,
      `--remote=punix:${this.unixPath}`,
      `--unixctl=${this.ctlPath}`,
      `--log-file=${this.logPath}`,
      '-vconsole:off',
    ];
    if (this.tcpPort !== undefined) args.push(`--remote=ptcp:${this.tcpPort}:127.0.0.1`);
    if (this.ssl !== undefined) {
      const { port, server } = this.ssl;
      args.push(`--remote=pssl:${port}:127.0.0.1`, `--private-key=${server.key}`, `--certificate=${server.cert}`, `--ca-cert=${server.ca}`);
    }
    const child = spawn('ovsdb-server', args, { stdio: 'ignore' });
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    await waitUntil(
      () => {
        if (this.#child !== child) throw new Error(`ovsdb-server exited, see ${this.logPath}`);
        return canConnect(this.unixPath);
      },
      5000,
      `ovsdb-server ${this.relay ?? this.dbFile}`,
    );
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: it keeps its sockets but answers nothing. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child?.kill(signal);
  }

  async appctl(...args: string[]): Promise<string> {
    const { stdout } = await execa('ovs-appctl', ['-t', this.ctlPath, ...args], { timeout: 5000 });
    return stdout;
  }
}

export interface StandaloneServer {
  readonly dir: string;
  readonly server: OvsdbServerProcess;
}

/**
 * A standalone database from `schema`, served on a unix socket, with `tcp` also on
 * 127.0.0.1, and with `ssl` also over TLS on 127.0.0.1 (certificates from a throwaway CA, or
 * the server's and client's files given).
 */
export async function startOvsdbServer(
  t: Teardown,
  schema: string,
  options: { tcp?: boolean; ssl?: boolean | { server: TlsFiles; client: TlsFiles } } = {},
): Promise<StandaloneServer> {
  const dir = await makeTempDir(t);
  const tcpPort = options.tcp === true ? await freePort() : undefined;
  const files = options.ssl === true ? await makeCertificates(dir) : options.ssl === false ? undefined : options.ssl;
  const ssl = files === undefined ? undefined : { port: await freePort(), ...files };
  const server = new OvsdbServerProcess(dir, 'db', tcpPort, ssl);
  t.teardown(() => server.kill());
  await execa('ovsdb-tool', ['create', server.dbFile, schema]);
  await server.start();
  return { dir, server };
}

export interface Cluster {
  readonly dir: string;
  readonly database: string;
  readonly members: readonly OvsdbServerProcess[];
  /** The client tcp remotes of all members. */
  readonly remotes: readonly string[];
  /** Index of the member that reports itself leader, among running unfrozen ones in `among`. */
  leader(among?: readonly number[]): Promise<number>;
}

/** A raft cluster of `size` members on 127.0.0.1, formed and with a leader elected. */
export async function startOvsdbCluster(t: Teardown, schema: string, size = 3): Promise<Cluster> {
  const dir = await makeTempDir(t);
  const database = await schemaName(schema);
  const raftPorts: number[] = [];
  const members: OvsdbServerProcess[] = [];
  // The kernel may hand out a port again once it is released: each one must be distinct.
  const taken = new Set<number>();
  const distinctPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  for (let i = 0; i < size; i++) {
    raftPorts.push(await distinctPort());
    members.push(new OvsdbServerProcess(dir, `member${i}`, await distinctPort()));
  }
  t.teardown(() => Promise.all(members.map((member) => member.kill())));
  const raft = (i: number): string => `tcp:127.0.0.1:${raftPorts[i]}`;
  await execa('ovsdb-tool', ['create-cluster', members[0]!.dbFile, schema, raft(0)]);
  for (let i = 1; i < size; i++) {
    await execa('ovsdb-tool', ['join-cluster', members[i]!.dbFile, database, raft(i), raft(0)]);
  }
  await Promise.all(members.map((member) => member.start()));
  const status = (member: OvsdbServerProcess): Promise<string> =>
    member.appctl('cluster/status', database).catch(() => '');
  await waitUntil(
    async () => (await Promise.all(members.map(status))).every((s) => s.includes('Status: cluster member')),
    10_000,
    'cluster formation',
  );
  const leader = async (among: readonly number[] = members.map((_, i) => i)): Promise<number> => {
    let found = -1;
    await waitUntil(
      async () => {
        const roles = await Promise.all(among.map((i) => status(members[i]!)));
        const leaders = among.filter((_, k) => roles[k]!.includes('Role: leader'));
        found = leaders.length === 1 ? leaders[0]! : -1;
        return found >= 0;
      },
      10_000,
      'a cluster leader',
    );
    return found;
  };
  await leader();
  return { dir, database, members, remotes: members.map((member) => member.tcpRemote), leader };
}

/** A CA and two certificates it signed, one for the server and one for the client. */
async function makeCertificates(dir: string): Promise<{ server: TlsFiles; client: TlsFiles }> {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await execa('openssl', ['req', '-x509', ...key, '-keyout', caKey, '-out', ca, '-days', '1', '-subj', '/CN=test-ca']);
  const issue = async (name: string): Promise<TlsFiles> => {
    const files = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`), ca };
    const csr = join(dir, `${name}.csr`);
    await execa('openssl', ['req', ...key, '-keyout', files.key, '-out', csr, '-subj', `/CN=${name}`]);
    await execa('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', files.cert, '-days', '1']);
    return files;
  };
  return { server: await issue('server'), client: await issue('client') };
}

export async function makeTempDir(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ovsdb-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function schemaName(schema: string): Promise<string> {
  const json: unknown = JSON.parse(await readFile(schema, 'utf8'));
  const name = typeof json === 'object' && json !== null && 'name' in json ? json.name : undefined;
  if (typeof name !== 'string') throw new Error(`${schema} has no name`);
  return name;
}

/** A tcp port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no tcp address');
  return address.port;
}

async function canConnect(path: string): Promise<boolean> {
  const socket = net.connect({ path });
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
