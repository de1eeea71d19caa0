// Upgrades (issue 19 item 8): an NB written by daemons older than the switch-level guard keys is
// converted when today's daemon starts (the switches of its node's ports) and when a request first
// serves a switch (the rest of it); allocation afterwards avoids every converted address, an old
// reservation whose claim has no port included; a second start changes nothing.
//
// The old layout is written here directly through OVSDB, key for key as the code at commit
// f23ba89 (the last before 40ef8b7 moved the guards onto the switch) wrote it:
//   daemon/ovn/ports.ts createPortOps: on the port, `ovn-multinet/addr:<MAC or IP>` = the switch's
//     uuid for the MAC and each IP (claim ports too), beside `ovn-multinet/switch` = the same uuid;
//   daemon/ovn/claims.ts reservationPairs: on the switch, `ovn-multinet/ipam-claim:<ns>/<name>` =
//     "<mac> <ip>..." and `ovn-multinet/reserved:<MAC or IP>` = "ipam-claim" per address.
import t, { type Test } from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type DaemonProcess } from '../helpers/node.ts';
import { startSandbox, type Sandbox } from '../helpers/sandbox.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const SWITCH = 'upnet';
// .2 to .14: 13 addresses; the first host address is left for a gateway, the last is broadcast.
const SUBNET = '10.70.0.0/28';

type Ids = Record<string, string>;

async function transact(sandbox: Sandbox, ops: unknown[]): Promise<unknown[]> {
  const out = await sandbox.exec(['ovsdb-client', 'transact', sandbox.env.NB_DB, JSON.stringify(['OVN_Northbound', ...ops])]);
  const results = JSON.parse(out) as Array<Record<string, unknown>>;
  for (const r of results) if (r['error'] !== undefined) throw new Error(`transact: ${out}`);
  return results;
}

const wireMap = (ids: Ids): unknown => ['map', Object.entries(ids)];

/** An ovn-multinet port as f23ba89 made it: owner keys, the switch key and its per-port guard keys. */
function oldPort(switchUuid: string, name: string, node: string, netns: string, mac: string, ips: string[], extra: Ids = {}): Record<string, unknown> {
  const entry = [mac, ...ips].join(' ');
  const ids: Ids = {
    'ovn-multinet/owner': 'ovn-multinet',
    'ovn-multinet/container-id': name,
    'ovn-multinet/ifname': 'net1',
    'ovn-multinet/netns': netns,
    'ovn-multinet/node': node,
    'ovn-multinet/network': SWITCH,
    'ovn-multinet/switch': switchUuid,
    ...extra,
  };
  for (const address of [mac, ...ips]) ids[`ovn-multinet/addr:${address}`] = switchUuid;
  return { op: 'insert', table: 'Logical_Switch_Port', row: { name, addresses: ['set', [entry]], port_security: ['set', [entry]], external_ids: wireMap(ids) }, 'uuid-name': name.replaceAll('-', '_') };
}

/** external_ids of a row, parsed from `ovn-nbctl --format=json`. */
async function externalIds(sandbox: Sandbox, table: string, record: string): Promise<Ids> {
  const out = JSON.parse(await sandbox.nbctl(['--format=json', '--columns=external_ids', 'list', table, record])) as { data: Array<[[string, Array<[string, string]>]]> };
  return Object.fromEntries(out.data[0]?.[0]?.[1] ?? []);
}

const only = (ids: Ids, prefix: string): Ids => Object.fromEntries(Object.entries(ids).filter(([k]) => k.startsWith(prefix)));

t.test('upgrade: old-format guard keys and reservations are converted', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  const node = sandbox.name;
  const [created] = await transact(sandbox, [{ op: 'insert', table: 'Logical_Switch', row: { name: SWITCH, other_config: wireMap({ subnet: SUBNET }) } }]);
  const sw = ((created as { uuid: [string, string] }).uuid)[1];
  // Pods of this node (one of them an IPAMClaim's VM) and one of another node, still running
  // under the old daemon there; a claim whose VM is stopped (a reservation, no port); and a
  // reserved key a newer controller's release left behind (it deletes today's keys only).
  const live = await createNetns(t);
  const ports = [
    oldPort(sw, 'omn-old-a', node, live.path, '0a:58:0a:46:00:02', ['10.70.0.2']),
    oldPort(sw, 'omn-old-vm2', node, live.path, '0a:00:00:00:70:04', ['10.70.0.4'], { 'ovn-multinet/ipam-claim': 'vms/vm2' }),
    oldPort(sw, 'omn-old-b', 'old-node', '/var/run/netns/elsewhere', '0a:58:0a:46:00:03', ['10.70.0.3']),
  ];
  const oldSwitchKeys: Ids = {
    'ovn-multinet/ipam-claim:vms/vm1': '0a:00:00:00:70:09 10.70.0.9',
    'ovn-multinet/reserved:0a:00:00:00:70:09': 'ipam-claim',
    'ovn-multinet/reserved:10.70.0.9': 'ipam-claim',
    'ovn-multinet/ipam-claim:vms/vm2': '0a:00:00:00:70:04 10.70.0.4',
    'ovn-multinet/reserved:0a:00:00:00:70:04': 'ipam-claim',
    'ovn-multinet/reserved:10.70.0.4': 'ipam-claim',
    'ovn-multinet/reserved:10.70.0.12': 'ipam-claim',
  };
  await transact(sandbox, [
    ...ports,
    {
      op: 'mutate',
      table: 'Logical_Switch',
      where: [['_uuid', '==', ['uuid', sw]]],
      mutations: [['ports', 'insert', ['set', ports.map((p) => ['named-uuid', p['uuid-name']])]], ['external_ids', 'insert', wireMap(oldSwitchKeys)]],
    },
  ]);

  // The reconciler must not take the old pods for dead ones while the test runs (no veth of ours).
  const daemonArgs = { extraArgs: ['--reconcile-grace', '600000'] };
  let daemon: DaemonProcess = await startDaemon(t, sandbox, daemonArgs);
  const guards = async (): Promise<Ids> => only(await externalIds(sandbox, 'logical_switch', SWITCH), 'ovn-multinet/addr:');
  const expectedAtStart: Ids = {
    'ovn-multinet/addr:0a:58:0a:46:00:02': 'port:omn-old-a',
    'ovn-multinet/addr:10.70.0.2': 'port:omn-old-a',
    'ovn-multinet/addr:0a:00:00:00:70:04': 'ipam-claim:vms/vm2',
    'ovn-multinet/addr:10.70.0.4': 'ipam-claim:vms/vm2',
    'ovn-multinet/addr:0a:00:00:00:70:09': 'ipam-claim:vms/vm1',
    'ovn-multinet/addr:10.70.0.9': 'ipam-claim:vms/vm1',
    // The switch of this node's ports is in view whole: the other node's port with it.
    'ovn-multinet/addr:0a:58:0a:46:00:03': 'port:omn-old-b',
    'ovn-multinet/addr:10.70.0.3': 'port:omn-old-b',
  };
  await until('the start to convert the switch of this node\'s ports', async () => (Object.keys(await guards()).length === 8 ? true : undefined), 15_000);

  t.test('at start: the switch of this node\'s ports', async (t) => {
    const ids = await externalIds(sandbox, 'logical_switch', SWITCH);
    t.same(only(ids, 'ovn-multinet/addr:'), expectedAtStart, 'each address its current guard key: the port\'s, or the claim\'s');
    t.same(only(ids, 'ovn-multinet/reserved:'), {}, 'no old reserved key left (the orphan one gone too)');
    t.same(only(ids, 'ovn-multinet/ipam-claim:'), only(oldSwitchKeys, 'ovn-multinet/ipam-claim:'), 'the reservations as they were');
    for (const name of ['omn-old-a', 'omn-old-vm2', 'omn-old-b']) {
      const portIds = await externalIds(sandbox, 'logical_switch_port', name);
      t.same(only(portIds, 'ovn-multinet/addr:'), {}, `${name}: no per-port guard key left`);
      t.equal(portIds['ovn-multinet/container-id'], name, `${name}: its owner keys untouched`);
    }
    t.ok(daemon.logs.some((l) => l['msg'] === 'converted old-format guard keys and reservations'), 'the daemon says so');
  });

  const add = async (t: Test, id: string, extra: Record<string, unknown> = {}) => {
    const ns = await createNetns(t);
    const config = { cniVersion: '1.1.0', name: SWITCH, type: 'ovn-multinet', socket: daemon.socket, ...extra };
    const call = { containerId: id, netns: ns.path, ifName: 'net1' };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, config);
    if (out.exitCode === 0) t.teardown(() => runCni(sandbox, { command: 'DEL', ...call }, config));
    return out;
  };

  t.test('allocation avoids every converted address', async (t) => {
    const reserved = await add(t, 'up-static', { runtimeConfig: { ips: ['10.70.0.9/28'] } });
    t.equal(reserved.json?.['code'], 103, `the stopped VM's reserved address: ${reserved.stdout}`);
    t.match(String(reserved.json?.['details']), /IPAMClaim vms\/vm1/, 'held by its claim');
    t.same(await guards(), expectedAtStart, 'the request changed no converted key');
    // The pool: .2 to .14 less the four held above, and .12 (the orphan key) is free.
    const given: string[] = [];
    for (let i = 0; i < 9; i++) {
      const out = await add(t, `up-${i}`);
      t.equal(out.exitCode, 0, out.stdout);
      given.push(((out.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address ?? '').split('/')[0] ?? '');
    }
    t.same([...given].sort(), ['10.70.0.10', '10.70.0.11', '10.70.0.12', '10.70.0.13', '10.70.0.14', '10.70.0.5', '10.70.0.6', '10.70.0.7', '10.70.0.8'], 'every free address, none of the converted ones');
    const full = await add(t, 'up-full');
    t.equal(full.json?.['code'], 102, `then the pool is full: ${full.stdout}`);
  });

  t.test('a second start changes nothing', async (t) => {
    const dump = async (): Promise<unknown> => ({
      sw: await externalIds(sandbox, 'logical_switch', SWITCH),
      ports: await Promise.all(['omn-old-a', 'omn-old-vm2', 'omn-old-b'].map((name) => externalIds(sandbox, 'logical_switch_port', name))),
    });
    const before = await dump();
    await daemon.stop();
    daemon = await startDaemon(t, sandbox, daemonArgs);
    // A request that serves the switch: its conversion runs too (and finds nothing).
    const again = await add(t, 'up-again', { runtimeConfig: { ips: ['10.70.0.9/28'] } });
    t.equal(again.json?.['code'], 103, again.stdout);
    t.same(await dump(), before, 'the NB as the first daemon left it');
    t.notOk(daemon.logs.some((l) => l['msg'] === 'converted old-format guard keys and reservations'), 'nothing converted');
  });
});
