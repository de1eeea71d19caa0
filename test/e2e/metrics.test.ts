// The daemon's and the controller's metrics and probes (issue 22, items 1 and 2; docs/metrics.md),
// scraped over HTTP from a real daemon after real ADDs, a DEL, a failing ADD, a malformed request
// and a container gone without DEL, and while its Northbound database is stopped and started
// again; and from a real controller leading with a Network on the same switch.
import t from 'tap';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createNetns } from '../helpers/netns.ts';
import { DAEMON_BINARY, e2eSkipReason, startNode, type TestNode } from '../helpers/node.ts';
import { sendToSocket } from '../helpers/socket-client.ts';
import { until } from '../helpers/until.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { startController } from '../helpers/controller.ts';
import { freePort } from '../helpers/ovsdb-server.ts';

const skip = e2eSkipReason();

/** Fetched from inside the sandbox's netns, where the daemon listens on 127.0.0.1. */
const FETCH = 'fetch(process.argv[1]).then(async (r) => console.log(JSON.stringify({ status: r.status, type: r.headers.get("content-type"), body: await r.text() })))';

interface Reply {
  status: number;
  type: string;
  body: string;
}

async function get(node: TestNode, port: number, path: string): Promise<Reply> {
  return JSON.parse(await node.sandbox.exec([process.execPath, '-e', FETCH, `http://127.0.0.1:${port}${path}`])) as Reply;
}

/** The value of one series of the text format, its labels in any order; undefined if absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const found = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (found.size === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** The listener's /readyz once it answers 503 (within 15 s). */
function notReady(node: TestNode, port: number): Promise<Reply> {
  return until('not ready', async () => {
    const r = await get(node, port, '/readyz');
    return r.status === 503 ? r : undefined;
  }, 15_000);
}

/** Whether the daemon has a session with `database`: its series of every remote summed (one is 1 at most). */
function connected(text: string, database: string): number {
  let sum = 0;
  for (const m of text.matchAll(/^ovn_multinet_database_connected\{(.*)\} (\S+)$/gm)) if ((m[1] ?? '').includes(`database="${database}"`)) sum += Number(m[2]);
  return sum;
}

t.test('metrics and probes', { skip }, async (t) => {
  const port = await freePort();
  const node = await startNode(t, { daemon: { extraArgs: ['--metrics-port', String(port), '--db-wait', '1000', '--reconcile-interval', '300', '--reconcile-grace', '600'] } });
  t.ok(node.daemon.logs.some((l) => l['msg'] === 'metrics and probes listening' && l['port'] === port && l['address'] === '127.0.0.1'), 'the listener is logged');
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  const config = node.config('red');
  const scrape = async (): Promise<string> => (await get(node, port, '/metrics')).body;

  await until('ready', async () => ((await get(node, port, '/readyz')).status === 200 ? true : undefined), 10_000);
  t.match(await get(node, port, '/healthz'), { status: 200, body: 'ok\n' }, '/healthz');
  t.match(await get(node, port, '/nothing'), { status: 404 }, 'anything else: 404');

  const a = await createNetns(t);
  const b = await createNetns(t);
  t.equal((await node.cni({ command: 'ADD', containerId: 'm-a', netns: a.path, ifName: 'net1' }, config)).exitCode, 0, 'ADD a');
  t.equal((await node.cni({ command: 'ADD', containerId: 'm-b', netns: b.path, ifName: 'net1' }, config)).exitCode, 0, 'ADD b');
  t.equal((await node.cni({ command: 'DEL', containerId: 'm-a', netns: a.path, ifName: 'net1' }, config)).exitCode, 0, 'DEL a');
  const bad = await node.cni({ command: 'ADD', containerId: 'm-c', netns: a.path, ifName: 'net1' }, { ...config, mtu: '1400' });
  t.equal(bad.json?.['code'], 7, `a bad config fails with code 7: ${bad.stdout}`);
  const malformed = await sendToSocket(node.daemon.socket, { chunks: [Buffer.from('not json\n')], gapMs: 0, finish: 'end' });
  const printed = (JSON.parse(malformed.reply) as { stdout: string }).stdout;
  t.match(JSON.parse(printed), { code: 6 }, 'a request that is not JSON: code 6');

  const metrics = await get(node, port, '/metrics');
  t.match(metrics.type, /^text\/plain; version=0\.0\.4/, 'the Prometheus text format');
  const text = metrics.body;
  const count = (command: string, code: string): number | undefined => sample(text, 'ovn_multinet_cni_request_duration_seconds_count', { command, code });
  t.equal(count('ADD', '0'), 2, 'two ADDs succeeded');
  t.equal(count('DEL', '0'), 1, 'one DEL');
  t.equal(count('ADD', '7'), 1, 'one ADD failed with code 7');
  t.equal(count('CHECK', '0'), undefined, 'no CHECK: no series');
  t.ok((sample(text, 'ovn_multinet_cni_request_duration_seconds_sum', { command: 'ADD', code: '0' }) ?? 0) > 0, 'ADD durations summed');
  t.equal(sample(text, 'ovn_multinet_cni_request_duration_seconds_bucket', { command: 'ADD', code: '0', le: '+Inf' }), 2, 'in the +Inf bucket');
  t.equal(sample(text, 'ovn_multinet_cni_requests_in_flight'), 0, 'nothing in flight');
  t.equal(sample(text, 'ovn_multinet_cni_requests_queued'), 0, 'nothing queued');
  t.equal(sample(text, 'ovn_multinet_cni_requests_refused_total', { reason: 'malformed_request' }), 1, 'the malformed request refused');
  t.equal(sample(text, 'ovn_multinet_cni_requests_refused_total', { reason: 'too_many_connections' }), 0, 'the other reasons at 0');
  t.equal(sample(text, 'ovn_multinet_database_connected', { database: 'nb', remote: node.sandbox.env.NB_DB }), 1, 'NB connected, through its one remote');
  t.equal(connected(text, 'ovs'), 1, 'Open_vSwitch connected');
  for (const phase of ['nb_transaction', 'kernel', 'ovn_installed']) {
    t.equal(sample(text, 'ovn_multinet_add_phase_duration_seconds_count', { phase }), 2, `${phase}: once for each ADD that succeeded`);
    const sum = sample(text, 'ovn_multinet_add_phase_duration_seconds_sum', { phase }) ?? 0;
    const adds = sample(text, 'ovn_multinet_cni_request_duration_seconds_sum', { command: 'ADD', code: '0' }) ?? 0;
    t.ok(sum > 0 && sum < adds, `${phase}: ${sum.toFixed(4)} s, within the ADDs' ${adds.toFixed(4)} s`);
  }
  t.equal(sample(text, 'ovn_multinet_nb_transaction_retries_total', { reason: 'address_taken' }), 0, 'no address taken meanwhile');
  t.equal(sample(text, 'ovn_multinet_switch_address_capacity', { switch: 'red', family: 'ipv4' }), 253, 'red: a /24 less network, broadcast and the first address (left for a gateway)');
  t.equal(sample(text, 'ovn_multinet_switch_addresses_in_use', { switch: 'red', family: 'ipv4' }), 1, 'red: b\'s address (a\'s freed by its DEL)');
  t.equal(sample(text, 'ovn_multinet_switch_addresses_reserved', { switch: 'red', family: 'ipv4' }), 0, 'red: no IPAMClaim');
  t.ok((sample(text, 'ovn_multinet_reconciler_pass_duration_seconds_count') ?? 0) >= 1, 'the reconciler has run');
  t.equal(sample(text, 'ovn_multinet_reconciler_removals_total', { reason: 'container_gone' }), 0, 'nothing removed yet');

  // A container gone without DEL: its netns deleted takes the pod end, and the veth with it.
  const gone = await createNetns(t);
  t.equal((await node.cni({ command: 'ADD', containerId: 'm-gone', netns: gone.path, ifName: 'net1' }, config)).exitCode, 0, 'ADD of a container about to go');
  await gone.remove();
  const removed = await until('the reconciler removes it', async () => {
    const now = await scrape();
    return sample(now, 'ovn_multinet_reconciler_removals_total', { reason: 'container_gone' }) === 1 ? now : undefined;
  }, 15_000);
  t.equal(sample(removed, 'ovn_multinet_switch_addresses_in_use', { switch: 'red', family: 'ipv4' }), 1, 'its address free again');
  t.equal(sample(text, 'ovn_multinet_database_reconnects_total', { database: 'nb' }), 0, 'no reconnection yet');
  t.ok((sample(text, 'ovn_multinet_process_cpu_seconds_total') ?? 0) > 0, 'process metrics, prefixed');
  t.not(sample(text, 'ovn_multinet_nodejs_eventloop_lag_seconds'), undefined, 'event-loop lag');

  await node.sandbox.db('stop', 'nb');
  t.teardown(() => node.sandbox.db('start', 'nb'));
  const down = await notReady(node, port);
  t.equal(down.body, 'not ready: not connected to the OVN Northbound database\n', '/readyz names what is missing');
  t.equal(connected(await scrape(), 'nb'), 0, 'NB not connected');
  t.equal((await get(node, port, '/healthz')).status, 200, 'still alive');
  const away = await node.cni({ command: 'ADD', containerId: 'm-d', netns: a.path, ifName: 'net1' }, config);
  t.equal(away.json?.['code'], 11, `an ADD without the NB: code 11: ${away.stdout}`);

  await node.sandbox.db('start', 'nb');
  await until('ready again', async () => ((await get(node, port, '/readyz')).status === 200 ? true : undefined), 15_000);
  const after = await scrape();
  t.equal(connected(after, 'nb'), 1, 'NB connected again');
  t.equal(sample(after, 'ovn_multinet_database_reconnects_total', { database: 'nb' }), 1, 'one reconnection counted');
  t.equal(sample(after, 'ovn_multinet_database_reconnects_total', { database: 'ovs' }), 0, 'none to Open_vSwitch');
  t.equal(sample(after, 'ovn_multinet_cni_request_duration_seconds_count', { command: 'ADD', code: '11' }), 1, 'the ADD refused for the database');

  t.equal((await node.cni({ command: 'DEL', containerId: 'm-b', netns: b.path, ifName: 'net1' }, config)).exitCode, 0, 'DEL b');
  const last = await scrape();
  t.equal(sample(last, 'ovn_multinet_cni_request_duration_seconds_count', { command: 'DEL', code: '0' }), 2, 'two DELs');
  t.equal(sample(last, 'ovn_multinet_cni_requests_in_flight'), 0, 'in flight back to 0');
});

t.test('the controller: its probes, whether it leads, and the addresses of each Network', { skip }, async (t) => {
  const port = await freePort();
  const node = await startNode(t, {});
  const netns = node.sandbox.env.SANDBOX_NETNS;
  const api = await startFakeApiServer(t, { netns });
  await node.sandbox.nbctl(['ls-add', 'blue', '--', 'set', 'logical_switch', 'blue', 'other_config:subnet=10.9.0.0/29', 'other_config:exclude_ips=10.9.0.6']);
  const one = await createNetns(t);
  t.equal((await node.cni({ command: 'ADD', containerId: 'c-1', netns: one.path, ifName: 'net1' }, node.config('blue'))).exitCode, 0, 'an attachment on blue');
  await api.apply('networks', { metadata: { name: 'tenant-blue' }, spec: { logicalSwitch: 'blue' } });
  const controller = startController(t, { netns, kubeconfig: api.kubeconfig, nbDb: node.sandbox.env.NB_DB, api, extraArgs: ['--metrics-port', String(port)] });
  // Refused until the controller listens.
  await until('ready', async () => ((await get(node, port, '/readyz').catch(() => undefined))?.status === 200 ? true : undefined), 15_000);
  t.match(await get(node, port, '/healthz'), { status: 200, body: 'ok\n' }, '/healthz');
  await controller.leading();
  const text = await until('the leader exports tenant-blue', async () => {
    const now = (await get(node, port, '/metrics')).body;
    return sample(now, 'ovn_multinet_controller_leader') === 1 && now.includes('network="tenant-blue"') ? now : undefined;
  }, 10_000);
  const labels = { network: 'tenant-blue', switch: 'blue', family: 'ipv4' };
  t.equal(sample(text, 'ovn_multinet_network_address_capacity', labels), 4, 'a /29 less network, broadcast, the first address and the excluded .6');
  t.equal(sample(text, 'ovn_multinet_network_addresses_in_use', labels), 1, 'the one attachment');
  t.equal(sample(text, 'ovn_multinet_network_addresses_reserved', labels), 0);
  t.equal(sample(text, 'ovn_multinet_database_connected', { database: 'nb', remote: node.sandbox.env.NB_DB }), 1, 'NB connected');
  t.equal(sample(text, 'ovn_multinet_live_migrations'), 0, 'no migration');
  t.equal(sample(text, 'ovn_multinet_dead_node_ports_released_total'), 0, 'no release');
  t.ok(controller.logs().includes('metrics and probes listening'), 'the listener is logged');
  await node.sandbox.db('stop', 'nb');
  t.teardown(() => node.sandbox.db('start', 'nb'));
  const down = await notReady(node, port);
  t.equal(down.body, 'not ready: not connected to the OVN Northbound database\n', 'the NB away: not ready, saying why');
  await node.sandbox.db('start', 'nb');
  await until('ready again', async () => ((await get(node, port, '/readyz')).status === 200 ? true : undefined), 15_000);
  t.equal(sample((await get(node, port, '/metrics')).body, 'ovn_multinet_database_reconnects_total', { database: 'nb' }), 1, 'one reconnection');
});

t.test('a start that fails leaves nothing running: the process exits, the metrics port is free', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omn-failstart-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // The socket path is taken by a directory: the CNI socket cannot be made, after the listener and
  // the database clients have started.
  const socket = join(dir, 'cni.sock');
  await mkdir(join(socket, 'inner'), { recursive: true });
  const port = await freePort();
  const started = Date.now();
  const run = await execa(DAEMON_BINARY, ['daemon', '--socket', socket, '--nb-db', `unix:${join(dir, 'nb.sock')}`, '--ovs-db', `unix:${join(dir, 'ovs.sock')}`,
    '--metrics-port', String(port), '--node-name', 'failstart'], { reject: false, timeout: 20_000 });
  t.equal(run.timedOut, false, `the daemon exited (${Date.now() - started} ms) instead of running on without a CNI socket`);
  t.equal(run.exitCode, 1, 'with a non-zero status');
  t.match(run.stderr, 'exists and is not a socket', 'naming the cause');
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((resolve) => probe.close(resolve));
  t.pass('the metrics port is free again');
});
