/**
 * Writes a PolicyPlan into the NB: compares it with the rows ovn-multinet owns there (Port_Group,
 * Address_Set and ACL rows with the owner mark, as the controller's cache holds them:
 * daemon/ovn/exposed.ts) and writes only the differences, so a plan that did not change writes
 * nothing, and a changed address set or ACL is the only row touched.
 *
 * - Port groups: inserted with their ACLs (named uuids), deleted when the plan no longer has them
 *   (their ACLs, referenced from nowhere else, go with them: OVSDB garbage-collects ACL rows);
 *   their ports and ACL set changed by `mutate` of the differences. Ports are logical switch port
 *   names in the plan, uuids in the NB: a port not (yet) in the cache is left out, and the result
 *   says `retry` (the next pass adds it).
 * - ACLs: found by their key (PolicyKeys.acl) within their port group; a changed one is updated
 *   in place (same row), a stale one removed from its port group's `acls`.
 * - Address sets: inserted, their `addresses` mutated by the differences, deleted.
 * Rows without the owner mark never reach the cache and are never named by an operation: an
 * admin's ACL on one of our port groups stays there too.
 *
 * One transaction holds the whole change unless it is larger than MAX_OPS operations; then it is
 * cut into several, in an order whose every prefix leaves the NB consistent for northd: address
 * sets are written first and deleted last, so an ACL's `$set` never names a set that is not there.
 *
 * Only the leader writes. A deposed leader's transaction still in flight may commit after the new
 * leader's; what it wrote is its (older) plan, which the new leader's next pass (woken by the
 * change of these monitored tables) compares and corrects. Port_Group and Address_Set names are
 * unique in the NB schema, so two leaders inserting the same row end with one (the second
 * transaction fails and its pass retries); an ACL inserted twice into a port group under one key
 * is removed by the next pass.
 */
import type { Operation } from '../ovsdb/ops.ts';
import { eq, mutation } from '../ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { nbOps } from '../ovn/nb.ts';
import type { ControllerNbClient } from '../ovn/exposed.ts';
import { OWNER_VALUE, OwnerKeys, PolicyKeys } from '../ovn/ids.ts';
import type { PolicyPlan, WantedAcl, WantedPortGroup } from './model.ts';
import { OvsdbTransactionError } from '../errors.ts';

/** Operations per transaction, at most (a group that must commit together is never cut). */
const MAX_OPS = 1000;

export interface PolicySyncResult {
  /** Some ports of the plan are not in the cache yet: run again. */
  retry: boolean;
  /** The port names left out of their port groups (not in the cache). */
  missingPorts: readonly string[];
  /** Why groups of rows the NB refused were left out (each group: a row and what commits with it). */
  failures: readonly string[];
  /** How many transactions were sent (0: the NB was already as planned), refused ones included. */
  transactions: number;
  /** The operations committed. */
  operations: number;
}

const owned = (ids: ReadonlyMap<string, string>): boolean => ids.get(OwnerKeys.owner) === OWNER_VALUE;

/** `ids` with the owner mark. */
function markedIds(ids: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...ids, [OwnerKeys.owner, OWNER_VALUE]]);
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

/** What `wanted` adds to `have` and what it drops from it. */
function diff<T>(have: Iterable<T>, wanted: Iterable<T>): { add: T[]; drop: T[] } {
  const had = new Set(have);
  const want = new Set(wanted);
  return { add: [...want].filter((x) => !had.has(x)), drop: [...had].filter((x) => !want.has(x)) };
}

/** The external_ids of an ACL of port group `pg`: the owner mark, its key, and the port group's policy. */
function aclIds(pg: WantedPortGroup, acl: WantedAcl): Map<string, string> {
  const ids = new Map<string, string>([[OwnerKeys.owner, OWNER_VALUE], [PolicyKeys.acl, acl.key]]);
  const policy = pg.externalIds.get(PolicyKeys.policy);
  if (policy !== undefined) ids.set(PolicyKeys.policy, policy);
  return ids;
}

function aclRow(pg: WantedPortGroup, acl: WantedAcl): { priority: number; direction: string; match: string; action: string; external_ids: Map<string, string> } {
  return { priority: acl.priority, direction: acl.direction, match: acl.match, action: acl.action, external_ids: aclIds(pg, acl) };
}

interface CachedAcl {
  readonly priority: number;
  readonly direction: string;
  readonly match: string;
  readonly action: string;
  readonly external_ids: ReadonlyMap<string, string>;
}

function sameAcl(row: CachedAcl, want: ReturnType<typeof aclRow>): boolean {
  return row.priority === want.priority && row.direction === want.direction && row.match === want.match && row.action === want.action && sameMap(row.external_ids, want.external_ids);
}

/**
 * The operations that make the owned rows what `plan` says, as groups (each group commits in one
 * transaction), in the order they may be sent; and the ports not in the cache.
 */
function policyOps(nb: ControllerNbClient, plan: PolicyPlan): { groups: Operation[][]; missingPorts: string[] } {
  const cache = nb.cache;
  const portUuids = new Map<string, Uuid>();
  for (const row of cache.table(NbTable.Logical_Switch_Port).values()) portUuids.set(row.name, row._uuid);
  const missing = new Set<string>();
  const resolve = (names: readonly string[]): Uuid[] =>
    names.flatMap((name) => {
      const uuid = portUuids.get(name);
      if (uuid === undefined) missing.add(name);
      return uuid === undefined ? [] : [uuid];
    });

  const setsFirst: Operation[][] = [];
  const groups: Operation[][] = [];
  const setsLast: Operation[][] = [];

  // Address sets.
  const haveSets = new Map<string, { _uuid: Uuid; addresses: readonly string[]; external_ids: ReadonlyMap<string, string> }>();
  for (const row of cache.table(NbTable.Address_Set).values()) if (owned(row.external_ids)) haveSets.set(row.name, row);
  for (const want of plan.addressSets.values()) {
    const ids = markedIds(want.externalIds);
    const have = haveSets.get(want.name);
    if (have === undefined) {
      setsFirst.push([nbOps.insert(NbTable.Address_Set, { name: want.name, addresses: [...new Set(want.addresses)], external_ids: ids })]);
      continue;
    }
    const where = [eq('_uuid', have._uuid)];
    const { add, drop } = diff(have.addresses, want.addresses);
    const ops: Operation[] = [];
    if (add.length > 0 || drop.length > 0) {
      ops.push(nbOps.mutate(NbTable.Address_Set, where, [...(drop.length > 0 ? [mutation('addresses', 'delete', drop)] : []), ...(add.length > 0 ? [mutation('addresses', 'insert', add)] : [])]));
    }
    if (!sameMap(have.external_ids, ids)) ops.push(nbOps.update(NbTable.Address_Set, where, { external_ids: ids }));
    if (ops.length > 0) setsFirst.push(ops);
  }
  for (const [name, have] of haveSets) if (!plan.addressSets.has(name)) setsLast.push([nbOps.del(NbTable.Address_Set, [eq('_uuid', have._uuid)])]);

  // Port groups and their ACLs.
  const haveGroups = new Map<string, { _uuid: Uuid; ports: readonly Uuid[]; acls: readonly Uuid[]; external_ids: ReadonlyMap<string, string> }>();
  for (const row of cache.table(NbTable.Port_Group).values()) if (owned(row.external_ids)) haveGroups.set(row.name, row);
  let named = 0;
  for (const want of plan.portGroups.values()) {
    const ids = markedIds(want.externalIds);
    const ports = [...new Set(resolve(want.ports))];
    const have = haveGroups.get(want.name);
    if (have === undefined) {
      const ops: Operation[] = [];
      const acls = want.acls.map((acl) => {
        const name = `acl${named++}`;
        ops.push(nbOps.insert(NbTable.ACL, aclRow(want, acl), name));
        return namedUuid(name);
      });
      ops.push(nbOps.insert(NbTable.Port_Group, { name: want.name, ports, acls, external_ids: ids }));
      groups.push(ops);
      continue;
    }
    const where = [eq('_uuid', have._uuid)];
    const ops: Operation[] = [];
    const mutations = [];
    const portDiff = diff(have.ports, ports);
    if (portDiff.drop.length > 0) mutations.push(mutation('ports', 'delete', portDiff.drop));
    if (portDiff.add.length > 0) mutations.push(mutation('ports', 'insert', portDiff.add));
    // The owned ACLs on it, by key; an admin's (not in the cache) are left where they are.
    const byKey = new Map<string, { uuid: Uuid; row: CachedAcl }>();
    const dropAcls: Uuid[] = [];
    for (const uuid of have.acls) {
      const row = cache.row(NbTable.ACL, uuid);
      if (row === undefined || !owned(row.external_ids)) continue;
      const key = row.external_ids.get(PolicyKeys.acl);
      if (key === undefined || byKey.has(key)) dropAcls.push(uuid);
      else byKey.set(key, { uuid, row });
    }
    const addAcls = [];
    const wantedKeys = new Set<string>();
    for (const acl of want.acls) {
      wantedKeys.add(acl.key);
      const row = aclRow(want, acl);
      const found = byKey.get(acl.key);
      if (found === undefined) {
        const name = `acl${named++}`;
        ops.push(nbOps.insert(NbTable.ACL, row, name));
        addAcls.push(namedUuid(name));
      } else if (!sameAcl(found.row, row)) {
        ops.push(nbOps.update(NbTable.ACL, [eq('_uuid', found.uuid)], row));
      }
    }
    for (const [key, found] of byKey) if (!wantedKeys.has(key)) dropAcls.push(found.uuid);
    if (dropAcls.length > 0) mutations.push(mutation('acls', 'delete', dropAcls));
    if (addAcls.length > 0) mutations.push(mutation('acls', 'insert', addAcls));
    if (mutations.length > 0) ops.push(nbOps.mutate(NbTable.Port_Group, where, mutations));
    if (!sameMap(have.external_ids, ids)) ops.push(nbOps.update(NbTable.Port_Group, where, { external_ids: ids }));
    if (ops.length > 0) groups.push(ops);
  }
  // Deleting a port group unlinks its ACLs: OVSDB removes them with it.
  for (const [name, have] of haveGroups) if (!plan.portGroups.has(name)) groups.push([nbOps.del(NbTable.Port_Group, [eq('_uuid', have._uuid)])]);

  return { groups: [...setsFirst, ...groups, ...setsLast], missingPorts: [...missing].sort() };
}

/** Groups packed into transactions of at most `maxOps` operations, in order (a larger group alone). */
function chunk(groups: readonly Operation[][], maxOps: number): Operation[][][] {
  const chunks: Operation[][][] = [];
  let current: Operation[][] = [];
  let size = 0;
  for (const group of groups) {
    if (size > 0 && size + group.length > maxOps) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(group);
    size += group.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Makes ovn-multinet's policy rows in the NB what `plan` says: one transaction of the
 * differences (several of at most `maxOps` operations for a large change), none when there are
 * none. A transaction the NB refuses (a row someone else made under one of the plan's names) is
 * sent again one group at a time, so only the groups that fail are left out (`failures`, and the
 * result says retry). Rejects as OvsdbClient.transact does otherwise; what committed before stays,
 * and the next pass compares again.
 */
export async function syncPolicyRows(nb: ControllerNbClient, plan: PolicyPlan, signal: AbortSignal, maxOps = MAX_OPS): Promise<PolicySyncResult> {
  const { groups, missingPorts } = policyOps(nb, plan);
  let transactions = 0;
  let operations = 0;
  const failures: string[] = [];
  const send = async (ops: Operation[]): Promise<void> => {
    transactions++;
    await nb.transact(ops, signal);
    operations += ops.length;
  };
  for (const part of chunk(groups, maxOps)) {
    try {
      await send(part.flat());
    } catch (err) {
      if (!(err instanceof OvsdbTransactionError)) throw err;
      if (part.length === 1) {
        failures.push(err.message);
        continue;
      }
      for (const group of part) {
        try {
          await send(group);
        } catch (one) {
          if (!(one instanceof OvsdbTransactionError)) throw one;
          failures.push(one.message);
        }
      }
    }
  }
  return { retry: missingPorts.length > 0 || failures.length > 0, missingPorts, failures, transactions, operations };
}
