// The daemon's metrics (daemon/metrics/): what the hooks record, what the listener answers, and
// docs/metrics.md's reference table, rendered here from DAEMON_METRICS so the two cannot drift
// (on a change, paste the rows this test prints as expected into the doc).
import t from 'tap';
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { DAEMON_METRICS, cniCodeOf, commandLabel, createMetricsRegistry, type MetricDefinition } from '../../daemon/metrics/registry.ts';
import { NO_METRICS } from '../../daemon/metrics/hooks.ts';
import { listenProbes, readinessText } from '../../daemon/metrics/http.ts';
import { errorOutput, successOutput } from '../../daemon/cni-spec/output.ts';
import { CniError } from '../../daemon/cni-spec/errors.ts';

/** One row of docs/metrics.md's table. */
function row(def: MetricDefinition): string {
  const labels = def.labels.length === 0 ? 'none' : (def.labelValues ?? def.labels.join(', '));
  return `| \`${def.name}\` | ${def.type} | ${labels} | ${def.help} |`;
}

t.test('docs/metrics.md lists exactly the metrics the daemon defines', async (t) => {
  const doc = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const documented = doc.split('\n').filter((line) => line.startsWith('| `ovn_multinet_'));
  t.same(documented, Object.values(DAEMON_METRICS).map(row), 'the table rows, in order');
});

t.test('every definition is a metric of the registry, with its type and help', async (t) => {
  const { registry } = createMetricsRegistry({ queued: () => 0, connected: { nb: () => true, ovs: () => true } });
  const exported = await registry.getMetricsAsJSON();
  for (const def of Object.values(DAEMON_METRICS)) {
    t.match(exported.find((m) => m.name === def.name), { type: def.type, help: def.help }, def.name);
    t.match(def.name, /^ovn_multinet_[a-z_]+$/, `${def.name}: prefixed, snake case`);
    if (def.type === 'counter') t.match(def.name, /_total$/, `${def.name}: a counter ends in _total`);
  }
  t.ok(exported.some((m) => m.name === 'ovn_multinet_process_cpu_seconds_total'), 'the default process metrics, prefixed');
  t.notOk(exported.some((m) => !m.name.startsWith('ovn_multinet_')), 'nothing unprefixed');
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
  let nb = false;
  const { registry, metrics } = createMetricsRegistry({ queued: () => queued, connected: { nb: () => nb, ovs: () => true } });
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
  t.equal(await value(DAEMON_METRICS.databaseConnected.name, { database: 'nb' }), 0, 'NB away');
  nb = true;
  t.equal(await value(DAEMON_METRICS.databaseConnected.name, { database: 'nb' }), 1, 'NB back');
  metrics.reconnected('nb');
  t.equal(await value(DAEMON_METRICS.databaseReconnects.name, { database: 'nb' }), 1, 'a reconnection');
  t.equal(await value(DAEMON_METRICS.databaseReconnects.name, { database: 'ovs' }), 0, 'per database');
  // The listener off: the same calls, nothing recorded, nothing thrown.
  NO_METRICS.requestStarted('ADD')(undefined);
  NO_METRICS.refused('malformed_request');
  NO_METRICS.reconnected('ovs');
});

t.test('the listener: /metrics, /healthz, /readyz and nothing else', async (t) => {
  const { registry } = createMetricsRegistry({ queued: () => 0, connected: { nb: () => true, ovs: () => true } });
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
