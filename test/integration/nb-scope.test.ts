// The daemon's view of a shared NB (daemon/ovn/scope.ts) against a real ovsdb-server: only this
// node's ports and their switches, plus the switches it serves with every port on them, reach
// its cache; nothing of other switches does, not even their changes.
import t from 'tap';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import type { RowChange } from '../../daemon/ovsdb/cache.ts';
import { eq, insert, mutate, mutation } from '../../daemon/ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../../daemon/ovsdb/notation.ts';
import { NbScope } from '../../daemon/ovn/scope.ts';
import { NB_MONITOR, type NbClient, type NbRows } from '../../daemon/ovn/nb.ts';
import { OwnerKeys, ScopeKeys } from '../../daemon/ovn/ids.ts';
import { guardPairs } from '../../daemon/ipam/guards.ts';
import { staleGuardKeys } from '../../daemon/ipam/stale-guards.ts';
import { NB_SCHEMA, startOvsdbServer, waitUntil } from '../helpers/ovsdb-server.ts';
import type { Teardown } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(5000);
const NODE = 'node-a';

async function client(t: Teardown, remote: string, scope?: NbScope): Promise<NbClient> {
  const nb = modelClient(nbModel, NB_MONITOR, { remotes: [remote], ...(scope === undefined ? {} : { conditions: scope.conditions }) });
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
  t.same(names(nb, 'Logical_Switch_Port'), ['mine'], 'at start: this node\'s ports only');
  t.same(names(nb, 'Logical_Switch'), ['home'], 'and their switches');

  await scope.serve('served', deadline());
  t.same(names(nb, 'Logical_Switch').sort(), ['home', 'served'], 'a served switch is in view once serve() resolves');
  t.same(names(nb, 'Logical_Switch_Port'), ['admin-made', 'mine', 'theirs'], 'with every port on it: by the switch key, and by uuid');

  const seen: string[] = [];
  nb.cache.on('change', (c: RowChange<NbRows>) => seen.push(`${c.table}:${nameOf(c.new ?? c.old)}`));
  await addPort(admin, 'other', 'unrelated-2', new Map([[OwnerKeys.node, 'node-b']]));
  await addSwitch(admin, 'other-2');
  await addPort(admin, 'served', 'admin-made-2');
  await waitUntil(() => seen.includes('Logical_Switch_Port:admin-made-2'), 5000, 'a new foreign port of the served switch');
  t.notOk(seen.some((s) => s.includes('unrelated') || s.includes('other')), `nothing of other switches arrives (${seen.join(', ')})`);

  await scope.serve('missing', deadline());
  t.notOk(names(nb, 'Logical_Switch').includes('missing'), 'serving a switch that does not exist is not an error');
  await addSwitch(admin, 'missing');
  await waitUntil(() => names(nb, 'Logical_Switch').includes('missing'), 5000, 'it arrives when it is made');

  // Guard keys on a served switch: one of a port in view, one of a port that is gone.
  await guardKeys(admin, 'served', new Map([...guardPairs(['10.0.0.2'], { port: 'theirs' }), ...guardPairs(['10.0.0.3'], { port: 'gone' })]));
  await waitUntil(() => staleGuardKeys(nb, (uuid) => scope.seesAllPortsOf(uuid)).length > 0, 5000, 'the keys in the cache');
  t.same(staleGuardKeys(nb, (uuid) => scope.seesAllPortsOf(uuid)).map((k) => k.port), ['gone'], 'on a served switch, only the key of the port that is gone is stale');

  const restartedScope = new NbScope(NODE);
  const restarted = await client(t, server.unixRemote, restartedScope);
  await waitUntil(() => names(restarted, 'Logical_Switch').includes('home'), 5000, 'the switch of this node\'s port, again');
  t.same(names(restarted, 'Logical_Switch_Port'), ['mine'], 'after a restart the view is rebuilt from this node\'s ports');
  t.same(staleGuardKeys(restarted, () => true).map((k) => k.port), ['elsewhere'], 'its switch shows the other node\'s key without the port');
  t.same(staleGuardKeys(restarted, (uuid) => restartedScope.seesAllPortsOf(uuid)), [], 'so a switch not served is never judged: that key is not stale');
});
