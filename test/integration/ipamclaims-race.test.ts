// IPAMClaim reservations under contention, against a live NB ovsdb-server with ten independent
// clients (what ten nodes' daemons run: own connection, own monitor cache, the daemon's
// createLogicalPort): ten first pods of one new claim at once end with one reservation and one
// port, made by one of them and joined by one other as a live migration's target, the eight others
// refused (a migration is in flight); deleting the owner hands the port over to the target; plain allocations racing to empty the pool never take a reserved
// address; deleting a port frees its guard keys; released addresses go back to the pool.
import t from 'tap';
import { execa } from 'execa';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { createLogicalPort, deleteLogicalPort } from '../../daemon/ipam/allocate.ts';
import { findSwitch } from '../../daemon/ovn/switches.ts';
import { NB_MONITOR, type NbClient } from '../../daemon/ovn/nb.ts';
import { parseIpamSettings } from '../../daemon/ipam/pool.ts';
import { parsePortAddresses } from '../../daemon/ovn/entries.ts';
import { deletePortOps, portEntry } from '../../daemon/ovn/ports.ts';
import { releaseOps, reservationOf, reservationsOf } from '../../daemon/ipam/reservations.ts';
import { IpamKeys, OWNER_VALUE, OwnerKeys, TargetKeys } from '../../daemon/ovn/ids.ts';
import { NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';

const CLIENTS = 10;
const SWITCH = 'vmnet';
// .2 to .14: 13 addresses (the first is left for a gateway, the last is broadcast).
const SUBNET = '10.80.0.0/28';

t.test('IPAMClaim reservations under contention', async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const remote = server.unixRemote;
  await execa('ovn-nbctl', [`--db=${remote}`, 'ls-add', SWITCH, '--', 'set', 'logical_switch', SWITCH, `other_config:subnet=${SUBNET}`]);
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const client = modelClient(nbModel, NB_MONITOR, { remotes: [remote] });
      t.teardown(() => client.close());
      client.start();
      await client.waitConnected(AbortSignal.timeout(10_000));
      await client.cache.waitForRow('Logical_Switch', (r) => r.name === SWITCH, AbortSignal.timeout(10_000));
      return client;
    }),
  );
  const create = (nb: NbClient, name: string, ipamClaim?: string) => {
    const sw = findSwitch(nb, SWITCH);
    if (sw === undefined) throw new Error('no switch');
    return createLogicalPort(
      nb,
      {
        switchName: SWITCH,
        settings: parseIpamSettings(sw.otherConfig, sw.externalIds),
        name,
        portSecurity: true,
        externalIds: new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.containerId, name], [OwnerKeys.ifName, 'net1'], [OwnerKeys.node, `node-${name}`], [OwnerKeys.chassis, `chassis-${name}`]]),
        reconnected: async () => undefined,
        ...(ipamClaim === undefined ? {} : { ipamClaim }),
      },
      AbortSignal.timeout(30_000),
    );
  };
  const nb = clients[0];
  if (nb === undefined) throw new Error('no client');
  const current = () => {
    const sw = findSwitch(nb, SWITCH);
    if (sw === undefined) throw new Error('no switch');
    return sw;
  };
  /** Waits until `client`'s cache shows the switch with `count` reservations. */
  const reservationsSeen = (client: NbClient, count: number) =>
    client.cache.waitForRow('Logical_Switch', (r) => r.name === SWITCH && reservationsOf(r.external_ids).length === count, AbortSignal.timeout(5000));

  const attempts = await Promise.allSettled(clients.map((c, i) => create(c, `vm1-pod-${i}`, 'vms/vm1')));
  const firsts = attempts.flatMap((a, i) => (a.status === 'fulfilled' ? [{ ...a.value, pod: `vm1-pod-${i}` }] : []));
  const refused = attempts.flatMap((a) => (a.status === 'rejected' ? [a.reason as Error] : []));
  t.equal(firsts.length, 2, 'two pods of the claim got its port');
  t.same(refused.map((e) => e.name), Array(8).fill('MigrationInFlightError'), 'the eight others were refused: a migration is in flight');
  t.equal(new Set(firsts.map((f) => f.port.uuid)).size, 1, 'one port, shared');
  const entries = new Set(firsts.map((f) => portEntry(f.port)));
  t.equal(entries.size, 1, `the same addresses: ${[...entries].join(' | ')}`);
  await reservationsSeen(nb, 1);
  // Let a second reservation, if one slipped through, reach the cache too.
  await new Promise((r) => setTimeout(r, 100));
  t.equal(reservationsOf(current().externalIds).length, 1, 'one reservation');
  const reservation = reservationOf(current(), 'vms/vm1');
  const { mac, ips } = parsePortAddresses([...entries][0] ?? '');
  t.same(reservation, { claim: 'vms/vm1', mac, ips }, 'and it holds what the ports got');

  // The owner goes (the source pod of a migration): the target owns the port now.
  const [shared] = firsts;
  if (shared === undefined) throw new Error('no port');
  const ids = async (key: string) => (await execa('ovn-nbctl', [`--db=${remote}`, 'get', 'Logical_Switch_Port', shared.port.uuid, `external_ids:"${key}"`])).stdout.replace(/"/g, '');
  const owner = await ids(OwnerKeys.containerId);
  const target = await ids(TargetKeys.containerId);
  t.same([owner, target].sort(), firsts.map((f) => f.pod).sort(), 'owned by one, shared by the other');
  t.equal((await execa('ovn-nbctl', [`--db=${remote}`, 'get', 'Logical_Switch_Port', shared.port.uuid, 'options:requested-chassis'])).stdout.replace(/"/g, ''), `chassis-${owner},chassis-${target}`);
  await deleteLogicalPort(clients[7] ?? nb, { containerId: owner, ifName: 'net1' }, AbortSignal.timeout(5000));
  t.equal(await ids(OwnerKeys.containerId), target, 'the owner deleted: the target owns the port');
  t.equal((await execa('ovn-nbctl', [`--db=${remote}`, 'get', 'Logical_Switch_Port', shared.port.uuid, 'options'])).stdout, `{requested-chassis=chassis-${target}}`, "its chassis only, no activation strategy");

  // The VM's pods go; the reservation stays.
  await nb.cache.waitForRow('Logical_Switch_Port', (r) => r.external_ids.get(OwnerKeys.containerId) === target, AbortSignal.timeout(5000));
  await deleteLogicalPort(nb, { containerId: target, ifName: 'net1' }, AbortSignal.timeout(5000));
  const reservedIp = ips[0] ?? '';

  // Ten clients empty the pool at once: 12 of the 13 addresses, never the reserved one.
  const plain: string[] = [];
  const plainPorts: Array<Awaited<ReturnType<typeof create>>> = [];
  let exhausted = 0;
  let n = 0;
  await Promise.all(
    clients.map(async (c) => {
      for (;;) {
        try {
          const created = await create(c, `plain-${n++}`);
          const { port } = created;
          plainPorts.push(created);
          plain.push(parsePortAddresses(port.addresses[0] ?? '').ips[0] ?? '');
        } catch (err) {
          if ((err as Error).name !== 'PoolExhaustedError') throw err;
          exhausted++;
          return;
        }
      }
    }),
  );
  t.equal(exhausted, CLIENTS, 'every client ran out');
  t.equal(plain.length, 12, 'the other twelve addresses were handed out');
  t.equal(new Set(plain).size, plain.length, 'no duplicates');
  t.notOk(plain.includes(reservedIp), `the reserved ${reservedIp} went to nobody`);

  const back = await create(clients[3] ?? nb, 'vm1-pod-again', 'vms/vm1');
  t.equal(back.port.addresses[0], [...entries][0], 'the claim\'s next pod gets its addresses in a full pool');
  await nb.transact(deletePortOps(back.switchUuid, back.port), AbortSignal.timeout(5000));

  // Every address in use has its guard key: 12 ports' IP and MAC, the claim's IP and MAC.
  const guardKeys = () => [...current().externalIds].filter(([key]) => key.startsWith(IpamKeys.address));
  t.equal(guardKeys().length, 2 * 12 + 2, 'one guard key per address and MAC in use');

  // The claim is deleted: its addresses go back to the pool.
  if (reservation === undefined) return;
  await nb.transact(releaseOps(current().uuid, reservation), AbortSignal.timeout(5000));
  await reservationsSeen(nb, 0);
  t.same(reservationsOf(current().externalIds), [], 'released');
  t.same(guardKeys().filter(([, holder]) => holder.startsWith('ipam-claim:')), [], 'no key of the claim left behind');
  const other = clients[5] ?? nb;
  await reservationsSeen(other, 0);
  const freed = await create(other, 'after-release');
  t.equal(parsePortAddresses(freed.port.addresses[0] ?? '').ips[0], reservedIp, 'the freed address is handed out again');

  // Deleting the plain ports (each from another client's cache) frees their keys with them.
  await Promise.all(
    [...plainPorts, freed].map(async (p, i) => {
      const c = clients[i % CLIENTS] ?? nb;
      await c.cache.waitForRow('Logical_Switch_Port', (r) => r._uuid === p.port.uuid, AbortSignal.timeout(5000));
      await deleteLogicalPort(c, { containerId: p.port.name, ifName: 'net1' }, AbortSignal.timeout(5000));
    }),
  );
  await nb.cache.waitForRow('Logical_Switch', (r) => r.name === SWITCH && r.ports.length === 0, AbortSignal.timeout(5000));
  t.same(current().externalIds, new Map(), 'no key left behind');
});
