// The daemon's view of a shared NB (daemon/ovn/scope.ts) against a real ovsdb-server: only this
// node's ports and their switches, plus the switches it serves with every port on them, reach
// its cache; nothing of other switches does, not even their changes. The selection shrinks:
// names of switches that do not exist, or no longer served, leave it.
import t from 'tap';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import type { RowChange } from '../../daemon/ovsdb/cache.ts';
import { eq, insert, mutate, mutation } from '../../daemon/ovsdb/ops.ts';
import { deletePortOps } from '../../daemon/ovn/ports.ts';
import { namedUuid, type Uuid } from '../../daemon/ovsdb/notation.ts';
import { NbScope, type ScopeOptions } from '../../daemon/ovn/scope.ts';
import { NB_MONITOR, type NbClient, type NbRows } from '../../daemon/ovn/nb.ts';
import { OwnerKeys, ScopeKeys } from '../../daemon/ovn/ids.ts';
import { guardPairs } from '../../daemon/ipam/guards.ts';
import { staleGuardKeys } from '../../daemon/ipam/stale-guards.ts';
import { NB_SCHEMA, startOvsdbServer, waitUntil } from '../helpers/ovsdb-server.ts';
import type { Teardown } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(5000);
const NODE = 'node-a';

async function client(t: Teardown, remote: string, scope?: NbScope): Promise<NbClient> {
  const nb = modelClient(nbModel, NB_MONITOR, { remotes: [remote], ...scope?.selection });
  scope?.attach(nb);
  t.teardown(() => nb.close());
  nb.start();
  await nb.waitConnected(deadline());
  return nb;
}

async function addSwitch(nb: NbClient, name: string): Promise<Uuid> {
  const [result] = await nb.transact([insert('Logical_Switch', { name })], deadline());
  if (result?.uuid === undefined) throw new Error('no uuid');
  return result.uuid;
}

/** A port on the switch, with these external_ids (none: someone else's port). */
async function guardKeys(nb: NbClient, switchName: string, pairs: ReadonlyMap<string, string>): Promise<void> {
  await nb.transact([mutate('Logical_Switch', [eq('name', switchName)], [mutation('external_ids', 'insert', pairs)])], deadline());
}

async function addPort(nb: NbClient, switchName: string, name: string, ids: ReadonlyMap<string, string> = new Map()): Promise<void> {
  await nb.transact(
    [insert('Logical_Switch_Port', { name, external_ids: ids }, 'p'), mutate('Logical_Switch', [eq('name', switchName)], [mutation('ports', 'insert', [namedUuid('p')])])],
    deadline(),
  );
}

const names = (nb: NbClient, table: 'Logical_Switch' | 'Logical_Switch_Port'): string[] => [...nb.cache.table(table).values()].map((row) => row.name).sort();
/** A row's name; '' for a row without one (DHCP_Options). */
const nameOf = (row: object | undefined): string => (row !== undefined && 'name' in row && typeof row.name === 'string' ? row.name : '');

t.test('the view of one node', async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const admin = await client(t, server.unixRemote);
  const served = await addSwitch(admin, 'served');
  await addSwitch(admin, 'other');
  const home = await addSwitch(admin, 'home');
  await addPort(admin, 'home', 'mine', new Map([[OwnerKeys.node, NODE]]));
  // Another node's port on this node's switch, with its guard key on the switch.
  await addPort(admin, 'home', 'elsewhere', new Map([[OwnerKeys.node, 'node-b'], [ScopeKeys.switch, home]]));
  await guardKeys(admin, 'home', guardPairs(['10.0.0.9'], { port: 'elsewhere' }));
  await addPort(admin, 'served', 'theirs', new Map([[OwnerKeys.node, 'node-b'], [ScopeKeys.switch, served]]));
  await addPort(admin, 'served', 'admin-made');
  await addPort(admin, 'other', 'unrelated', new Map([[OwnerKeys.node, 'node-b']]));

  const scope = new NbScope(NODE);
  const nb = await client(t, server.unixRemote, scope);
  await waitUntil(() => names(nb, 'Logical_Switch').includes('home'), 5000, 'the switch of this node\'s port');
  t.same(names(nb, 'Logical_Switch_Port'), ['elsewhere', 'mine'], 'at start: this node\'s ports, and the others on their switches');
  t.same(names(nb, 'Logical_Switch'), ['home'], 'and their switches');

  await scope.serve('served', deadline());
  t.same(names(nb, 'Logical_Switch').sort(), ['home', 'served'], 'a served switch is in view once serve() resolves');
  t.same(names(nb, 'Logical_Switch_Port'), ['admin-made', 'elsewhere', 'mine', 'theirs'], 'with every port on it: by the switch key, and by uuid');

  const seen: string[] = [];
  nb.cache.on('change', (c: RowChange<NbRows>) => seen.push(`${c.table}:${nameOf(c.new ?? c.old)}`));
  await addPort(admin, 'other', 'unrelated-2', new Map([[OwnerKeys.node, 'node-b']]));
  await addSwitch(admin, 'other-2');
  await addPort(admin, 'served', 'admin-made-2');
  await waitUntil(() => seen.includes('Logical_Switch_Port:admin-made-2'), 5000, 'a new foreign port of the served switch');
  t.notOk(seen.some((s) => s.includes('unrelated') || s.includes('other')), `nothing of other switches arrives (${seen.join(', ')})`);

  // Held as a request holds it: a switch made while the request runs arrives.
  await scope.holding('missing', async () => {
    await scope.serve('missing', deadline());
    t.notOk(names(nb, 'Logical_Switch').includes('missing'), 'serving a switch that does not exist is not an error');
    await addSwitch(admin, 'missing');
    await waitUntil(() => names(nb, 'Logical_Switch').includes('missing'), 5000, 'it arrives when it is made');
  });

  // Guard keys on a served switch: one of a port in view, one of a port that is gone.
  await guardKeys(admin, 'served', new Map([...guardPairs(['10.0.0.2'], { port: 'theirs' }), ...guardPairs(['10.0.0.3'], { port: 'gone' })]));
  await waitUntil(() => staleGuardKeys(nb, (uuid) => scope.seesAllPortsOf(uuid)).length > 0, 5000, 'the keys in the cache');
  t.same(staleGuardKeys(nb, (uuid) => scope.seesAllPortsOf(uuid)).map((k) => k.port), ['gone'], 'on a served switch, only the key of the port that is gone is stale');

  // A port removed: the switch is judged whole at the very update that removes it, before its
  // watch catches up (a scrape then still shows its gauges).
  const judged: boolean[] = [];
  const onRemoval = (c: RowChange<NbRows>): void => {
    if (c.table === 'Logical_Switch' && c.new?._uuid === served && c.old !== undefined && c.new.ports.length < c.old.ports.length) judged.push(scope.seesAllPortsOf(served));
  };
  nb.cache.on('change', onRemoval);
  const adminMade2 = [...admin.cache.table('Logical_Switch_Port').values()].find((p) => p.name === 'admin-made-2');
  if (adminMade2 === undefined) throw new Error('no port admin-made-2');
  await admin.transact(deletePortOps(served, { uuid: adminMade2._uuid, name: adminMade2.name }), deadline());
  await waitUntil(() => judged.length > 0, 5000, 'the removal to arrive');
  nb.cache.off('change', onRemoval);
  t.same(judged, [true], 'every port still in view as the removal arrives');

  const restartedScope = new NbScope(NODE);
  const restarted = await client(t, server.unixRemote, restartedScope);
  await waitUntil(() => names(restarted, 'Logical_Switch').includes('home'), 5000, 'the switch of this node\'s port, again');
  t.same(names(restarted, 'Logical_Switch_Port'), ['elsewhere', 'mine'], 'after a restart the view is rebuilt from this node\'s ports, with their switches\' others');
  t.same(staleGuardKeys(restarted, () => true), [], 'its switch is in view whole: the other node\'s key has its port');
  t.notOk(restartedScope.seesAllPortsOf(home), 'a switch not served is never judged');
});

t.test('the selection shrinks', async (t) => {
  const LINGER_MS = 500;
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const admin = await client(t, server.unixRemote);
  const served = await addSwitch(admin, 'served');
  await addSwitch(admin, 'used');
  await addPort(admin, 'served', 'mine', new Map([[OwnerKeys.node, NODE], [ScopeKeys.switch, served]]));
  const options: ScopeOptions = { lingerMs: LINGER_MS };
  const scope = new NbScope(NODE, undefined, options);
  const nb = await client(t, server.unixRemote, scope);
  await waitUntil(() => names(nb, 'Logical_Switch').includes('served'), 5000, 'the switch of this node\'s port');
  const base = scope.size;
  // Condition changes asked of the client: few, however many names leave.
  let changes = 0;
  const update = nb.updateConditions.bind(nb);
  nb.updateConditions = (signal) => {
    changes++;
    return update(signal);
  };

  // 1,000 ADDs naming switches that do not exist, as the handler runs them: each holds its name
  // while it looks the switch up.
  let peak = base;
  const missing = Array.from({ length: 1000 }, (_, i) => `missing-${i}`);
  for (let i = 0; i < missing.length; i += 100) {
    await Promise.all(missing.slice(i, i + 100).map((name) => scope.holding(name, async () => {
      await scope.serve(name, deadline());
      peak = Math.max(peak, scope.size);
    })));
  }
  t.ok(peak > base, `the names were in the selection while asked for (${peak} clauses, ${base} at the start)`);
  const asked = changes;
  await waitUntil(() => scope.size === base, 5000, 'the selection back to its base size');
  t.equal(scope.size, base, `back to ${base} clauses`);
  t.ok(changes - asked <= 5, `the 1,000 names left in ${changes - asked} condition changes`);

  // A switch a request used leaves once unused for the linger; one that carries a port of this
  // node stays.
  await scope.holding('served', () => scope.serve('served', deadline()));
  await scope.holding('used', () => scope.serve('used', deadline()));
  const released = performance.now();
  t.same(names(nb, 'Logical_Switch'), ['served', 'used'], 'both in view once served');
  await waitUntil(() => !names(nb, 'Logical_Switch').includes('used'), 5000, 'the unused switch to leave');
  const leftAfter = performance.now() - released;
  t.ok(leftAfter >= LINGER_MS, `the unused switch left after the linger (${Math.round(leftAfter)} ms ≥ ${LINGER_MS} ms)`);
  await new Promise((r) => setTimeout(r, 3 * LINGER_MS));
  t.same(names(nb, 'Logical_Switch'), ['served'], 'the switch with this node\'s port stays');
  t.ok(names(nb, 'Logical_Switch_Port').includes('mine'), 'with its ports');
  t.ok(scope.seesAllPortsOf(served), 'still served');

  // Its last port of this node gone, it leaves after the linger too.
  const mine = [...nb.cache.table('Logical_Switch_Port').values()].find((p) => p.name === 'mine');
  if (mine === undefined) throw new Error('no port mine');
  await admin.transact(deletePortOps(served, { uuid: mine._uuid, name: mine.name }), deadline());
  await waitUntil(() => names(nb, 'Logical_Switch').length === 0, 5000, 'the switch without a port of ours to leave');
  t.notOk(scope.seesAllPortsOf(served), 'no longer served');
});

t.test('without shrinking, every name asked for stays', async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const scope = new NbScope(NODE, undefined, { lingerMs: 100, shrink: false });
  await client(t, server.unixRemote, scope);
  const base = scope.size;
  for (let i = 0; i < 10; i++) await scope.holding(`missing-${i}`, () => scope.serve(`missing-${i}`, deadline()));
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(scope.size, base + 10, 'one clause per name, for ever');
});
