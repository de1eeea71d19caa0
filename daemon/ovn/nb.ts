/** The OVN Northbound client as the daemon and the controller make it from their flags. */
import type { Logger } from '../lib/log.ts';
import { echoIntervalFor, type NbFlags } from '../lib/flags.ts';
import { modelClient, type OvsdbClient } from '../ovsdb/client.ts';
import type { Monitored, MonitorSpecOf } from '../ovsdb/model.ts';
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { nbModel, type NbTables } from '../ovsdb/models/nb.ts';

/**
 * Not started; with several remotes (a raft cluster) it talks to the leader only. With
 * `conditions`, only the rows they select are monitored (the daemon's NbScope).
 */
export function nbClient<const Spec extends MonitorSpecOf<NbTables>>(flags: NbFlags, monitor: Spec, logger: Logger, conditions?: () => MonitorConditions): OvsdbClient<Monitored<NbTables, Spec>> {
  return modelClient(nbModel, monitor, {
    remotes: flags.nbDb,
    leaderOnly: flags.nbDb.length > 1,
    echoIntervalMs: echoIntervalFor(flags.dbInactivityProbeMs),
    logger,
    ...(flags.nbTls === undefined ? {} : { tls: flags.nbTls }),
    ...(conditions === undefined ? {} : { conditions }),
  });
}
