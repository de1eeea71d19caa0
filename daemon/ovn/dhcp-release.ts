/**
 * DHCP_Options rows go with their network: when a switch the daemon serves is deleted (its ports
 * go with it, they are its children), the rows ovn-multinet made for it are root rows and would
 * stay for ever. Every daemon serving the switch sees the deletion and deletes them, in a
 * transaction that first proves the switch is gone (a `wait` for no row with its uuid: a switch
 * that only left this daemon's view keeps its rows). Deleting a row twice is a no-op, so daemons
 * racing each other do no harm.
 *
 * Not covered: rows of a switch deleted while no daemon served it, or while the NB connection
 * was down (a controller sweep could find those).
 */
import type { RowChange } from '../ovsdb/cache.ts';
import { isGuardConflict } from '../errors.ts';
import { eq, type Operation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import type { Logger } from '../lib/log.ts';
import { OWNER_VALUE, OwnerKeys, ScopeKeys } from './ids.ts';
import { type NbClient, type NbRows, nbOps } from './nb.ts';

const RELEASE_TIMEOUT_MS = 10_000;

/** The rows of ours made for switch `switchUuid`, from the cache. */
export function dhcpRowsOf(nb: NbClient, switchUuid: Uuid): Uuid[] {
  const rows: Uuid[] = [];
  for (const row of nb.cache.table(NbTable.DHCP_Options).values()) {
    const ids = row.external_ids;
    if (ids.get(OwnerKeys.owner) === OWNER_VALUE && ids.get(ScopeKeys.switch) === switchUuid) rows.push(row._uuid);
  }
  return rows;
}

/** Deletes `rows`, only if switch `switchUuid` no longer exists (op 0 fails otherwise). */
export function releaseDhcpOps(switchUuid: Uuid, rows: readonly Uuid[]): Operation[] {
  return [nbOps.wait(NbTable.Logical_Switch, [eq('_uuid', switchUuid)], ['_uuid'], '==', [], 0), ...rows.map((uuid) => nbOps.del(NbTable.DHCP_Options, [eq('_uuid', uuid)]))];
}

/** Follows the client's cache: a deleted switch's DHCP rows are deleted with it. */
export function releaseDhcpWithSwitches(nb: NbClient, log: Logger): void {
  nb.cache.on('change', (change: RowChange<NbRows>) => {
    if (change.table !== NbTable.Logical_Switch || change.new !== undefined || change.old === undefined) return;
    const switchUuid = change.uuid;
    // Read now: the monitor condition drops these rows once the switch has left the view.
    const rows = dhcpRowsOf(nb, switchUuid);
    if (rows.length === 0) return;
    nb.transact(releaseDhcpOps(switchUuid, rows), AbortSignal.timeout(RELEASE_TIMEOUT_MS)).then(
      () => log.info({ switch: switchUuid, rows }, 'removed the DHCP options of a deleted switch'),
      (err: unknown) => {
        if (!isGuardConflict(err, 1)) log.warn({ err, switch: switchUuid, rows }, 'could not remove the DHCP options of a deleted switch');
      },
    );
  });
}
