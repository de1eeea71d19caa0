// Converting old-format guard keys (issue 19 item 8) from several daemons at once, against a live
// NB ovsdb-server: five clients (own connection, own cache, as five nodes' daemons) convert the
// same switch at the same moment; the result is exactly one current guard key per address, no old
// key left, nothing lost, and an address whose current key names another holder is left alone
// with its old keys (and logged). The old layout is the one commit f23ba89 wrote (see
// test/e2e/upgrade.test.ts): per-port `ovn-multinet/addr:<a>` = the switch's uuid, and on the
// switch `ovn-multinet/reserved:<a>` = "ipam-claim" beside each reservation.
import t from 'tap';
import { execa } from 'execa';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel, NbTable } from '../../daemon/ovsdb/models/nb.ts';
import { eq, mutation } from '../../daemon/ovsdb/ops.ts';
import { namedUuid } from '../../daemon/ovsdb/notation.ts';
import { NB_MONITOR, nbOps, type NbClient } from '../../daemon/ovn/nb.ts';
import { findSwitch } from '../../daemon/ovn/switches.ts';
import { convertLegacyKeys } from '../../daemon/ipam/legacy-keys.ts';
import { createLogger } from '../../daemon/lib/log.ts';
import { NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';

const CLIENTS = 5;
const PORTS = 40;
const SWITCH = 'legacy';

t.test('five daemons convert one switch at once', async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const remote = server.unixRemote;
  await execa('ovn-nbctl', [`--db=${remote}`, 'ls-add', SWITCH, '--', 'set', 'logical_switch', SWITCH, 'other_config:subnet=10.90.0.0/24']);
  const connect = async (): Promise<NbClient> => {
    const client = modelClient(nbModel, NB_MONITOR, { remotes: [remote] });
    t.teardown(() => client.close());
    client.start();
    await client.waitConnected(AbortSignal.timeout(10_000));
    await client.cache.waitForRow(NbTable.Logical_Switch, (r) => r.name === SWITCH, AbortSignal.timeout(10_000));
    return client;
  };
  const writer = await connect();
  const sw = findSwitch(writer, SWITCH);
  if (sw === undefined) throw new Error('no switch');

  // Old-format ports .10 to .49, the last one's IP already held by another port in today's format
  // (two holders of one address, as a mixed-version window can leave them); two reservations.
  const expected = new Map<string, string>();
  const ports = Array.from({ length: PORTS }, (_, i) => {
    const mac = `0a:58:0a:5a:00:${(10 + i).toString(16).padStart(2, '0')}`;
    const ip = `10.90.0.${10 + i}`;
    const name = `old-${i}`;
    const ids = new Map([['ovn-multinet/owner', 'ovn-multinet'], ['ovn-multinet/container-id', name], ['ovn-multinet/ifname', 'net1'], ['ovn-multinet/node', `node-${i % 3}`], ['ovn-multinet/switch', sw.uuid], [`ovn-multinet/addr:${mac}`, sw.uuid], [`ovn-multinet/addr:${ip}`, sw.uuid]]);
    if (i < PORTS - 1) {
      expected.set(`ovn-multinet/addr:${mac}`, `port:${name}`);
      expected.set(`ovn-multinet/addr:${ip}`, `port:${name}`);
    } else {
      // The port's MAC converts; its IP does not.
      expected.set(`ovn-multinet/addr:${mac}`, `port:${name}`);
      expected.set(`ovn-multinet/addr:${ip}`, 'port:newer');
    }
    return { name, ids, entry: `${mac} ${ip}` };
  });
  const oldSwitchKeys = new Map([
    ['ovn-multinet/ipam-claim:vms/a', '0a:00:00:00:5a:01 10.90.0.201'],
    ['ovn-multinet/reserved:0a:00:00:00:5a:01', 'ipam-claim'],
    ['ovn-multinet/reserved:10.90.0.201', 'ipam-claim'],
    ['ovn-multinet/ipam-claim:vms/b', '0a:00:00:00:5a:02 10.90.0.202 fd90::202'],
    ['ovn-multinet/reserved:0a:00:00:00:5a:02', 'ipam-claim'],
    ['ovn-multinet/reserved:10.90.0.202', 'ipam-claim'],
    ['ovn-multinet/reserved:fd90::202', 'ipam-claim'],
    ['ovn-multinet/addr:10.90.0.49', 'port:newer'],
  ]);
  for (const [address, claim] of [['0a:00:00:00:5a:01', 'a'], ['10.90.0.201', 'a'], ['0a:00:00:00:5a:02', 'b'], ['10.90.0.202', 'b'], ['fd90::202', 'b']]) {
    expected.set(`ovn-multinet/addr:${address ?? ''}`, `ipam-claim:vms/${claim ?? ''}`);
  }
  await writer.transact(
    [
      ...ports.map((p) => nbOps.insert(NbTable.Logical_Switch_Port, { name: p.name, addresses: [p.entry], port_security: [p.entry], external_ids: p.ids }, p.name.replace('-', '_'))),
      nbOps.mutate(NbTable.Logical_Switch, [eq('_uuid', sw.uuid)], [mutation('ports', 'insert', ports.map((p) => namedUuid(p.name.replace('-', '_')))), mutation('external_ids', 'insert', oldSwitchKeys)]),
    ],
    AbortSignal.timeout(10_000),
  );

  const clients = await Promise.all(Array.from({ length: CLIENTS }, connect));
  const log = createLogger('silent');
  await Promise.all(
    clients.map(async (nb) => {
      await nb.cache.waitForRow(NbTable.Logical_Switch, (r) => r.name === SWITCH && r.ports.length === PORTS, AbortSignal.timeout(10_000));
      const seen = findSwitch(nb, SWITCH);
      if (seen === undefined) throw new Error('no switch');
      await convertLegacyKeys(nb, seen, log, AbortSignal.timeout(30_000));
    }),
  );
  t.pass('every client converted without an error');

  await writer.cache.waitForRow(NbTable.Logical_Switch, (r) => r.name === SWITCH && !r.external_ids.has('ovn-multinet/reserved:10.90.0.201'), AbortSignal.timeout(10_000));
  const after = findSwitch(writer, SWITCH);
  const keys = new Map([...(after?.externalIds ?? [])].filter(([k]) => k.startsWith('ovn-multinet/addr:') || k.startsWith('ovn-multinet/reserved:')));
  t.same(Object.fromEntries([...keys].sort()), Object.fromEntries([...expected].sort()), 'one current guard key per address, no old key on the switch');
  t.equal(after?.externalIds.get('ovn-multinet/ipam-claim:vms/b'), '0a:00:00:00:5a:02 10.90.0.202 fd90::202', 'the reservations as they were');
  const left = [...writer.cache.table(NbTable.Logical_Switch_Port).values()].flatMap((p) => [...p.external_ids.keys()].filter((k) => k.startsWith('ovn-multinet/addr:')).map((k) => `${p.name} ${k}`));
  t.same(left, ['old-39 ovn-multinet/addr:10.90.0.49'], 'no per-port key left but the conflicting one');
});
