// The client against scripted in-process servers on unix sockets: paths that a
// real ovsdb-server does not take (no monitor_cond, leadership reported by _Server).

import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import { OvsdbNotConnectedError } from '../../daemon/errors.ts';
import { JsonFrameParser } from '../../daemon/ovsdb/jsonrpc.ts';
import { isJsonObject } from '../../daemon/ovsdb/json.ts';
import { parseUuid } from '../../daemon/ovsdb/notation.ts';
import { select } from '../../daemon/ovsdb/ops.ts';
import type { Teardown } from '../helpers/ovsdb-server.ts';

const B1 = parseUuid('00000000-0000-4000-8000-0000000000b1');
const SR = parseUuid('00000000-0000-4000-8000-0000000000f1');

const schema = {
  name: 'Test',
  version: '1.0.0',
  tables: { Bridge: { columns: { name: { type: 'string' } } } },
};
const serverSchema = {
  name: '_Server',
  version: '1.2.0',
  tables: {
    Database: {
      columns: {
        name: { type: 'string' },
        model: { type: { key: { type: 'string', enum: ['set', ['standalone', 'clustered', 'relay']] } } },
        connected: { type: 'boolean' },
        leader: { type: 'boolean' },
      },
    },
  },
};

type Reply = { result: unknown } | { error: string };
type Handler = (method: string, params: unknown[]) => Reply | [Reply, ...object[]];

/** A server that answers each request with `handler`; extra objects are written in the same chunk. */
async function fakeServer(t: Teardown, handler: Handler): Promise<{ remote: string; sockets: Set<net.Socket> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ovsdb-fake-'));
  const path = join(dir, 'db.sock');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const parser = new JsonFrameParser(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const message of parser.push(chunk)) {
        if (!isJsonObject(message) || typeof message['method'] !== 'string' || !Array.isArray(message['params'])) continue;
        const answer = handler(message['method'], message['params']);
        const [reply, ...extra] = Array.isArray(answer) ? answer : [answer];
        const response = 'error' in reply ? { result: null, error: reply.error } : { result: reply.result, error: null };
        socket.write([{ id: message['id'], ...response }, ...extra].map((m) => JSON.stringify(m)).join(''));
      }
    });
  });
  server.listen(path);
  await once(server, 'listening');
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { remote: `unix:${path}`, sockets };
}

function database(name: string, model: string, leader: boolean): object {
  return { name, model, connected: true, leader };
}

t.test('falls back to monitor and applies updates that arrive with the reply', async (t) => {
  const { remote } = await fakeServer(t, (method) => {
    switch (method) {
      case 'get_schema':
        return { result: schema };
      case 'monitor_cond':
        return { error: 'unknown method' };
      case 'monitor':
        return [
          { result: { Bridge: { [B1]: { new: { name: 'br-a' } } } } },
          { id: null, method: 'update', params: ['db', { Bridge: { [B1]: { old: { name: 'br-a' }, new: { name: 'br-b' } } } }] },
        ];
      case 'transact':
        return { result: [{ rows: [{ name: 'br-b' }] }] };
      default:
        return { error: 'unknown method' };
    }
  });
  const client = new OvsdbClient({ remotes: [remote], database: 'Test', monitor: { Bridge: [] }, echoIntervalMs: 0 });
  t.teardown(() => client.close());
  // `sent` tells whether a transaction went out (an ADD that sent none left nothing behind).
  let sent = 0;
  await t.rejects(client.transact([], AbortSignal.timeout(1000), () => sent++), OvsdbNotConnectedError, 'not started yet');
  t.equal(sent, 0, 'a transaction refused before it went out is not sent');
  client.start();
  await client.waitConnected(AbortSignal.timeout(2000));
  t.equal(client.remote, remote);
  const row = await client.waitForRow('Bridge', (r) => r['name'] === 'br-b', AbortSignal.timeout(1000));
  t.equal(row['_uuid'], B1);
  t.same(await client.transact([select('Bridge', [])], AbortSignal.timeout(1000), () => sent++), [{ rows: [{ name: 'br-b' }] }]);
  t.equal(sent, 1, 'one that went out is');
});

t.test('leaderOnly skips followers and leaves a server that loses leadership', async (t) => {
  const leading = [false, true];
  const servers = await Promise.all(
    leading.map((_, i) =>
      fakeServer(t, (method, params) => {
        if (method === 'get_schema') return { result: params[0] === '_Server' ? serverSchema : schema };
        if (method === 'monitor_cond' && params[0] === '_Server') {
          return { result: { Database: { [SR]: { initial: database('Test', 'clustered', leading[i]!) } } } };
        }
        if (method === 'monitor_cond') return { result: {} };
        return { error: 'unknown method' };
      }),
    ),
  );
  const remotes = servers.map((s) => s.remote);
  const client = new OvsdbClient({ remotes, database: 'Test', monitor: { Bridge: [] }, leaderOnly: true, echoIntervalMs: 0 });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(AbortSignal.timeout(2000));
  t.equal(client.remote, remotes[1], 'connected to the leader');

  // Leadership moves from server 1 to server 0; server 1 says so on its _Server monitor.
  leading[0] = true;
  leading[1] = false;
  const disconnected = once(client, 'disconnected');
  const reconnected = once(client, 'connected');
  for (const socket of servers[1]!.sockets) {
    const update = { Database: { [SR]: { modify: { leader: false } } } };
    socket.write(JSON.stringify({ id: null, method: 'update2', params: ['server', update] }));
  }
  const [reason] = (await disconnected) as [Error | undefined];
  t.match(reason, { code: 'OVSDB_NOT_LEADER' });
  t.same(await reconnected, [remotes[0]], 'reconnected to the new leader');
});
