// The daemon's and the controller's metrics (daemon/metrics/): what the hooks record, what the
// listener answers, and docs/metrics.md's reference tables, rendered here from DAEMON_METRICS and
// CONTROLLER_METRICS so the two cannot drift (on a change, paste the rows this test prints as
// expected into the doc).
import t from 'tap';
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { DAEMON_METRICS, cniCodeOf, commandLabel, createMetricsRegistry, type ScrapeSources } from '../../daemon/metrics/registry.ts';
import { CONTROLLER_METRICS, NO_CONTROLLER_METRICS, createControllerRegistry } from '../../daemon/metrics/controller-registry.ts';
import type { LabelledUsage, MetricDefinition } from '../../daemon/metrics/define.ts';
import { NO_METRICS, REMOVAL_REASONS } from '../../daemon/metrics/hooks.ts';
import type { Registry } from 'prom-client';
import { listenProbes, readinessText } from '../../daemon/metrics/http.ts';
import { errorOutput, successOutput } from '../../daemon/cni-spec/output.ts';
import { CniError } from '../../daemon/cni-spec/errors.ts';

/** One row of docs/metrics.md's table. */
function row(def: MetricDefinition): string {
  const labels = def.labels.length === 0 ? 'none' : (def.labelValues ?? def.labels.join(', '));
  return `| \`${def.name}\` | ${def.type} | ${labels} | ${def.help} |`;
}

/** Sources of a daemon registry: everything idle, `over` replacing some. */
function daemonSources(over: Partial<ScrapeSources> = {}): ScrapeSources {
  const up = { connectedTo: () => 'unix:/db.sock' };
  return { queued: () => 0, databases: { nb: { remotes: ['unix:/db.sock'], ...up }, ovs: { remotes: ['unix:/db.sock'], ...up } }, suspects: () => 0, servedSwitches: () => [], dhcpRows: () => 0, ...over };
}

function controllerRegistry(over: Partial<Parameters<typeof createControllerRegistry>[0]> = {}): ReturnType<typeof createControllerRegistry> {
  return createControllerRegistry({ nb: { remotes: ['tcp:10.0.0.1:6641'], connectedTo: () => 'tcp:10.0.0.1:6641' }, leading: () => true, networks: () => [], liveMigrations: () => 0, ...over });
}

/** The value of the first series of `name` whose labels include `labels` (undefined: none). */
async function valueOf(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))?.value;
}

const doc = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8');

/** The metric rows of the docs section `## heading`, up to the next `## `. */
function documentedRows(heading: string): string[] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/metrics.md has no section ${heading}`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end).split('\n').filter((line) => line.startsWith('| `ovn_multinet_'));
}

t.test('docs/metrics.md lists exactly the metrics the daemon and the controller define', async (t) => {
  t.same(documentedRows('The daemon\'s metrics'), Object.values(DAEMON_METRICS).map(row), 'the daemon\'s table rows, in order');
  t.same(documentedRows('The controller\'s metrics'), Object.values(CONTROLLER_METRICS).map(row), 'the controller\'s table rows, in order');
});

t.test('every definition is a metric of its registry, with its type and help', async (t) => {
  for (const [what, { registry }, defs] of [['daemon', createMetricsRegistry(daemonSources()), DAEMON_METRICS], ['controller', controllerRegistry(), CONTROLLER_METRICS]] as const) {
    const exported = await registry.getMetricsAsJSON();
    for (const def of Object.values(defs) as MetricDefinition[]) {
      t.match(exported.find((m) => m.name === def.name), { type: def.type, help: def.help }, `${what}: ${def.name}`);
      t.match(def.name, /^ovn_multinet_[a-z_]+$/, `${def.name}: prefixed, snake case`);
      if (def.type === 'counter') t.match(def.name, /_total$/, `${def.name}: a counter ends in _total`);
      else t.notMatch(def.name, /_total$/, `${def.name}: only counters end in _total`);
    }
    t.ok(exported.some((m) => m.name === 'ovn_multinet_process_cpu_seconds_total'), `${what}: the default process metrics, prefixed`);
    t.notOk(exported.some((m) => !m.name.startsWith('ovn_multinet_')), `${what}: nothing unprefixed`);
  }
});

t.test('the CNI code and command of an answer', async (t) => {
  t.equal(cniCodeOf(successOutput(undefined, '1.1.0')), 0, 'success');
  t.equal(cniCodeOf(errorOutput(new CniError(7, 'bad config'), '1.1.0')), 7, 'the printed error code');
  t.equal(cniCodeOf({ exitCode: 1, stdout: 'garbage' }), 999, 'an error without JSON');
  t.equal(cniCodeOf({ exitCode: 1, stdout: '{"msg":"x"}' }), 999, 'an error without a code');
  t.equal(cniCodeOf(undefined), 999, 'no answer');
  t.equal(commandLabel('ADD'), 'ADD');
  t.equal(commandLabel('GC'), 'GC');
  t.equal(commandLabel('add'), 'unknown', 'not a spec command: one label value');
  t.equal(commandLabel(undefined), 'unknown');
});

t.test('the hooks record requests, refusals and reconnections; scrapes read the queue and the databases', async (t) => {
  let queued = 3;
  let nb: string | undefined = undefined;
  const { registry, metrics } = createMetricsRegistry(daemonSources({ queued: () => queued, databases: { nb: { remotes: ['tcp:a:6641', 'tcp:b:6641'], connectedTo: () => nb }, ovs: { remotes: ['unix:/ovs'], connectedTo: () => 'unix:/ovs' } } }));
  const done = metrics.requestStarted('ADD');
  const value = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && Object.keys(v.labels).length >= Object.keys(labels).length)?.value;
  };
  t.equal(await value(DAEMON_METRICS.inFlight.name), 1, 'one in flight');
  done(errorOutput(new CniError(11, 'try again'), '1.1.0'));
  t.equal(await value(DAEMON_METRICS.inFlight.name), 0, 'answered');
  t.equal(await value(`${DAEMON_METRICS.requestDuration.name}`, { command: 'ADD', code: '11', le: '+Inf' }), 1, 'observed by command and code');
  metrics.requestStarted('BOGUS')(undefined);
  t.equal(await value(DAEMON_METRICS.requestDuration.name, { command: 'unknown', code: '999', le: '+Inf' }), 1, 'an unknown command, no answer');
  t.equal(await value(DAEMON_METRICS.queued.name), 3, 'the queue, read at scrape');
  queued = 0;
  t.equal(await value(DAEMON_METRICS.queued.name), 0, 'and again');
  t.equal(await value(DAEMON_METRICS.refused.name, { reason: 'read_timeout' }), 0, 'every reason from the start');
  metrics.refused('read_timeout');
  t.equal(await value(DAEMON_METRICS.refused.name, { reason: 'read_timeout' }), 1, 'a refusal');
  t.equal(await value(DAEMON_METRICS.databaseConnected.name, { database: 'nb', remote: 'tcp:a:6641' }), 0, 'NB away: each remote 0');
  t.equal(await value(DAEMON_METRICS.databaseConnected.name, { database: 'nb', remote: 'tcp:b:6641' }), 0);
  nb = 'tcp:b:6641';
  t.equal(await value(DAEMON_METRICS.databaseConnected.name, { database: 'nb', remote: 'tcp:b:6641' }), 1, 'NB back through the second remote');
  t.equal(await value(DAEMON_METRICS.databaseConnected.name, { database: 'nb', remote: 'tcp:a:6641' }), 0, 'not through the first');
  t.equal(await value(DAEMON_METRICS.databaseConnected.name, { database: 'ovs', remote: 'unix:/ovs' }), 1, 'the local database');
  metrics.reconnected('nb');
  t.equal(await value(DAEMON_METRICS.databaseReconnects.name, { database: 'nb' }), 1, 'a reconnection');
  t.equal(await value(DAEMON_METRICS.databaseReconnects.name, { database: 'ovs' }), 0, 'per database');
  // The listener off: the same calls, nothing recorded, nothing thrown.
  NO_METRICS.requestStarted('ADD')(undefined);
  NO_METRICS.refused('malformed_request');
  NO_METRICS.reconnected('ovs');
});

t.test('ADD phases, retries, monitor resumes, the reconciler, served switches and DHCP rows', async (t) => {
  let usage: LabelledUsage[] = [{ labels: { switch: 'blue' }, usage: [{ family: 4, subnet: '10.0.0.0/29', capacity: 5n, used: 2n, reserved: 1n }, { family: 6, subnet: 'fd00::/120', capacity: 254n, used: 1n, reserved: 0n }] }];
  const { registry, metrics } = createMetricsRegistry(daemonSources({ suspects: () => 4, servedSwitches: () => usage, dhcpRows: () => 2 }));
  const value = (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => valueOf(registry, name, labels);
  metrics.addPhase('kernel', 0.003);
  metrics.addPhase('kernel', 0.002);
  metrics.addPhase('ovn_installed', 0.2);
  t.equal(await value(`${DAEMON_METRICS.addPhase.name}`, { phase: 'kernel', le: '+Inf' }), 2, 'two kernel observations');
  const sum = /ovn_multinet_add_phase_duration_seconds_sum\{phase="kernel"\} ([0-9.e-]+)/.exec(await registry.metrics())?.[1];
  t.ok(sum !== undefined && Math.abs(Number(sum) - 0.005) < 1e-9, `their sum in seconds: ${String(sum)}`);
  t.equal(await value(DAEMON_METRICS.addPhase.name, { phase: 'ovn_installed', le: '0.25' }), 1, 'a 200 ms wait in the 250 ms bucket');
  t.equal(await value(DAEMON_METRICS.transactionRetries.name, { reason: 'address_taken' }), 0, 'retries from 0');
  metrics.transactionRetried('address_taken');
  t.equal(await value(DAEMON_METRICS.transactionRetries.name, { reason: 'address_taken' }), 1, 'a retry');
  metrics.monitorResumed('nb');
  t.equal(await value(DAEMON_METRICS.monitorResumes.name, { database: 'nb' }), 1, 'a resumed monitor');
  t.equal(await value(DAEMON_METRICS.monitorResumes.name, { database: 'ovs' }), 0);
  for (const reason of REMOVAL_REASONS) t.equal(await value(DAEMON_METRICS.reconcilerRemovals.name, { reason }), 0, `removals (${reason}) from 0`);
  metrics.removed('container_gone');
  metrics.removed('container_gone');
  metrics.reconcilerPass(0.01);
  metrics.portRestored();
  t.equal(await value(DAEMON_METRICS.reconcilerRemovals.name, { reason: 'container_gone' }), 2, 'two removals');
  t.equal(await value(DAEMON_METRICS.reconcilerPass.name, { le: '+Inf' }), 1, 'a pass');
  t.equal(await value(DAEMON_METRICS.portsRestored.name), 1, 'a restored port');
  t.equal(await value(DAEMON_METRICS.reconcilerSuspects.name), 4, 'suspects, read at scrape');
  t.equal(await value(DAEMON_METRICS.dhcpRows.name), 2, 'DHCP rows, read at scrape');
  const text = await registry.metrics();
  t.match(text, 'ovn_multinet_switch_address_capacity{switch="blue",family="ipv4"} 5');
  t.match(text, 'ovn_multinet_switch_addresses_in_use{switch="blue",family="ipv4"} 2');
  t.match(text, 'ovn_multinet_switch_addresses_reserved{switch="blue",family="ipv4"} 1');
  t.match(text, 'ovn_multinet_switch_address_capacity{switch="blue",family="ipv6"} 254');
  usage = [];
  t.notMatch(await registry.metrics(), 'switch="blue"', 'a switch no longer served has no series left');
});

t.test('the controller: leader, addresses of each Network on the leader only, migrations, releases', async (t) => {
  let leading = false;
  const { registry, metrics } = controllerRegistry({
    leading: () => leading,
    networks: () => [{ labels: { network: 'red', switch: 'ls-red' }, usage: [{ family: 4, subnet: '10.1.0.0/24', capacity: 253n, used: 10n, reserved: 3n }] }],
    liveMigrations: () => 1,
  });
  t.equal(await valueOf(registry, CONTROLLER_METRICS.leader.name), 0, 'not leading');
  t.notMatch(await registry.metrics(), 'network="red"', 'a replica that does not lead exports no addresses');
  leading = true;
  t.equal(await valueOf(registry, CONTROLLER_METRICS.leader.name), 1, 'leading');
  const text = await registry.metrics();
  t.match(text, 'ovn_multinet_network_address_capacity{network="red",switch="ls-red",family="ipv4"} 253');
  t.match(text, 'ovn_multinet_network_addresses_in_use{network="red",switch="ls-red",family="ipv4"} 10');
  t.match(text, 'ovn_multinet_network_addresses_reserved{network="red",switch="ls-red",family="ipv4"} 3');
  t.equal(await valueOf(registry, CONTROLLER_METRICS.liveMigrations.name), 1);
  t.equal(await valueOf(registry, CONTROLLER_METRICS.deadNodePortsReleased.name), 0, 'releases from 0');
  metrics.portsReleased(3);
  metrics.reconnected();
  t.equal(await valueOf(registry, CONTROLLER_METRICS.deadNodePortsReleased.name), 3);
  t.equal(await valueOf(registry, CONTROLLER_METRICS.databaseReconnects.name, { database: 'nb' }), 1);
  t.equal(await valueOf(registry, CONTROLLER_METRICS.databaseConnected.name, { database: 'nb', remote: 'tcp:10.0.0.1:6641' }), 1);
  NO_CONTROLLER_METRICS.portsReleased(1);
});

t.test('the listener: /metrics, /healthz, /readyz and nothing else', async (t) => {
  const { registry } = createMetricsRegistry(daemonSources());
  let missing: string[] = ['not connected to the OVN Northbound database'];
  const { server, port } = await listenProbes({ address: '127.0.0.1', port: 0, registry, notReady: () => missing, log: pino({ level: 'silent' }) });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.ok(port > 0, 'port 0: a free port, reported');
  const get = async (path: string, method = 'GET'): Promise<{ status: number; body: string; type: string | null }> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
  };
  t.match(await get('/healthz'), { status: 200, body: 'ok\n' });
  t.match(await get('/readyz'), { status: 503, body: 'not ready: not connected to the OVN Northbound database\n' });
  missing = [];
  t.match(await get('/readyz'), { status: 200, body: 'ok\n' });
  const metrics = await get('/metrics');
  t.match(metrics, { status: 200, type: /^text\/plain; version=0\.0\.4/ });
  t.match(metrics.body, '# TYPE ovn_multinet_cni_request_duration_seconds histogram');
  t.match(await get('/metrics?x=1'), { status: 200 }, 'a query string is ignored');
  t.match(await get('/other'), { status: 404 });
  t.match(await get('/metrics', 'POST'), { status: 405 });
  await t.rejects(listenProbes({ address: '127.0.0.1', port, registry, notReady: () => [], log: pino({ level: 'silent' }) }), { name: 'SocketSetupError', message: `cannot listen for metrics and probes on 127.0.0.1:${port}` }, 'a port taken: the start fails');
});

t.test('readiness text', async (t) => {
  t.same(readinessText([]), { status: 200, body: 'ok\n' });
  t.same(readinessText(['a', 'b']), { status: 503, body: 'not ready: a\nnot ready: b\n' });
});
