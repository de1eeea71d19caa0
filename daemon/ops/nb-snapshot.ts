/**
 * The NB as the operator commands read it: one short-lived client of our own (never ovn-nbctl)
 * monitoring the switches, their ports (with `up`, which the daemon does not monitor) and the
 * router ports, read once and closed. The rows are the cache's, typed; every value in them is
 * still anyone's input and is checked where it is used.
 */
import type { NbFlags } from '../lib/flags.ts';
import { createLogger } from '../lib/log.ts';
import type { Monitored } from '../ovsdb/model.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable, type NbTables } from '../ovsdb/models/nb.ts';
import { NB_MONITOR, nbClient } from '../ovn/nb.ts';
import { OpsFailedError } from '../errors.ts';

export const OPS_NB_MONITOR = {
  Logical_Switch: NB_MONITOR.Logical_Switch,
  Logical_Switch_Port: [...NB_MONITOR.Logical_Switch_Port, 'up'],
  Logical_Router_Port: ['name', 'networks'],
} as const;

type OpsRows = Monitored<NbTables, typeof OPS_NB_MONITOR>;
export type OpsSwitchRow = OpsRows[typeof NbTable.Logical_Switch];
export type OpsPortRow = OpsRows[typeof NbTable.Logical_Switch_Port];
export type OpsRouterPortRow = OpsRows[typeof NbTable.Logical_Router_Port];

/** The NB's switches, logical switch ports (by uuid) and router ports at one moment. */
export interface NbSnapshot {
  readonly switches: readonly OpsSwitchRow[];
  readonly ports: ReadonlyMap<Uuid, OpsPortRow>;
  readonly routerPorts: readonly OpsRouterPortRow[];
}

/** Connects, reads, closes; an NB not reached within `timeoutMs` is an OpsFailedError naming it. */
export async function readNbSnapshot(flags: NbFlags, timeoutMs: number): Promise<NbSnapshot> {
  const client = nbClient(flags, OPS_NB_MONITOR, createLogger('silent'));
  client.start();
  try {
    try {
      await client.waitConnected(AbortSignal.timeout(timeoutMs));
    } catch (err) {
      throw new OpsFailedError(`cannot reach the OVN Northbound database at ${flags.nbDb.join(',')} within ${timeoutMs} ms (--nb-db, --timeout)`, { cause: err });
    }
    return {
      switches: [...client.cache.table(NbTable.Logical_Switch).values()],
      ports: new Map(client.cache.table(NbTable.Logical_Switch_Port)),
      routerPorts: [...client.cache.table(NbTable.Logical_Router_Port).values()],
    };
  } finally {
    await client.close();
  }
}
