import t from 'tap';
import { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import { OvsdbConfigError } from '../../daemon/errors.ts';
import { dial, parseRemote } from '../../daemon/ovsdb/remote.ts';

const good: Array<[string, object]> = [
  ['unix:/run/openvswitch/db.sock', { scheme: 'unix', path: '/run/openvswitch/db.sock' }],
  ['tcp:127.0.0.1:6641', { scheme: 'tcp', host: '127.0.0.1', port: 6641 }],
  ['ssl:ovn-nb.example:6641', { scheme: 'ssl', host: 'ovn-nb.example', port: 6641 }],
  ['tcp:[::1]:6641', { scheme: 'tcp', host: '::1', port: 6641 }],
  ['tcp:127.0.0.1', { scheme: 'tcp', host: '127.0.0.1', port: 6640 }],
];
for (const [text, remote] of good) {
  t.test(`parses ${text}`, async (t) => {
    t.same(parseRemote(text), { ...remote, text });
  });
}

const bad = ['', 'unix:', '/run/db.sock', 'punix:/run/db.sock', 'http://x', 'tcp:', 'tcp:host:0', 'tcp:host:70000', 'tcp:host:port', 'tcp:::1:6641', 'ptcp:6641'];
for (const text of bad) {
  t.test(`rejects ${JSON.stringify(text)}`, async (t) => {
    t.throws(() => parseRemote(text), OvsdbConfigError);
  });
}

t.test('the client checks its options at construction', async (t) => {
  const base = { database: 'Open_vSwitch', monitor: {} };
  t.throws(() => new OvsdbClient({ ...base, remotes: ['unix:/a', 'udp:1.2.3.4:5'] }), OvsdbConfigError, 'unknown scheme');
  t.throws(() => new OvsdbClient({ ...base, remotes: [] }), OvsdbConfigError, 'no remotes');
  t.throws(() => new OvsdbClient({ ...base, remotes: ['ssl:127.0.0.1:6641'] }), OvsdbConfigError, 'ssl without tls');
  t.throws(() => new OvsdbClient({ ...base, database: '', remotes: ['unix:/a'] }), OvsdbConfigError, 'no database');
  t.doesNotThrow(() => new OvsdbClient({ ...base, remotes: ['ssl:127.0.0.1:6641'], tls: { key: 'k', cert: 'c', ca: 'a' } }));
});

t.test('dial fails cleanly', async (t) => {
  await t.rejects(dial(parseRemote('unix:/nonexistent/db.sock'), undefined, AbortSignal.timeout(1000)), { code: 'ENOENT' });
  const reason = new Error('stop');
  await t.rejects(dial(parseRemote('tcp:127.0.0.1:1'), undefined, AbortSignal.abort(reason)), reason);
  await t.rejects(dial(parseRemote('ssl:127.0.0.1:1'), undefined, AbortSignal.timeout(1000)), OvsdbConfigError);
});
