/**
 * npm run bench:ipam: cluster IPAM throughput. ALLOCATORS independent NB clients (each what one
 * node's daemon runs: its own connection, monitor cache and the daemon's createLogicalPort) create
 * ports on ONE switch at once against one NB ovsdb-server, until TOTAL ports exist. Reported:
 * allocations per second, conflicts retried, and duplicate addresses in the NB afterwards; beside
 * the same allocations by a single allocator (no contention) and by ovn-nbctl (one process per
 * port, addresses from a counter: no allocation at all), measured in the same run.
 */
import { execa } from 'execa';
import { modelClient } from '../daemon/ovsdb/client.ts';
import { nbModel } from '../daemon/ovsdb/models/nb.ts';
import { createLogicalPort } from '../daemon/ipam/allocate.ts';
import { findSwitch } from '../daemon/ovn/switches.ts';
import { NB_MONITOR, type NbClient } from '../daemon/ovn/nb.ts';
import { parseIpamSettings } from '../daemon/ipam/pool.ts';
import { NB_SCHEMA, startOvsdbServer } from '../test/helpers/ovsdb-server.ts';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const ALLOCATORS = num('IPAM_ALLOCATORS', 20);
const TOTAL = num('IPAM_TOTAL', 2000);
const CLI_TOTAL = num('IPAM_CLI_TOTAL', 100);

const cleanups: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => void cleanups.push(fn) };

async function connected(remote: string): Promise<NbClient> {
  const client = modelClient(nbModel, NB_MONITOR, { remotes: [remote] });
  client.start();
  cleanups.push(() => client.close());
  await client.waitConnected(AbortSignal.timeout(10_000));
  return client;
}

interface Run {
  what: string;
  allocations: number;
  seconds: number;
  retries: number;
  duplicates: number;
}

/** `allocators` clients create `total` ports on switch `name` at once. */
async function allocate(remote: string, name: string, allocators: number, total: number): Promise<Run> {
  const clients = await Promise.all(Array.from({ length: allocators }, () => connected(remote)));
  await execa('ovn-nbctl', [`--db=${remote}`, 'ls-add', name, '--', 'set', 'logical_switch', name, 'other_config:subnet=10.128.0.0/16']);
  await Promise.all(clients.map((c) => c.cache.waitForRow('Logical_Switch', (r) => r['name'] === name, AbortSignal.timeout(10_000))));
  let next = 0;
  let retries = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (nb, k) => {
      const sw = findSwitch(nb, name);
      if (sw === undefined) throw new Error('switch not in cache');
      const settings = parseIpamSettings(sw.otherConfig, sw.externalIds);
      while (next < total) {
        const i = next++;
        await createLogicalPort(
          nb,
          {
            switchName: name,
            settings,
            name: `${name}-${k}-${i}`,
            portSecurity: true,
            externalIds: new Map([['ovn-multinet/container-id', `${name}-${i}`], ['ovn-multinet/ifname', 'net1']]),
            reconnected: () => {
              retries++;
              return Promise.resolve();
            },
          },
          AbortSignal.timeout(60_000),
        );
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rows = (await execa('ovn-nbctl', [`--db=${remote}`, '--format=csv', '--data=bare', '--no-headings', '--columns=name,addresses', 'list', 'logical_switch_port'])).stdout.split('\n');
  const addresses = rows.filter((r) => r.startsWith(`${name}-`)).map((r) => r.split(',')[1]?.split(' ')[1] ?? '');
  return { what: `${allocators} allocator${allocators === 1 ? '' : 's'}`, allocations: addresses.length, seconds, retries, duplicates: addresses.length - new Set(addresses).size };
}

async function cliBaseline(remote: string, total: number): Promise<Run> {
  await execa('ovn-nbctl', [`--db=${remote}`, 'ls-add', 'cli']);
  const started = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    const ip = `10.129.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    await execa('ovn-nbctl', [`--db=${remote}`, 'lsp-add', 'cli', `cli-${i}`, '--', 'lsp-set-addresses', `cli-${i}`, `0a:58:0a:81:00:00 ${ip}`]);
  }
  return { what: 'ovn-nbctl, 1 process per port (no allocation)', allocations: total, seconds: Number(process.hrtime.bigint() - started) / 1e9, retries: 0, duplicates: 0 };
}

try {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const remote = server.unixRemote;
  const runs = [await allocate(remote, 'single', 1, TOTAL), await allocate(remote, 'contended', ALLOCATORS, TOTAL), await cliBaseline(remote, CLI_TOTAL)];
  console.log('| run | ports | seconds | allocations/s | reconnect retries | duplicate addresses |\n| --- | --- | --- | --- | --- | --- |');
  for (const r of runs) console.log(`| ${r.what} | ${r.allocations} | ${r.seconds.toFixed(2)} | ${(r.allocations / r.seconds).toFixed(0)} | ${r.retries} | ${r.duplicates} |`);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
