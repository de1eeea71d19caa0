// OVSDB relay servers (ovsdb-server `relay:DB:REMOTES`, ovsdb(7) "Relay Service Model") in front
// of a raft cluster or a standalone server, for integration tests and benches.

import { execa } from 'execa';
import { OvsdbServerProcess, freePort, makeTempDir } from './ovsdb-server.ts';
import type { Teardown } from './ovsdb-server.ts';

export interface RelayTier {
  readonly relays: readonly OvsdbServerProcess[];
  /** tcp:127.0.0.1:PORT of each relay. */
  readonly remotes: readonly string[];
}

/**
 * `count` relay ovsdb-servers of `database` in front of `sources` (a cluster's or a standalone
 * server's tcp remotes), each a child process killed at teardown; resolves once each serves the
 * database (its _Server row says connected to the source).
 */
export async function startOvsdbRelays(t: Teardown, database: string, sources: readonly string[], count: number): Promise<RelayTier> {
  const dir = await makeTempDir(t);
  const relay = `relay:${database}:${sources.join(',')}`;
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  const relays = [...ports].map((port, i) => new OvsdbServerProcess(dir, `relay${i}`, port, undefined, relay));
  t.teardown(() => Promise.all(relays.map((server) => server.kill())));
  await Promise.all(relays.map((server) => server.start()));
  await Promise.all(
    relays.map((server) => execa('ovsdb-client', ['--timeout=10', 'wait', server.unixRemote, database, 'connected'])),
  );
  return { relays, remotes: relays.map((server) => server.tcpRemote) };
}
