/**
 * What the Network controller reads from the NB: logical switches only (name and ids), for the
 * switches an admin marks to expose (ExposeKeys) and the definitions of managed networks.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { stringMapOf, stringOf } from '../lib/rows.ts';
import { findSwitch } from './switches.ts';
import { AmbiguousSwitchError } from '../errors.ts';

export const CONTROLLER_NB_MONITOR = {
  Logical_Switch: ['name', 'other_config', 'external_ids'],
} as const;

export interface SwitchIds {
  name: string;
  externalIds: ReadonlyMap<string, string>;
}

/** The switch's external_ids, or why there are none. */
export function switchIds(nb: OvsdbClient, name: string): ReadonlyMap<string, string> | 'missing' | 'ambiguous' {
  try {
    return findSwitch(nb, name)?.externalIds ?? 'missing';
  } catch (err) {
    if (err instanceof AmbiguousSwitchError) return 'ambiguous';
    throw err;
  }
}

/** Every switch whose external_ids has `key`. */
export function switchesWith(nb: OvsdbClient, key: string): SwitchIds[] {
  const found: SwitchIds[] = [];
  for (const row of nb.cache.table('Logical_Switch').values()) {
    const externalIds = stringMapOf(row, 'external_ids');
    if (externalIds.has(key)) found.push({ name: stringOf(row, 'name') ?? '', externalIds });
  }
  return found;
}
