/**
 * The OVN Northbound as the daemon sees it: what it monitors, the types of the rows it holds, the
 * operation builders, and the client as the daemon and the controller make it from their flags.
 */
import type { Logger } from '../lib/log.ts';
import { echoIntervalFor, type NbFlags } from '../lib/flags.ts';
import { modelClient, type OvsdbClient } from '../ovsdb/client.ts';
import type { Monitored, MonitorSpecOf } from '../ovsdb/model.ts';
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { nbModel, type NbTable, type NbTables } from '../ovsdb/models/nb.ts';
import { typedOps } from '../ovsdb/typed-ops.ts';

/** Tables and columns the daemon monitors in the NB. */
export const NB_MONITOR = {
  Logical_Switch: ['name', 'ports', 'qos_rules', 'other_config', 'external_ids'],
  Logical_Switch_Port: ['name', 'type', 'addresses', 'dynamic_addresses', 'port_security', 'options', 'external_ids'],
  Logical_Router_Port: ['name', 'mac', 'networks', 'ipv6_ra_configs'],
  DHCP_Options: ['cidr', 'options', 'external_ids'],
} as const;

/** The rows the daemon's NB client holds. */
export type NbRows = Monitored<NbTables, typeof NB_MONITOR>;

/** The daemon's NB client (a client monitoring fewer tables, as release-node's, passes for one). */
export type NbClient = OvsdbClient<NbRows>;

/** The rows of each table, as the daemon's NB client holds them. */
export type SwitchRow = NbRows[typeof NbTable.Logical_Switch];
export type PortRow = NbRows[typeof NbTable.Logical_Switch_Port];
export type RouterPortRow = NbRows[typeof NbTable.Logical_Router_Port];
export type DhcpRow = NbRows[typeof NbTable.DHCP_Options];

/** The operation builders, with the NB's tables and columns checked. */
export const nbOps = typedOps<NbTables>();


/** What of the monitored tables a client holds (client.ts options of the same names). */
export interface NbSelection {
  readonly conditions: () => MonitorConditions;
  readonly watched?: ReadonlyArray<(typeof NbTable)[keyof typeof NbTable]>;
  readonly prepare?: (signal: AbortSignal) => Promise<void>;
}

/**
 * Not started; with several remotes (a raft cluster) it talks to the leader only. With
 * `selection`, only the rows it selects are held (the daemon's NbScope).
 */
export function nbClient<const Spec extends MonitorSpecOf<NbTables>>(flags: NbFlags, monitor: Spec, logger: Logger, selection?: NbSelection): OvsdbClient<Monitored<NbTables, Spec>> {
  return modelClient(nbModel, monitor, {
    remotes: flags.nbDb,
    leaderOnly: flags.nbDb.length > 1,
    echoIntervalMs: echoIntervalFor(flags.dbInactivityProbeMs),
    logger,
    ...(flags.nbTls === undefined ? {} : { tls: flags.nbTls }),
    ...selection,
  });
}
