/**
 * Upgrades from daemons older than the switch-level guard keys. Up to commit f23ba89 (replaced by
 * 40ef8b7, "per-address guard keys live on the switch") addresses were guarded in two places:
 *
 *   on each logical switch port of ours   ovn-multinet/addr:<IP or MAC>     = "<its switch's uuid>"
 *   on the switch, per address a claim    ovn-multinet/reserved:<IP or MAC> = "ipam-claim"
 *   holds (beside the reservation itself, ovn-multinet/ipam-claim:<ns>/<name> = "<mac> <ip>...",
 *   whose format did not change)
 *
 * Today's daemons read neither: a guard is the switch's `ovn-multinet/addr:<address>` =
 * `port:<name>` or `ipam-claim:<ns>/<name>` (guards.ts). An old reservation whose claim has no
 * port would then look free to them. So, before a daemon allocates on a switch for the first
 * time (the request that serves it), and at start for the switches of this node's ports, the
 * old keys it sees there are converted: each address gets its current guard key (the claim's when
 * the port is the claim's and its reservation holds the address, else the port's), and the old
 * keys go, in one transaction per switch. The work is the switch's own rows, which the daemon
 * holds anyway; nothing else of the shared NB is read.
 *
 * The transaction is guarded like an allocation: it commits only while every old key it
 * converts is still there (a `wait` on the switch and on each port, by `_uuid`) and while each
 * new key is free or already the same (takeKeysOps). Two daemons converting at once compute the
 * same keys: both commit, nothing is lost or made twice. An address whose current key names
 * another holder (two holders of one address, made while old and new daemons ran side by side) is
 * not converted: it is logged, and its old keys stay.
 */
import { isGuardConflict } from '../errors.ts';
import type { Logger } from '../lib/log.ts';
import { eq, condition, mutation, type Operation } from '../ovsdb/ops.ts';
import { isUuid, type Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { IpamKeys, OwnerKeys, ScopeKeys } from '../ovn/ids.ts';
import { portsByNode } from '../ovn/indexes.ts';
import { nbOps, type NbClient } from '../ovn/nb.ts';
import { deleteKeysOps, takeKeysOps } from '../ovn/switch-keys.ts';
import { switchByUuid, type LogicalSwitch } from '../ovn/switches.ts';
import { addressKey, holderValue } from './guards.ts';
import { claimKey, reservationsOf } from './reservations.ts';
import { catchUp } from './catch-up.ts';

/** The old per-address key of a claim's reservation, on the switch (its value was always "ipam-claim"). */
const LEGACY_RESERVED = 'ovn-multinet/reserved:';
/** The old per-address key on a port had today's guard key's name: `IpamKeys.address`. */
const LEGACY_PORT_KEY = IpamKeys.address;

const MAX_ATTEMPTS = 20;
/** How long the start waits for the switches of this node's ports to come into view. */
const START_WAIT_MS = 10_000;

/** What converting the old keys of one switch takes. */
export interface LegacyConversion {
  /** Current guard keys to take (address key -> holder). */
  take: Map<string, string>;
  /** Old keys on the switch to delete, and the reservation keys they were read with (both kept while converting). */
  dropSwitch: Map<string, string>;
  keepSwitch: Map<string, string>;
  /** Old keys on each port to delete. */
  dropPorts: Array<{ uuid: Uuid; name: string; pairs: Map<string, string> }>;
  /** Addresses whose current key names another holder: left as they are. */
  conflicts: Array<{ address: string; wanted: string; found: string }>;
}

/** The old keys of the switch and of its ports in the cache, and what they become. */
export function legacyConversion(nb: NbClient, sw: LogicalSwitch): LegacyConversion {
  const plan: LegacyConversion = { take: new Map(), dropSwitch: new Map(), keepSwitch: new Map(), dropPorts: [], conflicts: [] };
  const claimOf = new Map<string, string>();
  for (const r of reservationsOf(sw.externalIds)) for (const address of [r.mac, ...r.ips]) if (!claimOf.has(address)) claimOf.set(address, r.claim);
  /** Whether `address` can get `value`: free, or already so. */
  const want = (address: string, value: string): boolean => {
    const key = addressKey(address);
    const found = plan.take.get(key) ?? sw.externalIds.get(key);
    if (found === undefined || found === value) {
      if (found === undefined) plan.take.set(key, value);
      return true;
    }
    plan.conflicts.push({ address, wanted: value, found });
    return false;
  };
  for (const [key, value] of sw.externalIds) {
    if (!key.startsWith(LEGACY_RESERVED)) continue;
    const address = key.slice(LEGACY_RESERVED.length);
    const claim = claimOf.get(address);
    // A key no reservation holds any more (released by a newer daemon, which knows only today's keys) just goes.
    if (claim !== undefined && !want(address, holderValue({ claim }))) continue;
    plan.dropSwitch.set(key, value);
    if (claim !== undefined) plan.keepSwitch.set(claimKey(claim), sw.externalIds.get(claimKey(claim)) ?? '');
  }
  for (const uuid of sw.ports) {
    const port = nb.cache.row(NbTable.Logical_Switch_Port, uuid);
    if (port === undefined) continue;
    const claim = port.external_ids.get(OwnerKeys.ipamClaim);
    const pairs = new Map<string, string>();
    for (const [key, value] of port.external_ids) {
      if (!key.startsWith(LEGACY_PORT_KEY) || value !== sw.uuid) continue;
      const address = key.slice(LEGACY_PORT_KEY.length);
      const ofClaim = claim !== undefined && claimOf.get(address) === claim ? claim : undefined;
      if (!want(address, holderValue(ofClaim === undefined ? { port: port.name } : { claim: ofClaim }))) continue;
      pairs.set(key, value);
      if (ofClaim !== undefined) plan.keepSwitch.set(claimKey(ofClaim), sw.externalIds.get(claimKey(ofClaim)) ?? '');
    }
    if (pairs.size > 0) plan.dropPorts.push({ uuid, name: port.name, pairs });
  }
  return plan;
}

/**
 * The transaction: the guards first (the old keys still there; then the new keys, takeKeysOps'
 * insert and wait), then the deletions. Returns the operations and how many of them, from the
 * first, are guards.
 */
export function conversionOps(sw: LogicalSwitch, plan: LegacyConversion): { ops: Operation[]; guards: number } {
  const kept = new Map([...plan.dropSwitch, ...plan.keepSwitch]);
  const waits: Operation[] = [
    ...(kept.size === 0 ? [] : [nbOps.wait(NbTable.Logical_Switch, [eq('_uuid', sw.uuid), condition('external_ids', 'includes', kept)], ['name'], '==', [{ name: sw.name }], 0)]),
    ...plan.dropPorts.map((p) => nbOps.wait(NbTable.Logical_Switch_Port, [eq('_uuid', p.uuid), condition('external_ids', 'includes', p.pairs)], ['name'], '==', [{ name: p.name }], 0)),
  ];
  const take = plan.take.size === 0 ? [] : takeKeysOps(sw, plan.take);
  const drops = [
    ...deleteKeysOps(sw.uuid, plan.dropSwitch),
    ...plan.dropPorts.map((p) => nbOps.mutate(NbTable.Logical_Switch_Port, [eq('_uuid', p.uuid)], [mutation('external_ids', 'delete', p.pairs)])),
  ];
  return { ops: [...waits, ...take, ...drops], guards: waits.length + take.length };
}

/** Converts the old keys the cache shows on the switch; resolves once none is left to convert. */
async function convertSwitch(nb: NbClient, switchUuid: Uuid, log: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const sw = switchByUuid(nb, switchUuid);
    if (sw === undefined) return;
    const plan = legacyConversion(nb, sw);
    for (const c of plan.conflicts) {
      log.warn({ switch: sw.name, address: c.address, oldHolder: c.wanted, holder: c.found }, 'an address guarded in the old format is held by another in the current one: left unconverted');
    }
    if (plan.dropSwitch.size === 0 && plan.dropPorts.length === 0) return;
    const { ops, guards } = conversionOps(sw, plan);
    try {
      await nb.transact(ops, signal);
      log.info({ switch: sw.name, guardKeys: plan.take.size, oldSwitchKeys: plan.dropSwitch.size, oldPorts: plan.dropPorts.length }, 'converted old-format guard keys and reservations');
      return;
    } catch (err) {
      if (!isGuardConflict(err, guards) || attempt + 1 >= MAX_ATTEMPTS) throw err;
      await catchUp(nb, NbTable.Logical_Switch, sw.uuid, (r) => r.external_ids !== sw.externalIds || r.ports !== sw.ports, signal);
    }
  }
}

/** Conversions done or under way, by client and switch: once per switch in a daemon's life. */
const converted = new WeakMap<NbClient, Map<Uuid, Promise<void>>>();

/**
 * Converts the switch's old keys the first time this daemon asks (the request that serves it;
 * requests that come meanwhile wait for that one, and try themselves if it failed, e.g. because
 * its own request was cancelled). A failure is thrown to the caller, and the next call tries again.
 */
export async function convertLegacyKeys(nb: NbClient, sw: LogicalSwitch, log: Logger, signal: AbortSignal): Promise<void> {
  let byClient = converted.get(nb);
  if (byClient === undefined) {
    byClient = new Map();
    converted.set(nb, byClient);
  }
  const done = byClient;
  for (;;) {
    let pending = done.get(sw.uuid);
    const mine = pending === undefined;
    if (pending === undefined) {
      pending = convertSwitch(nb, sw.uuid, log, signal);
      done.set(sw.uuid, pending);
      // Registered first, so the memo is gone before any waiter sees the failure.
      pending.catch(() => done.delete(sw.uuid));
    }
    try {
      await pending;
      return;
    } catch (err) {
      if (mine) throw err;
      signal.throwIfAborted();
    }
  }
}

/**
 * At start: the switches of this node's ports (by their `ovn-multinet/switch` key), once they are
 * in view (NbScope brings them with every port on them), each converted whole.
 */
export async function convertLegacyKeysAtStart(nb: NbClient, node: string, log: Logger, signal: AbortSignal): Promise<void> {
  const switches = new Set<Uuid>();
  for (const port of portsByNode(nb).rows(node)) {
    // The switch key, and the old guard keys' values (the switch's uuid too) on a port older still.
    for (const [key, value] of port.external_ids) if ((key === ScopeKeys.switch || key.startsWith(LEGACY_PORT_KEY)) && isUuid(value)) switches.add(value);
  }
  const inView = AbortSignal.any([signal, AbortSignal.timeout(START_WAIT_MS)]);
  for (const uuid of switches) {
    if (switchByUuid(nb, uuid) === undefined && !(await nb.cache.waitForRow(NbTable.Logical_Switch, (r) => r._uuid === uuid, inView).then(() => true, () => false))) continue;
    await convertSwitch(nb, uuid, log, signal);
  }
}
