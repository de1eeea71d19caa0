/** The OVN Northbound client as the daemon and the controller make it from their flags. */
import type { Logger } from '../lib/log.ts';
import { echoIntervalFor, type NbFlags } from '../lib/flags.ts';
import { OvsdbClient } from '../ovsdb/client.ts';
import type { MonitorConditions, MonitorSpec } from '../ovsdb/monitor.ts';

/**
 * Not started; with several remotes (a raft cluster) it talks to the leader only. With
 * `conditions`, only the rows they select are monitored (the daemon's NbScope).
 */
export function nbClient(flags: NbFlags, monitor: MonitorSpec, logger: Logger, conditions?: () => MonitorConditions): OvsdbClient {
  return new OvsdbClient({
    remotes: flags.nbDb,
    database: 'OVN_Northbound',
    monitor,
    leaderOnly: flags.nbDb.length > 1,
    echoIntervalMs: echoIntervalFor(flags.dbInactivityProbeMs),
    logger,
    ...(flags.nbTls === undefined ? {} : { tls: flags.nbTls }),
    ...(conditions === undefined ? {} : { conditions }),
  });
}
