/**
 * What the Network controller reads from the NB: logical switches only (name and ids), for the
 * switches an admin marks to expose (ExposeKeys) and the definitions of managed networks.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { Monitored } from '../ovsdb/model.ts';
import { NbTable, type NbTables } from '../ovsdb/models/nb.ts';
import { switchNamed } from './switches.ts';
import { AmbiguousSwitchError } from '../errors.ts';

export const CONTROLLER_NB_MONITOR = {
  Logical_Switch: ['name', 'other_config', 'external_ids'],
} as const;

/** The controller's NB client. */
export type ControllerNbClient = OvsdbClient<Monitored<NbTables, typeof CONTROLLER_NB_MONITOR>>;

export interface SwitchIds {
  name: string;
  externalIds: ReadonlyMap<string, string>;
}

/** The switch's external_ids, or why there are none. */
export function switchIds(nb: ControllerNbClient, name: string): ReadonlyMap<string, string> | 'missing' | 'ambiguous' {
  try {
    return switchNamed(nb, name)?.external_ids ?? 'missing';
  } catch (err) {
    if (err instanceof AmbiguousSwitchError) return 'ambiguous';
    throw err;
  }
}

/** Every switch whose external_ids has `key`. */
export function switchesWith(nb: ControllerNbClient, key: string): SwitchIds[] {
  const found: SwitchIds[] = [];
  for (const row of nb.cache.table(NbTable.Logical_Switch).values()) {
    const externalIds = row.external_ids;
    if (externalIds.has(key)) found.push({ name: row.name, externalIds });
  }
  return found;
}
