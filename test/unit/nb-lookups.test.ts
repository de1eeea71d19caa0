// The NB and OVS look-ups through the cache's indexes (daemon/ovn/indexes.ts, ovs/bridge.ts):
// the same answers as the whole-table scans they replaced (kept below as the oracle), checked
// after every step of a random run of NB changes and resyncs; then what one ADD's look-ups cost
// on a switch of 20,000 ports (LOOKUP_BENCH_PORTS) against an empty one (measured, not asserted).
import t from 'tap';
import { seededRandom } from '../helpers/random.ts';
import { isDeepStrictEqual } from 'node:util';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import type { TableCache } from '../../daemon/ovsdb/cache.ts';
import { planMonitor, type MonitorPlan } from '../../daemon/ovsdb/monitor.ts';
import { parseUuid, type Uuid } from '../../daemon/ovsdb/notation.ts';
import type { DatabaseSchema } from '../../daemon/ovsdb/schema.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { ovsModel } from '../../daemon/ovsdb/models/vswitch.ts';
import { parseSubnet, subnetContains, type Subnet } from '../../daemon/lib/ip.ts';
import { findSwitch, switchGateway, switchOfPort, type LogicalSwitch } from '../../daemon/ovn/switches.ts';
import { NB_MONITOR, type NbClient, type NbRows } from '../../daemon/ovn/nb.ts';
import { addressesInUse, ClaimReservation, StaleGuard, type AddressUser } from '../../daemon/ipam/in-use.ts';
import { findPort } from '../../daemon/ovn/ports.ts';
import { staleGuardKeys } from '../../daemon/ipam/stale-guards.ts';
import { claimKey } from '../../daemon/ipam/reservations.ts';
import { addressKey, holderValue, parseHolder } from '../../daemon/ipam/guards.ts';
import { allocateAddress, parseIpamSettings } from '../../daemon/ipam/pool.ts';
import { macForIpv4 } from '../../daemon/lib/ip.ts';
import { parsePortAddresses } from '../../daemon/ovn/entries.ts';
import { IpamKeys } from '../../daemon/ovn/ids.ts';
import { OwnerKeys } from '../../daemon/ovn/ids.ts';
import { findBridge, findBridgePort, findInterface, OVS_MONITOR, type OvsClient } from '../../daemon/ovs/bridge.ts';
import { indexNb } from '../../daemon/ovn/indexes.ts';
import { loadSchema, NB_SCHEMA, VSWITCH_SCHEMA } from '../helpers/schemas.ts';
import { AmbiguousSwitchError } from '../../daemon/errors.ts';

const nbSchema = await loadSchema(NB_SCHEMA);
const nbPlan = planMonitor(nbSchema, NB_MONITOR);

/** Clients that never connect: their caches are fed by hand, as the monitor would. */
function nbClient(): NbClient {
  return modelClient(nbModel, NB_MONITOR, { remotes: ['unix:/nonexistent'] });
}
function ovsClient(): OvsClient {
  return modelClient(ovsModel, OVS_MONITOR, { remotes: ['unix:/nonexistent'] });
}

function feed<Tables>(cache: TableCache<Tables>, schema: DatabaseSchema, plan: MonitorPlan, initial: unknown): void {
  cache.resync(schema, plan, 'update2', initial);
}

let nextUuid = 1;
const newUuid = (): Uuid => parseUuid(`00000000-0000-4000-8000-${(nextUuid++).toString(16).padStart(12, '0')}`);

// ---- The oracle: the scans the indexes replaced, as they were. ----

const scan = {
  toSwitch(row: NbRows['Logical_Switch']): LogicalSwitch {
    return { uuid: row._uuid, name: row.name, ports: [...row.ports], otherConfig: new Map(row.other_config), externalIds: new Map(row.external_ids) };
  },
  findSwitch(nb: NbClient, name: string): LogicalSwitch | undefined {
    let found: LogicalSwitch | undefined;
    for (const row of nb.cache.table('Logical_Switch').values()) {
      if (row.name !== name) continue;
      if (found !== undefined) throw new AmbiguousSwitchError(`more than one logical switch is named ${JSON.stringify(name)}`);
      found = scan.toSwitch(row);
    }
    return found;
  },
  switchOfPort(nb: NbClient, portUuid: Uuid): LogicalSwitch | undefined {
    for (const row of nb.cache.table('Logical_Switch').values()) if (row.ports.includes(portUuid)) return scan.toSwitch(row);
    return undefined;
  },
  findPort(nb: NbClient, name: string): Uuid | undefined {
    for (const row of nb.cache.table('Logical_Switch_Port').values()) if (row.name === name) return row._uuid;
    return undefined;
  },
  routerPorts(nb: NbClient, sw: LogicalSwitch): Array<{ networks: readonly string[]; mac: string }> {
    const lrpNames = new Set<string>();
    for (const uuid of sw.ports) {
      const lsp = nb.cache.row('Logical_Switch_Port', uuid);
      if (lsp === undefined || lsp.type !== 'router') continue;
      const peer = lsp.options.get('router-port');
      if (peer !== undefined) lrpNames.add(peer);
    }
    if (lrpNames.size === 0) return [];
    return [...nb.cache.table('Logical_Router_Port').values()].filter((lrp) => lrpNames.has(lrp.name));
  },
  routerNetworks(nb: NbClient, sw: LogicalSwitch): string[] {
    return scan.routerPorts(nb, sw).flatMap((lrp) => lrp.networks);
  },
  addressesInUse(nb: NbClient, sw: LogicalSwitch): { ips: Map<string, AddressUser>; macs: Map<string, AddressUser> } {
    const ips = new Map<string, AddressUser>();
    const macs = new Map<string, AddressUser>();
    for (const uuid of sw.ports) {
      const lsp = nb.cache.row('Logical_Switch_Port', uuid);
      if (lsp === undefined) continue;
      for (const entry of [...lsp.addresses, ...(lsp.dynamic_addresses === undefined ? [] : [lsp.dynamic_addresses])]) {
        const used = parsePortAddresses(entry);
        // A router-type port's addresses are the router's (issue 19 item 3: never requestable).
        const user = lsp.type === 'router' ? 'router' : lsp;
        if (used.mac !== undefined) macs.set(used.mac, user);
        for (const ip of used.ips) ips.set(ip, user);
      }
    }
    for (const network of scan.routerNetworks(nb, sw)) ips.set(network.split('/')[0] ?? '', 'router');
    for (const lrp of scan.routerPorts(nb, sw)) macs.set(lrp.mac.toLowerCase(), 'router');
    for (const [key, value] of sw.externalIds) {
      const holder = key.startsWith(IpamKeys.address) ? parseHolder(value) : undefined;
      if (holder === undefined) continue;
      const address = key.slice(IpamKeys.address.length);
      const user = 'claim' in holder ? new ClaimReservation(holder.claim) : new StaleGuard(holder.port);
      for (const users of [ips, macs]) if (!users.has(address)) users.set(address, user);
    }
    return { ips, macs };
  },
  switchGateway(nb: NbClient, sw: LogicalSwitch, subnet: Subnet): string | undefined {
    for (const network of scan.routerNetworks(nb, sw)) {
      const address = network.split('/')[0] ?? '';
      if (subnetContains(subnet, address)) return address;
    }
    return undefined;
  },
};

// ---- A model of the NB, turned into update2 notifications. ----

interface Lsp {
  name: string;
  type: string;
  addresses: string[];
  dynamic: string | undefined;
  options: Map<string, string>;
  ids: Map<string, string>;
}
interface Ls {
  name: string;
  ports: Uuid[];
  ids: Map<string, string>;
}
interface Lrp {
  name: string;
  mac: string;
  networks: string[];
}
interface Model {
  lsp: Map<Uuid, Lsp>;
  ls: Map<Uuid, Ls>;
  lrp: Map<Uuid, Lrp>;
}

const wireMap = (m: ReadonlyMap<string, string>) => ['map', [...m]];
const wireUuids = (uuids: readonly Uuid[]) => ['set', uuids.map((u) => ['uuid', u])];
const wire = {
  lsp: (p: Lsp) => ({ name: p.name, type: p.type, addresses: ['set', p.addresses], dynamic_addresses: p.dynamic ?? ['set', []], options: wireMap(p.options), external_ids: wireMap(p.ids) }),
  ls: (s: Ls) => ({ name: s.name, ports: wireUuids(s.ports), external_ids: wireMap(s.ids) }),
  lrp: (r: Lrp) => ({ name: r.name, mac: r.mac, networks: ['set', r.networks] }),
};

/** The elements in one set and not the other: an update2 set diff toggles them. */
const toggled = <T>(a: readonly T[], b: readonly T[]): T[] => [...a.filter((x) => !b.includes(x)), ...b.filter((x) => !a.includes(x))];
function mapDiff(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of a) if (!b.has(k)) pairs.push([k, v]);
  for (const [k, v] of b) if (a.get(k) !== v) pairs.push([k, v]);
  return pairs;
}
function modify(old: Record<string, unknown>, next: Record<string, unknown>, diff: Record<string, unknown>): { modify: Record<string, unknown> } | undefined {
  const changed = Object.fromEntries(Object.entries(diff).filter(([column]) => !isDeepStrictEqual(old[column], next[column])));
  return Object.keys(changed).length === 0 ? undefined : { modify: changed };
}

/** update2 table-updates that take the cache from `before` to `after`. */
function updates(before: Model, after: Model): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const table = <T>(name: string, a: Map<Uuid, T>, b: Map<Uuid, T>, toWire: (x: T) => Record<string, unknown>, diff: (x: T, y: T) => Record<string, unknown>) => {
    const rows: Record<string, unknown> = {};
    for (const uuid of a.keys()) if (!b.has(uuid)) rows[uuid] = { delete: null };
    for (const [uuid, y] of b) {
      const x = a.get(uuid);
      if (x === undefined) rows[uuid] = { insert: toWire(y) };
      else {
        const change = modify(toWire(x), toWire(y), diff(x, y));
        if (change !== undefined) rows[uuid] = change;
      }
    }
    if (Object.keys(rows).length > 0) out[name] = rows;
  };
  table('Logical_Switch_Port', before.lsp, after.lsp, wire.lsp, (x, y) => ({
    name: y.name,
    type: y.type,
    addresses: ['set', toggled(x.addresses, y.addresses)],
    dynamic_addresses: y.dynamic ?? ['set', []],
    options: ['map', mapDiff(x.options, y.options)],
    external_ids: ['map', mapDiff(x.ids, y.ids)],
  }));
  table('Logical_Switch', before.ls, after.ls, wire.ls, (x, y) => ({ name: y.name, ports: wireUuids(toggled(x.ports, y.ports)), external_ids: ['map', mapDiff(x.ids, y.ids)] }));
  table('Logical_Router_Port', before.lrp, after.lrp, wire.lrp, (x, y) => ({ name: y.name, mac: y.mac, networks: ['set', toggled(x.networks, y.networks)] }));
  return out;
}

function initial(model: Model): Record<string, Record<string, unknown>> {
  const rows = <T>(m: Map<Uuid, T>, toWire: (x: T) => Record<string, unknown>) => Object.fromEntries([...m].map(([u, x]) => [u, { initial: toWire(x) }]));
  return { Logical_Switch_Port: rows(model.lsp, wire.lsp), Logical_Switch: rows(model.ls, wire.ls), Logical_Router_Port: rows(model.lrp, wire.lrp) };
}

const clone = (m: Model): Model => ({
  lsp: new Map([...m.lsp].map(([u, p]) => [u, { ...p, addresses: [...p.addresses], options: new Map(p.options), ids: new Map(p.ids) }])),
  ls: new Map([...m.ls].map(([u, s]) => [u, { ...s, ports: [...s.ports], ids: new Map(s.ids) }])),
  lrp: new Map([...m.lrp].map(([u, r]) => [u, { ...r, networks: [...r.networks] }])),
});

// ---- What both implementations answer. ----

const MACS = ['0a:58:0a:00:00:02', '0a:58:0a:00:00:03', '0A:58:0A:00:00:04', '02:00:00:00:00:01', '02:00:00:00:00:02'];
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', 'fd00::1', 'fd00::2'];
const NETWORKS = ['10.0.0.1/24', '10.0.0.5/24', 'fd00::1/64', '10.1.0.1/24'];
const SUBNETS = ['10.0.0.0/24', 'fd00::/64', '10.1.0.0/24'].map((c) => parseSubnet(c)!);
const CLAIMS = ['vms/a', 'vms/b'];
const SWITCH_NAMES = ['a', 'b', 'c'];
const MISSING = newUuid();

const who = (user: AddressUser | undefined): string =>
  user === undefined ? 'free' : user === 'router' ? 'router' : user instanceof ClaimReservation ? `claim ${user.claim}` : user instanceof StaleGuard ? `gone ${user.port}` : `port ${user._uuid}`;

type Impl = Pick<typeof scan, 'findSwitch' | 'switchOfPort' | 'switchGateway'> & {
  findPort(nb: NbClient, name: string): Uuid | undefined;
  addressesInUse(nb: NbClient, sw: LogicalSwitch): { ips: { get(a: string): AddressUser | undefined; has(a: string): boolean }; macs: { get(a: string): AddressUser | undefined; has(a: string): boolean } };
};
const indexed: Impl = { findSwitch, switchOfPort, switchGateway, addressesInUse, findPort: (nb, name) => findPort(nb, name)?.uuid };

function answers(nb: NbClient, impl: Impl): unknown {
  const plain = (sw: LogicalSwitch | undefined) => sw && { uuid: sw.uuid, name: sw.name, ports: [...sw.ports], ids: [...sw.externalIds], other: [...sw.otherConfig] };
  const out: Record<string, unknown> = {};
  for (const name of [...SWITCH_NAMES, 'none']) {
    try {
      out[`switch ${name}`] = plain(impl.findSwitch(nb, name));
    } catch (err) {
      out[`switch ${name}`] = err instanceof AmbiguousSwitchError ? 'ambiguous' : err;
    }
  }
  for (const [uuid, row] of [...nb.cache.table('Logical_Switch_Port'), [MISSING, { name: 'missing' }] as const]) {
    out[`switch of ${uuid}`] = impl.switchOfPort(nb, uuid)?.uuid;
    out[`port ${row.name}`] = impl.findPort(nb, row.name);
  }
  // Every switch, current (as the daemon's callers hold them: just found).
  for (const row of nb.cache.table('Logical_Switch').values()) {
    const sw = scan.toSwitch(row);
    const used = impl.addressesInUse(nb, sw);
    for (const ip of IPS) out[`${sw.uuid} ip ${ip}`] = [who(used.ips.get(ip)), used.ips.has(ip)];
    for (const mac of MACS) out[`${sw.uuid} mac ${mac}`] = [who(used.macs.get(mac.toLowerCase())), used.macs.has(mac.toLowerCase())];
    for (const subnet of SUBNETS) out[`${sw.uuid} gateway ${subnet.cidr}`] = impl.switchGateway(nb, sw, subnet);
  }
  return out;
}

t.test('the indexed look-ups answer as the scans did, through random changes and resyncs', async (t) => {
  const rnd = seededRandom(Number(process.env['LOOKUP_SEED'] ?? 20_000));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const nb = nbClient();
  let model: Model = { lsp: new Map(), ls: new Map(), lrp: new Map() };
  // Three switches, two of them named alike at times.
  for (const name of ['a', 'b', 'c']) model.ls.set(newUuid(), { name, ports: [], ids: new Map() });
  feed(nb.cache, nbSchema, nbPlan, initial(model));
  // Registered after the first rows came: every look-up registers its index on first use.
  t.same(answers(nb, indexed), answers(nb, scan), 'empty switches');

  const randomPort = (): Lsp => {
    const type = pick(['', '', '', '', '', 'router', 'localnet']);
    const entry = () => (chance(0.15) ? pick(['dynamic', 'router', 'unknown']) : [pick(MACS), ...IPS.filter(() => chance(0.2))].join(' '));
    const addresses = Array.from({ length: pick([0, 1, 1, 1, 2]) }, entry);
    const ids = new Map<string, string>();
    if (chance(0.4)) ids.set(OwnerKeys.ipamClaim, pick(CLAIMS));
    const options = new Map<string, string>();
    if (type === 'router' || chance(0.1)) options.set('router-port', pick(['lrp0', 'lrp1', 'lrp2']));
    return { name: `lsp${nextUuid}`, type, addresses, dynamic: chance(0.2) ? entry() : undefined, options, ids };
  };
  const steps = Number(process.env['LOOKUP_STEPS'] ?? 600);
  let checked = 0;
  for (let step = 0; step < steps; step++) {
    const next = clone(model);
    const switches = [...next.ls.values()];
    const ops = Math.ceil(rnd() * 3);
    for (let op = 0; op < ops; op++) {
      const ports = [...next.lsp.keys()];
      const kind = rnd();
      const port = ports.length === 0 ? undefined : pick(ports);
      if (kind < 0.3 || port === undefined) {
        const uuid = newUuid();
        next.lsp.set(uuid, randomPort());
        const sw = pick(switches);
        if (chance(0.5)) sw.ports.push(uuid);
        else sw.ports.splice(Math.floor(rnd() * (sw.ports.length + 1)), 0, uuid);
        const other = pick(switches);
        if (chance(0.05) && !other.ports.includes(uuid)) other.ports.push(uuid);
      } else if (kind < 0.45) {
        next.lsp.delete(port);
        for (const sw of switches) sw.ports = sw.ports.filter((u) => u !== port);
      } else if (kind < 0.6) {
        const fresh = randomPort();
        const p = next.lsp.get(port)!;
        if (chance(0.5)) p.addresses = fresh.addresses;
        if (chance(0.3)) p.dynamic = fresh.dynamic;
        if (chance(0.3)) p.ids = fresh.ids;
        if (chance(0.2)) [p.type, p.options] = [fresh.type, fresh.options];
        if (chance(0.05)) p.name = fresh.name;
      } else if (kind < 0.7) {
        for (const sw of switches) sw.ports = sw.ports.filter((u) => u !== port);
        if (chance(0.9)) pick(switches).ports.push(port);
      } else if (kind < 0.8) {
        const sw = pick(switches);
        const claim = pick(CLAIMS);
        for (const key of [...sw.ids.keys()]) if (key === claimKey(claim) || chance(0.2)) sw.ids.delete(key);
        if (chance(0.6)) sw.ids.set(claimKey(claim), [pick(MACS).toLowerCase(), ...IPS.filter(() => chance(0.2))].join(' '));
        // Guard keys of the claim or of a port, which may or may not hold the address itself.
        for (const address of [pick(MACS).toLowerCase(), ...IPS.filter(() => chance(0.2))]) {
          if (chance(0.5)) sw.ids.set(addressKey(address), holderValue(chance(0.5) ? { claim } : { port: `lsp${Math.floor(rnd() * nextUuid)}` }));
        }
      } else if (kind < 0.9) {
        const lrps = [...next.lrp.keys()];
        if (lrps.length > 0 && chance(0.3)) next.lrp.delete(pick(lrps));
        else if (lrps.length > 0 && chance(0.5)) next.lrp.get(pick(lrps))!.networks = NETWORKS.filter(() => chance(0.4)).concat(pick(NETWORKS)).filter((n, i, all) => all.indexOf(n) === i);
        else next.lrp.set(newUuid(), { name: pick(['lrp0', 'lrp1', 'lrp2']), mac: pick(MACS), networks: [pick(NETWORKS)] });
      } else {
        pick(switches).name = pick(SWITCH_NAMES);
      }
    }
    if (chance(0.03)) feed(nb.cache, nbSchema, nbPlan, initial(next));
    else nb.cache.update('update2', updates(model, next));
    model = next;
    const expected = answers(nb, scan);
    const got = answers(nb, indexed);
    if (!isDeepStrictEqual(got, expected)) {
      t.same(got, expected, `step ${step}`);
      break;
    }
    checked++;
  }
  t.equal(checked, steps, `${steps} steps, ${model.lsp.size} ports at the end, the same answers after each`);
});

t.test('who uses an address: router first, then the last port in the switch order, then the holder of its guard key', async (t) => {
  const nb = nbClient();
  indexNb(nb); // registered before the monitor reply: built with its rows
  const [S, P1, P2, R, L] = [newUuid(), newUuid(), newUuid(), newUuid(), newUuid()];
  const guardKeys = new Map([
    [claimKey('vms/a'), '0a:00:00:00:00:09 10.0.0.7 10.0.0.1'],
    ...['0a:00:00:00:00:09', '10.0.0.7', '10.0.0.1'].map((a) => [addressKey(a), holderValue({ claim: 'vms/a' })] as const),
    [addressKey('10.0.0.5'), holderValue({ port: 'p1' })],
    [addressKey('10.0.0.10'), holderValue({ port: 'deleted-by-an-admin' })],
  ]);
  feed(nb.cache, nbSchema, nbPlan, {
    Logical_Switch: { [S]: { initial: { name: 'net', ports: wireUuids([P2, P1, R]), external_ids: wireMap(guardKeys) } } },
    Logical_Switch_Port: {
      [P1]: { initial: { name: 'p1', addresses: ['set', ['0a:00:00:00:00:01 10.0.0.5']] } },
      [P2]: { initial: { name: 'p2', addresses: ['set', ['0a:00:00:00:00:01 10.0.0.5 10.0.0.6']], dynamic_addresses: '0a:00:00:00:00:02 10.0.0.8' } },
      [R]: { initial: { name: 'to-router', type: 'router', addresses: ['set', ['router']], options: wireMap(new Map([['router-port', 'lrp']])) } },
    },
    Logical_Router_Port: { [L]: { initial: { name: 'lrp', mac: '0A:00:00:00:00:FE', networks: ['set', ['10.0.0.1/24']] } } },
  });
  const sw = findSwitch(nb, 'net');
  if (sw === undefined) throw new Error('no switch');
  const used = addressesInUse(nb, sw);
  t.equal(who(used.ips.get('10.0.0.5')), `port ${P1}`, 'two ports hold it: the later in the switch ports');
  t.equal(who(used.ips.get('10.0.0.6')), `port ${P2}`);
  t.equal(who(used.ips.get('10.0.0.8')), `port ${P2}`, 'dynamic_addresses count');
  t.equal(who(used.ips.get('10.0.0.1')), 'router', 'a router port before a reservation');
  t.equal(who(used.ips.get('10.0.0.7')), 'claim vms/a');
  t.equal(who(used.ips.get('10.0.0.10')), 'gone deleted-by-an-admin', 'a guard key whose port is gone keeps the address taken');
  t.equal(who(used.macs.get('0a:00:00:00:00:09')), 'claim vms/a');
  t.equal(who(used.macs.get('0a:00:00:00:00:fe')), 'router', "a connected router port's MAC");
  t.equal(who(used.ips.get('10.0.0.9')), 'free');
  t.notOk(used.ips.has('10.0.0.9'));
  t.equal(switchGateway(nb, sw, SUBNETS[0]!), '10.0.0.1');
  t.equal(switchOfPort(nb, P1), sw, 'one object per switch version, shared');
  t.equal(findPort(nb, 'p2')?.uuid, P2);
  t.equal(findPort(nb, 'nope'), undefined);

  const listened: Array<string | undefined> = [];
  nb.cache.on('change', () => listened.push(findPort(nb, 'p3')?.uuid));
  const P3 = newUuid();
  nb.cache.update('update2', { Logical_Switch_Port: { [P3]: { insert: { name: 'p3' } } }, Logical_Switch: { [S]: { modify: { ports: wireUuids([P3]) } } } });
  t.same(listened, [P3, P3], 'change listeners find what the notification brought');
  t.equal(switchOfPort(nb, P3)?.uuid, S);
});

t.test('bridge, port and interface by name', async (t) => {
  const ovs = ovsClient();
  const schema = await loadSchema(VSWITCH_SCHEMA);
  const plan = planMonitor(schema, OVS_MONITOR);
  const [B, P, I] = [newUuid(), newUuid(), newUuid()];
  t.equal(findBridge(ovs, 'br-int'), undefined, 'before the monitor reply');
  feed(ovs.cache, schema, plan, {
    Bridge: { [B]: { initial: { name: 'br-int', ports: wireUuids([P]), datapath_type: 'system' } } },
    Port: { [P]: { initial: { name: 'veth1', interfaces: ['uuid', I], external_ids: wireMap(new Map([['k', 'v']])) } } },
    Interface: { [I]: { initial: { name: 'veth1', ofport: 7, external_ids: wireMap(new Map([['iface-id', 'lsp1']])) } } },
  });
  t.same(findBridge(ovs, 'br-int'), { uuid: B, name: 'br-int', ports: [P], datapathType: 'system' });
  t.same(findBridgePort(ovs, 'veth1'), { uuid: P, name: 'veth1', externalIds: new Map([['k', 'v']]) });
  t.match(findInterface(ovs, 'veth1'), { uuid: I, name: 'veth1', ofport: 7, externalIds: new Map([['iface-id', 'lsp1']]) });
  ovs.cache.update('update2', { Interface: { [I]: { modify: { name: 'veth2' } } }, Port: { [P]: { delete: null } } });
  t.equal(findInterface(ovs, 'veth1'), undefined, 'renamed');
  t.equal(findInterface(ovs, 'veth2')?.uuid, I);
  t.equal(findBridgePort(ovs, 'veth1'), undefined, 'deleted');
});

// npm test measures the full 20,000 ports; npm run test:unit sets fewer, to stay quick.
const PORTS = Number(process.env['LOOKUP_BENCH_PORTS'] ?? 20_000);
t.test(`cost of one ADD look-ups: an empty switch and one of ${PORTS.toLocaleString('en-US')} ports (measured, not asserted)`, async (t) => {
  const nb = nbClient();
  const [BIG, EMPTY] = [newUuid(), newUuid()];
  const lsps: Record<string, unknown> = {};
  const bigPorts: Uuid[] = [];
  const bigGuards = new Map<string, string>();
  for (let i = 0; i < PORTS; i++) {
    const uuid = newUuid();
    const ip = `10.128.${(i + 2) >> 8}.${(i + 2) & 255}`;
    bigPorts.push(uuid);
    for (const address of [ip, macForIpv4(ip)]) bigGuards.set(addressKey(address), holderValue({ port: `big-${i}` }));
    lsps[uuid] = { initial: { name: `big-${i}`, addresses: ['set', [`${macForIpv4(ip)} ${ip}`]], external_ids: wireMap(new Map([[OwnerKeys.containerId, `c${i}`]])) } };
  }
  feed(nb.cache, nbSchema, nbPlan, {
    Logical_Switch: {
      [BIG]: { initial: { name: 'big', ports: wireUuids(bigPorts), other_config: wireMap(new Map([['subnet', '10.128.0.0/16']])), external_ids: wireMap(bigGuards) } },
      [EMPTY]: { initial: { name: 'empty', other_config: wireMap(new Map([['subnet', '10.129.0.0/16']])) } },
    },
    Logical_Switch_Port: lsps,
  });
  const lastIp = `10.128.${(PORTS + 1) >> 8}.${(PORTS + 1) & 255}`;

  /** The reads of one ADD: the switch, the port (not there yet), addresses in use, a free IP and MAC. */
  const lookups = (impl: Impl, name: string): string => {
    const sw = impl.findSwitch(nb, name)!;
    impl.findPort(nb, `new-port-${name}`);
    const used = impl.addressesInUse(nb, sw);
    const settings = parseIpamSettings(sw.otherConfig, sw.externalIds);
    const subnet = settings.subnets[0]!;
    const ip = allocateAddress(subnet, settings.excluded, { inUse: used.ips, startAfter: name === 'big' ? lastIp : undefined })!;
    if (used.macs.has(macForIpv4(ip))) throw new Error('MAC in use');
    return ip;
  };
  /** µs per call: the median of 5 runs of `calls` calls each, after a warm-up. */
  const perCall = (fn: () => unknown, calls: number): number => {
    for (let i = 0; i < Math.min(calls, 50); i++) fn();
    const runs: number[] = [];
    for (let run = 0; run < 5; run++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) fn();
      runs.push(Number(process.hrtime.bigint() - start) / calls / 1000);
    }
    return runs.sort((a, b) => a - b)[2]!;
  };
  t.equal(lookups(indexed, 'big'), lookups(scan, 'big'), 'the same address either way');
  for (let i = 0; i < 2000; i++) for (const name of ['empty', 'big']) lookups(indexed, name);
  const empty = perCall(() => lookups(indexed, 'empty'), 2000);
  const big = perCall(() => lookups(indexed, 'big'), 2000);
  const scanEmpty = perCall(() => lookups(scan, 'empty'), 20);
  const scanBig = perCall(() => lookups(scan, 'big'), 4);
  const fmt = (us: number) => `${us.toFixed(1)} µs`;
  t.comment(`one ADD's look-ups, indexed: empty switch ${fmt(empty)}, ${PORTS} ports ${fmt(big)} (ratio ${(big / empty).toFixed(2)})`);
  t.comment(`the scans they replaced:        empty switch ${fmt(scanEmpty)}, ${PORTS} ports ${fmt(scanBig)}`);
  t.comment(`switchOfPort, indexed: ${fmt(perCall(() => switchOfPort(nb, bigPorts[PORTS - 1]!), 5000))}; scanned: ${fmt(perCall(() => scan.switchOfPort(nb, bigPorts[PORTS - 1]!), 10))}`);

  // The reconciler's stale-guard check reads every guard key of a switch whose row changed since
  // its last pass; an unchanged row is answered from the last pass.
  const coldStart = process.hrtime.bigint();
  t.same(staleGuardKeys(nb, () => true), [], 'every guard key of the big switch has its port');
  const coldUs = Number(process.hrtime.bigint() - coldStart) / 1000;
  t.comment(`stale guard keys, one pass over ${bigGuards.size} guard keys: ${fmt(coldUs)}; again, no switch changed: ${fmt(perCall(() => staleGuardKeys(nb, () => true), 5))}`);

  // What keeping the indexes costs per port added: the cache's own update copies the switch's
  // ports list and external_ids (update2 diffs: the new port and its two guard keys), so it
  // grows with the switch either way.
  const addOne = (sw: Uuid, i: number) => {
    const uuid = newUuid();
    const name = `added-${sw}-${i}`;
    const ip = `10.130.${(i >> 8) & 255}.${i & 255}`;
    const guards = wireMap(new Map([ip, macForIpv4(ip)].map((a) => [addressKey(a), holderValue({ port: name })])));
    nb.cache.update('update2', { Logical_Switch_Port: { [uuid]: { insert: { name, addresses: ['set', [`${macForIpv4(ip)} ${ip}`]] } } }, Logical_Switch: { [sw]: { modify: { ports: wireUuids([uuid]), external_ids: guards } } } });
  };
  let n = 0;
  const addEmpty = perCall(() => addOne(EMPTY, n++), 100);
  const addBig = perCall(() => addOne(BIG, n++), 100);
  t.comment(`one port added (cache update with its indexes): empty switch ${fmt(addEmpty)}, ${PORTS} ports ${fmt(addBig)}`);
});
