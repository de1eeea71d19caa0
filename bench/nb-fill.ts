/**
 * Fills the shared NB for the scale bench (scale.ts) and its reduced test: logical switches and
 * many logical switch ports made by raw OVSDB transactions with the project's own client, in
 * chunks (one transaction per chunk), as another cluster's controllers would have made them.
 *
 * - unrelated ports: on switches this node never uses, shaped like OVN-Kubernetes' pod ports
 *   (`addresses`/`port_security` "MAC IP", external_ids namespace/pod, options requested-chassis);
 * - ports of ours: on one of our switches, shaped like the ports other nodes' daemons commit
 *   (owner external_ids of another node and the switch key; the per-address guard keys go on the switch), with
 *   consecutive addresses from the bottom of the subnet, so an allocation there must skip them.
 *
 * The filling client monitors only Logical_Switch names: it never holds the ports it writes.
 */
import { OvsdbClient } from '../daemon/ovsdb/client.ts';
import { eq, insert, mutate, mutation, type Operation } from '../daemon/ovsdb/ops.ts';
import { namedUuid, type RowInput, type Uuid } from '../daemon/ovsdb/notation.ts';
import { guardPairs } from '../daemon/ipam/guards.ts';
import { OWNER_VALUE, OwnerKeys, ScopeKeys } from '../daemon/ovn/ids.ts';
import type { Teardown } from '../test/helpers/netns.ts';
import { elapsedMs, stamp } from './clock.ts';

export const CHUNK = 2000;

const signal = (): AbortSignal => AbortSignal.timeout(600_000);

/** An NB client for writing: its monitor holds switch names only. Closed by `cleanup`. */
export async function nbWriter(cleanup: Teardown, remote: string): Promise<OvsdbClient> {
  const nb = new OvsdbClient({ remotes: [remote], database: 'OVN_Northbound', monitor: { Logical_Switch: ['name'] }, maxMessageBytes: 1024 * 1024 * 1024 });
  nb.start();
  cleanup.teardown(() => nb.close());
  await nb.waitConnected(AbortSignal.timeout(30_000));
  return nb;
}

export interface SwitchSpec {
  readonly name: string;
  readonly otherConfig?: ReadonlyMap<string, string>;
}

/** Creates the switches in one transaction; their uuids, in order. */
export async function createSwitches(nb: OvsdbClient, specs: readonly SwitchSpec[]): Promise<Uuid[]> {
  const ops = specs.map((s) => insert('Logical_Switch', { name: s.name, other_config: s.otherConfig ?? new Map<string, string>() }));
  const results = await nb.transact(ops, signal());
  return results.map((r, i) => {
    if (r.uuid === undefined) throw new Error(`no uuid for logical switch ${specs[i]?.name ?? i}`);
    return r.uuid;
  });
}

/** IPv4 address as a dotted quad from a 32-bit number. */
const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const ipNumber = (ip: string): number => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
/** OVN's convention: 0a:58 followed by the IPv4 address. */
const macOf = (n: number): string => ['0a', '58', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');

/** One port row to insert and the switch it goes on (an index into the switch list). */
export interface PortRow {
  readonly sw: number;
  readonly row: RowInput;
  /** Keys its switch's external_ids get with it (a port of ours: its guard keys). */
  readonly switchIds?: ReadonlyMap<string, string>;
}

export interface Inserted {
  /** Per switch index: the uuids of the ports inserted on it. */
  readonly uuids: Map<number, Uuid[]>;
  /** ms per transaction. */
  readonly chunkMs: number[];
}

/**
 * Inserts `count` ports made by `make(i)` in transactions of `chunk` ports: the inserts, then one
 * mutation of `ports` per switch touched.
 */
export async function insertPorts(
  nb: OvsdbClient,
  switches: readonly Uuid[],
  count: number,
  make: (i: number) => PortRow,
  opts: { chunk?: number; progress?: (done: number, ms: number) => void } = {},
): Promise<Inserted> {
  const chunk = opts.chunk ?? CHUNK;
  const uuids = new Map<number, Uuid[]>();
  const chunkMs: number[] = [];
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(count, from + chunk);
    const ops: Operation[] = [];
    const bySwitch = new Map<number, { names: string[]; ids: Map<string, string> }>();
    const order: number[] = [];
    for (let i = from; i < to; i++) {
      const { sw, row, switchIds } = make(i);
      const name = `p${i - from}`;
      ops.push(insert('Logical_Switch_Port', row, name));
      order.push(sw);
      const entry = bySwitch.get(sw) ?? { names: [], ids: new Map<string, string>() };
      entry.names.push(name);
      for (const [key, value] of switchIds ?? []) entry.ids.set(key, value);
      bySwitch.set(sw, entry);
    }
    for (const [sw, { names, ids }] of bySwitch) {
      const uuid = switches[sw];
      if (uuid === undefined) throw new Error(`no switch #${sw}`);
      const mutations = [mutation('ports', 'insert', names.map(namedUuid)), ...(ids.size === 0 ? [] : [mutation('external_ids', 'insert', ids)])];
      ops.push(mutate('Logical_Switch', [eq('_uuid', uuid)], mutations));
    }
    const start = stamp();
    const results = await nb.transact(ops, signal());
    const ms = elapsedMs(start, stamp());
    chunkMs.push(ms);
    order.forEach((sw, k) => {
      const uuid = results[k]?.uuid;
      if (uuid === undefined) throw new Error('insert without a uuid');
      const list = uuids.get(sw) ?? [];
      list.push(uuid);
      uuids.set(sw, list);
    });
    opts.progress?.(to, ms);
  }
  return { uuids, chunkMs };
}

/**
 * Deletes ports inserted by insertPorts, `chunk` per transaction: removing them from their
 * switch's `ports` is enough (Logical_Switch_Port is not a root table: ovsdb-server collects them).
 */
export async function deletePorts(nb: OvsdbClient, switches: readonly Uuid[], inserted: Inserted, opts: { chunk?: number } = {}): Promise<number[]> {
  const chunk = opts.chunk ?? CHUNK;
  const all: Array<[number, Uuid]> = [];
  for (const [sw, list] of inserted.uuids) for (const u of list) all.push([sw, u]);
  const chunkMs: number[] = [];
  for (let from = 0; from < all.length; from += chunk) {
    const bySwitch = new Map<number, Uuid[]>();
    for (const [sw, u] of all.slice(from, from + chunk)) {
      const list = bySwitch.get(sw) ?? [];
      list.push(u);
      bySwitch.set(sw, list);
    }
    const ops = [...bySwitch].map(([sw, list]) => {
      const uuid = switches[sw];
      if (uuid === undefined) throw new Error(`no switch #${sw}`);
      return mutate('Logical_Switch', [eq('_uuid', uuid)], [mutation('ports', 'delete', list)]);
    });
    const start = stamp();
    await nb.transact(ops, signal());
    chunkMs.push(elapsedMs(start, stamp()));
  }
  return chunkMs;
}

/**
 * Port `i` of another cluster (OVN-Kubernetes-like): `base` offsets names and addresses, so
 * successive batches never collide; spread over `switchCount` switches.
 */
export function unrelatedPort(i: number, switchCount: number, base = 0): PortRow {
  const n = base + i;
  const ipN = ipNumber('10.128.0.0') + 2 + n;
  const entry = `${macOf(ipN)} ${dotted(ipN)}`;
  return {
    sw: n % switchCount,
    row: {
      name: `ns${n % 997}_pod-${n}`,
      addresses: [entry],
      port_security: [entry],
      external_ids: new Map([
        ['namespace', `ns${n % 997}`],
        ['pod', 'true'],
      ]),
      options: new Map([
        ['requested-chassis', `node-${n % 1000}`],
        ['iface-id-ver', `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`],
      ]),
    },
  };
}

/**
 * Port `i` of ours on switch 0 (`switchUuid`), as another node's daemon commits it: address
 * number i from the bottom of `subnet` (after the gateway, network+1), owner ids of node
 * `other-node-<i % 100>`, and the per-address guards the daemon writes.
 */
export function oursPort(i: number, subnet: string, switchUuid: Uuid, network: string): PortRow {
  const [net = ''] = subnet.split('/');
  const ipN = ipNumber(net) + 2 + i;
  const ip = dotted(ipN);
  const mac = macOf(ipN);
  const entry = `${mac} ${ip}`;
  const containerId = `other-${i.toString(16).padStart(8, '0')}`;
  return {
    sw: 0,
    row: {
      name: `${containerId}_net1`,
      addresses: [entry],
      port_security: [entry],
      external_ids: new Map([
        [OwnerKeys.owner, OWNER_VALUE],
        [OwnerKeys.containerId, containerId],
        [OwnerKeys.ifName, 'net1'],
        [OwnerKeys.netns, `/var/run/netns/${containerId}`],
        [OwnerKeys.node, `other-node-${i % 100}`],
        [OwnerKeys.network, network],
        [ScopeKeys.switch, switchUuid],
      ]),
    },
    switchIds: guardPairs([mac, ip], { port: `${containerId}_net1` }),
  };
}

/** The addresses oursPort() gives ports 0..count-1. */
export function oursAddresses(count: number, subnet: string): Set<string> {
  const [net = ''] = subnet.split('/');
  const first = ipNumber(net) + 2;
  return new Set(Array.from({ length: count }, (_, i) => dotted(first + i)));
}
