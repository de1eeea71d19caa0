/**
 * An IPAMClaim's addresses moving between its ports (a live migration). While one port of the
 * claim is active, a port made for the same claim elsewhere is a standby: port security as usual,
 * but no `addresses` (so no L2 lookup flow: unicast keeps going to the running VM), its entry kept
 * in external_ids. Deleting the active port promotes the first standby in the same transaction.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { condition, eq, mutate, mutation, update, wait, type Operation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { stringMapOf, stringOf } from '../lib/rows.ts';
import { OwnerKeys } from '../ovn/ids.ts';
import { portsByClaim, switchesByPort } from '../ovn/indexes.ts';
import { inPortOrder, type LogicalSwitch } from '../ovn/switches.ts';

/**
 * The standby ports of IPAMClaim `claim` on the switch (claimStandby set), from the cache's
 * claim and port -> switch indexes, in the order of the switch's `ports`. `sw` must be current.
 */
export function standbyPorts(nb: OvsdbClient, sw: LogicalSwitch, claim: string): Array<{ uuid: Uuid; name: string; entry: string }> {
  const onSwitch = switchesByPort(nb);
  const ofClaim = [...portsByClaim(nb).get(claim)].filter((uuid) => onSwitch.has(uuid, sw.uuid));
  const found: Array<{ uuid: Uuid; name: string; entry: string }> = [];
  for (const uuid of inPortOrder(sw, ofClaim)) {
    const row = nb.cache.row('Logical_Switch_Port', uuid);
    if (row === undefined) continue;
    const ids = stringMapOf(row, 'external_ids');
    const entry = ids.get(OwnerKeys.claimStandby);
    if (entry !== undefined && ids.get(OwnerKeys.ipamClaim) === claim) found.push({ uuid, name: stringOf(row, 'name') ?? '', entry });
  }
  return found;
}

/**
 * Deleting the active port of a claim: commits only if the claim's standby ports are exactly the
 * ones the caller saw (`standby`), and promotes the first of them (its entry into `addresses`).
 */
export function handOverOps(claim: string, entry: string, standby: ReadonlyArray<{ uuid: Uuid; name: string }>): { ops: Operation[]; guards: number } {
  const guard = wait(
    'Logical_Switch_Port',
    [condition('external_ids', 'includes', new Map([[OwnerKeys.ipamClaim, claim], [OwnerKeys.claimStandby, entry]]))],
    ['name'],
    '==',
    standby.map((p) => ({ name: p.name })),
    0,
  );
  const next = standby[0];
  const promote =
    next === undefined
      ? []
      : [
          update('Logical_Switch_Port', [eq('_uuid', next.uuid)], { addresses: [entry] }),
          mutate('Logical_Switch_Port', [eq('_uuid', next.uuid)], [mutation('external_ids', 'delete', [OwnerKeys.claimStandby])]),
        ];
  return { ops: [guard, ...promote], guards: 1 };
}
