// An ADD's switch lookup (attachments/network.ts lookupSwitch) against a real ovsdb-server whose
// session drops in the middle of it: the lookup waits for the next session (--db-wait from the
// request's arrival) and runs again, so a managed network's switch is made once the NB is back;
// an NB that stays away is code 11, with nothing made.
import t from 'tap';
import pino from 'pino';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { NbScope } from '../../daemon/ovn/scope.ts';
import { NB_MONITOR, type NbClient } from '../../daemon/ovn/nb.ts';
import { lookupSwitch } from '../../daemon/attachments/network.ts';
import type { Attacher } from '../../daemon/attachments/context.ts';
import { parseConfig } from '../../daemon/netconf/parse.ts';
import { toCniError } from '../../daemon/server/cni-errors.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { NB_SCHEMA, startOvsdbServer, type Teardown } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(10_000);
const NODE = 'node-a';
const SWITCH = 'blue-net';
const conf = parseConfig({ cniVersion: '1.0.0', name: 'blue', type: 'ovn-multinet', logicalSwitch: SWITCH, topology: 'layer2', subnets: '10.7.0.0/24' });

async function attacher(t: Teardown, remote: string, dbWaitMs: number): Promise<Attacher> {
  const scope = new NbScope(NODE);
  const nb: NbClient = modelClient(nbModel, NB_MONITOR, { remotes: [remote], ...scope.selection });
  scope.attach(nb);
  t.teardown(() => nb.close());
  nb.start();
  await nb.waitConnected(deadline());
  // The switch's name served and caught up while it does not exist: the lookup's serve() costs
  // nothing, so the first NB call it makes is the transaction that creates the switch.
  await scope.serve(SWITCH, deadline());
  return { nb, scope, node: NODE, dbWaitMs, log: pino({ level: 'silent' }) } as unknown as Attacher;
}

t.test('the session drops while the switch is made: made on the next session', async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const ctx = await attacher(t, server.unixRemote, 5000);
  // Frozen, the server takes the transaction and answers nothing; killed, it drops the session.
  server.signal('SIGSTOP');
  const lookup = lookupSwitch(ctx, conf, deadline(), performance.now());
  await new Promise((r) => setTimeout(r, 200));
  await server.kill();
  await new Promise((r) => setTimeout(r, 300));
  await server.start();
  const { sw, settings } = await lookup;
  t.equal(sw.name, SWITCH, 'the switch, made on the next session');
  t.same(settings.subnets.map((s) => s.cidr), ['10.7.0.0/24'], 'with the network\'s subnet');
  const made = [...ctx.nb.cache.table('Logical_Switch').values()].filter((row) => row.name === SWITCH);
  t.equal(made.length, 1, 'exactly one switch of that name');
});

t.test('the NB stays away: code 11 once --db-wait has passed since the arrival, nothing made', async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const ctx = await attacher(t, server.unixRemote, 500);
  server.signal('SIGSTOP');
  const arrived = performance.now();
  const lookup = lookupSwitch(ctx, conf, deadline(), arrived).catch((err: unknown) => err);
  await new Promise((r) => setTimeout(r, 100));
  await server.kill();
  const err = await lookup;
  const waited = performance.now() - arrived;
  t.equal(toCniError(err, 'ADD').code, ErrorCode.TryAgainLater, `code 11: ${String(err)}`);
  t.ok(waited >= 450, `answered after --db-wait (${Math.round(waited)} ms)`);
  await server.start();
  await ctx.nb.waitConnected(deadline());
  await ctx.scope.refresh(deadline());
  t.notOk([...ctx.nb.cache.table('Logical_Switch').values()].some((row) => row.name === SWITCH), 'no switch made');
});
