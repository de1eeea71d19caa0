import { once } from 'node:events';
import net from 'node:net';
import { duplexPair } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Duplex } from 'node:stream';
import t from 'tap';
import {
  OvsdbInactivityError,
  OvsdbNotConnectedError,
  OvsdbProtocolError,
  OvsdbRpcError,
} from '../../daemon/errors.ts';
import { JsonFrameParser, JsonRpcConnection, SILENCE_CAP_INTERVALS, silenceBudgetMs } from '../../daemon/ovsdb/jsonrpc.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

t.test('frame parser', async (t) => {
  t.test('concatenated values in one chunk, with whitespace between', async (t) => {
    const parser = new JsonFrameParser(1024);
    t.same(parser.push(bytes('{"a":1}{"b":[2,{"c":3}]} \n\t[4]\r\n')), [{ a: 1 }, { b: [2, { c: 3 }] }, [4]]);
  });

  t.test('a value split at every byte', async (t) => {
    const text = '{"id":7,"result":["x",{"y":"}{]["}],"error":null}{"id":8}';
    const parser = new JsonFrameParser(1024);
    const values: unknown[] = [];
    for (const byte of bytes(text)) values.push(...parser.push(Buffer.from([byte])));
    t.same(values, [{ id: 7, result: ['x', { y: '}{][' }], error: null }, { id: 8 }]);
  });

  t.test('braces, brackets, quotes and backslashes inside strings', async (t) => {
    const value = { s: 'a"}\\', t: '\\"{[', u: '\\\\', v: 'x\\"]}"y' };
    const text = JSON.stringify(value);
    const parser = new JsonFrameParser(1024);
    t.same(parser.push(bytes(text + text)), [value, value]);
    const split = new JsonFrameParser(1024);
    const cut = text.indexOf('\\') + 1; // between a backslash and the character it escapes
    t.same([...split.push(bytes(text.slice(0, cut))), ...split.push(bytes(text.slice(cut)))], [value]);
  });

  t.test('a multi-byte character split across chunks', async (t) => {
    const all = bytes('{"name":"żółw→🐢"}');
    const parser = new JsonFrameParser(1024);
    const values = [...parser.push(all.subarray(0, 11)), ...parser.push(all.subarray(11, 12)), ...parser.push(all.subarray(12))];
    t.same(values, [{ name: 'żółw→🐢' }]);
  });

  t.test('the size cap counts a value across chunks', async (t) => {
    const parser = new JsonFrameParser(16);
    t.same(parser.push(bytes('{"a":"0123456"}')), [{ a: '0123456' }]); // 15 bytes
    const big = new JsonFrameParser(16);
    t.same(big.push(bytes('{"a":"0123')), []);
    t.throws(() => big.push(bytes('45678"}')), OvsdbProtocolError);
    t.throws(() => new JsonFrameParser(8).push(bytes('{"a":"0123')), OvsdbProtocolError);
  });

  t.test('garbage between values and invalid JSON', async (t) => {
    t.throws(() => new JsonFrameParser(64).push(bytes('{"a":1} 5')), OvsdbProtocolError);
    t.throws(() => new JsonFrameParser(64).push(bytes('"x"')), OvsdbProtocolError);
    t.throws(() => new JsonFrameParser(64).push(bytes('{"a":}')), OvsdbProtocolError);
  });
});

/** A connection on one end of an in-memory pair; the test plays the server on the other. */
function pair(echoIntervalMs = 0): {
  conn: JsonRpcConnection;
  peer: Duplex;
  notifications: Array<[string, unknown]>;
  received: (count?: number) => Promise<unknown[]>;
} {
  const [ours, peer] = duplexPair();
  const notifications: Array<[string, unknown]> = [];
  const conn = new JsonRpcConnection(ours, {
    maxMessageBytes: 1 << 20,
    echoIntervalMs,
    onNotification: (method, params) => notifications.push([method, params]),
  });
  const parser = new JsonFrameParser(1 << 20);
  const inbox: unknown[] = [];
  peer.on('data', (chunk: Buffer) => inbox.push(...parser.push(chunk)));
  // Waits for `count` more messages from the connection and takes them.
  const received = async (count = 1): Promise<unknown[]> => {
    while (inbox.length < count) await once(peer, 'data');
    return inbox.splice(0, count);
  };
  return { conn, peer, notifications, received };
}

t.test('connection', async (t) => {
  t.test('request and reply, matched by id', async (t) => {
    const { conn, peer, received } = pair();
    const signal = AbortSignal.timeout(1000);
    const first = conn.request('list_dbs', [], signal);
    const second = conn.request('get_schema', ['X'], signal);
    const sent = await received(2);
    t.same(sent, [
      { id: 1, method: 'list_dbs', params: [] },
      { id: 2, method: 'get_schema', params: ['X'] },
    ]);
    peer.write('{"id":2,"result":{"name":"X"},"error":null}{"id":1,"result":["X"],"error":null}');
    t.same(await first, ['X']);
    t.same(await second, { name: 'X' });
    conn.close();
    t.equal(await conn.closed, undefined);
  });

  t.test('an error reply rejects with OvsdbRpcError', async (t) => {
    const { conn, peer, received } = pair();
    const signal = AbortSignal.timeout(1000);
    const plain = conn.request('monitor_cond', [], signal);
    const detailed = conn.request('get_schema', ['nope'], signal);
    await received(2);
    peer.write('{"id":1,"result":null,"error":"unknown method"}');
    peer.write('{"id":2,"result":null,"error":{"error":"unknown database","details":"get_schema request specifies unknown database nope"}}');
    await t.rejects(plain, new OvsdbRpcError('monitor_cond', 'unknown method', undefined));
    await t.rejects(detailed, { name: 'OvsdbRpcError', error: 'unknown database', details: /unknown database nope/ });
    conn.close();
  });

  t.test('answers the peer\'s echo and passes notifications on in order', async (t) => {
    const { conn, peer, notifications, received } = pair();
    peer.write('{"id":"e1","method":"echo","params":[]}{"id":null,"method":"update2","params":["db",{}]}');
    peer.write('{"id":9,"method":"frobnicate","params":[]}');
    const replies = await received(2);
    t.same(replies, [
      { id: 'e1', result: [], error: null },
      { id: 9, result: null, error: 'unknown method' },
    ]);
    t.same(notifications, [['update2', ['db', {}]]]);
    conn.close();
  });

  t.test('abort rejects with the signal reason and the late reply is ignored', async (t) => {
    const { conn, peer, received } = pair();
    const controller = new AbortController();
    const pending = conn.request('transact', ['db'], controller.signal);
    await received();
    const reason = new Error('deadline');
    controller.abort(reason);
    await t.rejects(pending, reason);
    peer.write('{"id":1,"result":[],"error":null}');
    const next = conn.request('transact', ['db'], AbortSignal.timeout(1000));
    await received();
    peer.write('{"id":2,"result":[{}],"error":null}');
    t.same(await next, [{}]);
    await t.rejects(conn.request('x', [], AbortSignal.abort(reason)), reason);
    conn.close();
  });

  t.test('pending requests fail with OvsdbNotConnectedError when the peer closes', async (t) => {
    const { conn, peer, received } = pair();
    const pending = conn.request('transact', ['db'], AbortSignal.timeout(1000));
    await received();
    peer.destroy();
    await t.rejects(pending, OvsdbNotConnectedError);
    await conn.closed;
    await t.rejects(conn.request('transact', ['db'], AbortSignal.timeout(1000)), OvsdbNotConnectedError);
  });

  t.test('a malformed message closes the connection with OvsdbProtocolError', async (t) => {
    const { conn, peer, received } = pair();
    const pending = conn.request('transact', ['db'], AbortSignal.timeout(1000));
    await received();
    peer.write('{"id":1}');
    await t.rejects(pending, { name: 'OvsdbNotConnectedError', cause: { name: 'OvsdbProtocolError' } });
    t.type(await conn.closed, OvsdbProtocolError);
  });

  t.test('echo probes at 1, 2, 4 and 8 intervals of silence; a peer silent for the cap is dropped', async (t) => {
    const { conn, received } = pair(40);
    const started = performance.now();
    const echo = { id: 'probe', method: 'echo', params: [] };
    t.same(await received(4), [echo, echo, echo, echo], 'one echo each time the silence allowed doubles');
    t.ok(performance.now() - started >= 8 * 40, 'the fourth after eight intervals');
    t.type(await conn.closed, OvsdbInactivityError);
    t.ok(performance.now() - started >= SILENCE_CAP_INTERVALS * 40, `not dropped before ${SILENCE_CAP_INTERVALS} intervals`);
  });

  t.test('a busy peer that answers late keeps its session, with a warning and a word when it answers', async (t) => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const [ours, peer] = duplexPair();
    const conn = new JsonRpcConnection(ours, { maxMessageBytes: 1 << 20, echoIntervalMs: 40, logger, onNotification: () => undefined });
    const reply = conn.request('transact', ['db'], AbortSignal.timeout(5000));
    // Silent for five intervals: the old probe dropped a peer after two or three.
    await sleep(5 * 40);
    t.match(lines, [{ level: 40, msg: /busy/, silentMs: Number }], 'warned once that the peer is busy');
    peer.write('{"id":1,"result":[{}],"error":null}');
    t.same(await reply, [{}], 'the late reply arrives');
    t.match(lines.at(-1), { level: 30, msg: /answers again/ }, 'and it is told that the peer answers');
    t.ok((lines.at(-1)?.['silentMs'] as number) >= 5 * 40, 'after how long a silence');
    // Still alive: a second request is answered on the same connection.
    const again = conn.request('list_dbs', [], AbortSignal.timeout(5000));
    peer.write('{"id":2,"result":["db"],"error":null}');
    t.same(await again, ['db']);
    conn.close();
    t.equal(await conn.closed, undefined, 'closed by us, not by the probe');
  });
});

t.test('our own event loop held up past the cap is not the peer\'s silence: input waiting unread is read first', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  const [peer] = await accepted;
  const conn = new JsonRpcConnection(socket, { maxMessageBytes: 1 << 20, echoIntervalMs: 40, onNotification: () => undefined });
  let dropped: Error | undefined;
  void conn.closed.then((reason) => (dropped = reason));
  const reply = conn.request('list_dbs', [], AbortSignal.timeout(5000));
  await once(peer, 'data');
  peer.write('{"id":1,"result":["db"],"error":null}');
  // The reply sits in the kernel while this process computes for longer than the cap (480 ms).
  const until = performance.now() + SILENCE_CAP_INTERVALS * 40 + 200;
  while (performance.now() < until) {
    // busy
  }
  t.same(await reply, ['db'], 'the reply is read');
  await sleep(20);
  t.equal(dropped, undefined, 'and the connection was not dropped');
  conn.close();
  peer.destroy();
});

t.test('silence budget: 1, 2, 4, 8 intervals, then the cap', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 10].map((echoes) => silenceBudgetMs(echoes, 100)), [100, 200, 400, 800, 1200, 1200, 1200]);
  t.equal(silenceBudgetMs(4, 1500), 4 * 4500, 'the daemon\'s default: 4 × --db-inactivity-probe (interval 1.5 s)');
});
