/**
 * A worker process of the many-nodes bench (forked by nodes-simulated.ts): holds a share of the
 * simulated nodes, each the daemon's own NB view (`nodeNbView`: its client, scope and indexes,
 * made from the daemon's own flags and defaults), so each asks the NB exactly what a daemon with
 * that node name asks. Driven by the parent's orders (nodes-protocol.ts).
 */
import { buildCli } from '../daemon/cli.ts';
import { nbFlags, type NbFlags } from '../daemon/lib/flags.ts';
import { createLogger } from '../daemon/lib/log.ts';
import { findSwitch } from '../daemon/ovn/switches.ts';
import { nodeNbView, type NodeNbView } from '../daemon/ovn/node-view.ts';
import { parseOrder, type WorkerAnswer, type WorkerOrder } from './nodes-protocol.ts';

/** The NB flags of `ovn-multinetd daemon --nb-db REMOTES`, every other flag at its default. */
async function daemonNbFlags(remotes: readonly string[]): Promise<NbFlags> {
  const cli = buildCli();
  const daemon = cli.commands.find((c) => c.name() === 'daemon');
  if (daemon === undefined) throw new Error('the CLI has no daemon command');
  daemon.action(() => undefined);
  await cli.parseAsync(['node', 'ovn-multinetd', 'daemon', '--nb-db', remotes.join(',')]);
  return nbFlags(daemon.opts());
}

// The daemon logs to stdout; here only the counts matter.
const log = createLogger('silent');
let views: NodeNbView[] = [];
let disconnects = 0;

async function handle(order: WorkerOrder): Promise<WorkerAnswer> {
  switch (order.kind) {
    case 'connect': {
      const flags = await daemonNbFlags(order.remotes);
      views = order.names.map((name) => nodeNbView(flags, name, log));
      for (const { nb } of views) {
        nb.on('disconnected', () => disconnects++);
        nb.start();
      }
      const signal = AbortSignal.timeout(order.limitMs);
      const connected = await Promise.all(views.map(({ nb }) => nb.waitConnected(signal).then(() => true, () => false)));
      return { kind: 'connected', connected: connected.filter(Boolean).length };
    }
    case 'serve': {
      // What an ADD does first on its network (server/handler.ts, attachments/network.ts): hold
      // the name while the switch is served, then look it up.
      const signal = AbortSignal.timeout(order.limitMs);
      const failed: string[] = [];
      const found = await Promise.all(
        views.map(async ({ nb, scope }) => {
          try {
            return await scope.holding(order.network, async () => {
              await scope.serve(order.network, signal);
              return findSwitch(nb, order.network) !== undefined;
            });
          } catch (err) {
            failed.push(err instanceof Error ? err.message : String(err));
            return false;
          }
        }),
      );
      return { kind: 'served', inView: found.filter(Boolean).length, failed };
    }
    case 'close': {
      const seen = disconnects;
      await Promise.all(views.map(({ nb }) => nb.close()));
      views = [];
      return { kind: 'closed', disconnects: seen };
    }
    default: {
      const never: never = order;
      throw new Error(`unhandled order ${JSON.stringify(never)}`);
    }
  }
}

const send = (answer: WorkerAnswer): void => {
  process.send?.(answer);
};

process.on('message', (message: unknown) => {
  void (async () => {
    try {
      send(await handle(parseOrder(message)));
    } catch (err) {
      send({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
send({ kind: 'ready' });
