// The checked-in schemas the models are generated from (daemon/ovsdb/schemas/) against the
// servers installed here: a live ovsdb-server of each database, from the installed schema, answers
// get_schema with every table and column the models declare, of the same types; and a client made
// with the model connects to it (the client refuses a server that does not fit).
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { modelMismatches, type DatabaseModel, type MonitorSpecOf } from '../../daemon/ovsdb/model.ts';
import { parseSchema } from '../../daemon/ovsdb/schema.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { ovsModel } from '../../daemon/ovsdb/models/vswitch.ts';
import { NB_MONITOR } from '../../daemon/ovn/nb.ts';
import { OVS_MONITOR } from '../../daemon/ovs/bridge.ts';
import { NB_SCHEMA, startOvsdbServer, VSWITCH_SCHEMA } from '../helpers/ovsdb-server.ts';

async function checkFits<Tables>(t: Test, schema: string, model: DatabaseModel<Tables>, monitor: MonitorSpecOf<Tables>): Promise<void> {
  const { server } = await startOvsdbServer(t, schema);
  const { stdout } = await execa('ovsdb-client', ['get-schema', server.unixRemote, model.name]);
  const live = parseSchema(JSON.parse(stdout));
  t.same(modelMismatches(live, model), [], `every table and column of the model, same types (server schema ${live.version})`);

  const client = modelClient(model, monitor, { remotes: [server.unixRemote] });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(AbortSignal.timeout(10_000));
  t.ok(client.connected, 'a client with the model connects');
}

t.test('OVN_Northbound: the installed server fits the model', (t) => checkFits(t, NB_SCHEMA, nbModel, NB_MONITOR));
t.test('Open_vSwitch: the installed server fits the model', (t) => checkFits(t, VSWITCH_SCHEMA, ovsModel, OVS_MONITOR));
