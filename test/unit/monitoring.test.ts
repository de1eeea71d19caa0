// manifests/monitoring.yaml (PodMonitors, PrometheusRule) and manifests/grafana-dashboard.json
// ask only for what the daemon and the controller export: every metric name (a histogram's
// _bucket, _sum and _count included), every label a selector or a `by (...)` names, the ports the
// PodMonitors scrape and the pods they select.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { loadAllYaml } from '@kubernetes/client-node';
import { isObject } from '../../daemon/cni-spec/json.ts';
import { DAEMON_METRICS, createMetricsRegistry } from '../../daemon/metrics/registry.ts';
import { CONTROLLER_METRICS, createControllerRegistry } from '../../daemon/metrics/controller-registry.ts';
import type { MetricDefinition } from '../../daemon/metrics/define.ts';

const root = new URL('../../manifests/', import.meta.url);
type Obj = Record<string, unknown>;
const obj = (value: unknown, what: string): Obj => {
  if (!isObject(value)) throw new Error(`${what}: not an object`);
  return value;
};
const list = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);

/** Labels Prometheus adds to every scraped series (the PodMonitor's target labels). */
const TARGET_LABELS = new Set(['instance', 'job', 'namespace', 'pod', 'container', 'endpoint']);

/** Every metric the two processes export, its type and the labels it may carry. */
async function exported(): Promise<Map<string, { type: string; labels: Set<string> }>> {
  const idle = { remotes: ['unix:/db'], connectedTo: () => 'unix:/db' };
  const registries = [
    createMetricsRegistry({ queued: () => 0, databases: { nb: idle, ovs: idle }, suspects: () => 0, servedSwitches: () => [], dhcpRows: () => 0 }).registry,
    createControllerRegistry({ nb: idle, leading: () => true, networks: () => [], liveMigrations: () => 0 }).registry,
  ];
  const defs = new Map<string, MetricDefinition>([...Object.values(DAEMON_METRICS), ...Object.values(CONTROLLER_METRICS)].map((d) => [d.name, d]));
  const found = new Map<string, { type: string; labels: Set<string> }>();
  for (const registry of registries) {
    for (const m of await registry.getMetricsAsJSON()) {
      const labels = new Set([...(defs.get(m.name)?.labels ?? []), ...m.values.flatMap((v) => Object.keys(v.labels))]);
      found.set(m.name, { type: String(m.type), labels });
    }
  }
  return found;
}

/** The metric a series name belongs to, and the labels it may carry (a histogram's le on _bucket). */
function metricOf(metrics: Map<string, { type: string; labels: Set<string> }>, series: string): Set<string> | undefined {
  const direct = metrics.get(series);
  if (direct !== undefined) return direct.labels;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  const base = m === null ? undefined : metrics.get(m[1] ?? '');
  if (base?.type !== 'histogram') return undefined;
  return m?.[2] === 'bucket' ? new Set([...base.labels, 'le']) : base.labels;
}

const rules = (loadAllYaml(await readFile(new URL('monitoring.yaml', root), 'utf8')) as unknown[]).map((d) => obj(d, 'document'));
const dashboard = obj(JSON.parse(await readFile(new URL('grafana-dashboard.json', root), 'utf8')), 'dashboard');

const alertExprs = rules
  .filter((d) => d['kind'] === 'PrometheusRule')
  .flatMap((d) => list(obj(d['spec'], 'spec')['groups']).flatMap((g) => list(obj(g, 'group')['rules']).map((r) => obj(r, 'rule'))));
const panelExprs = list(dashboard['panels']).flatMap((p) => list(obj(p, 'panel')['targets']).map((q) => String(obj(q, 'target')['expr'])));

t.test('every series the alerts and the dashboard ask for is exported, with the labels they name', async (t) => {
  const metrics = await exported();
  const exprs = [...alertExprs.map((r) => String(r['expr'])), ...panelExprs];
  t.ok(alertExprs.length >= 5 && panelExprs.length >= 20, `${alertExprs.length} alerts, ${panelExprs.length} dashboard queries`);
  for (const expr of exprs) {
    const seen = new Set<string>();
    let named = 0;
    for (const m of expr.matchAll(/\b(ovn_multinet_[a-z0-9_]+)(?:\{([^}]*)\})?/g)) {
      const name = m[1] ?? '';
      const labels = metricOf(metrics, name);
      t.ok(labels !== undefined, `${name} is exported`);
      if (labels === undefined) continue;
      named++;
      labels.forEach((l) => seen.add(l));
      for (const selector of (m[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
        const key = /^([a-zA-Z_]\w*)\s*(=~|!~|!=|=)/.exec(selector)?.[1];
        t.ok(key !== undefined && labels.has(key), `${name}{${selector}}: ${String(key)} is one of its labels`);
      }
    }
    t.ok(named > 0, `${expr.slice(0, 60)}: names a metric of ours`);
    for (const by of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
      for (const label of (by[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
        t.ok(seen.has(label) || TARGET_LABELS.has(label), `by (${label}) in ${expr.slice(0, 60)}…: a label of its metrics or of the target`);
      }
    }
  }
});

t.test('every alert has a severity, a summary and a description', async (t) => {
  for (const rule of alertExprs) {
    t.match(rule, { alert: /^OvnMultinet[A-Za-z]+$/, labels: { severity: /^(info|warning|critical)$/ }, annotations: { summary: String, description: String } }, String(rule['alert']));
  }
});

t.test('the PodMonitors select the daemon\'s and the controller\'s pods and scrape their metrics port', async (t) => {
  const workloads = (loadAllYaml(await readFile(new URL('daemonset.yaml', root), 'utf8')) as unknown[])
    .concat(loadAllYaml(await readFile(new URL('controller.yaml', root), 'utf8')) as unknown[])
    .filter(isObject)
    .filter((d) => d['kind'] === 'DaemonSet' || d['kind'] === 'Deployment');
  const monitors = rules.filter((d) => d['kind'] === 'PodMonitor');
  t.equal(monitors.length, 2, 'one for the daemons, one for the controller');
  for (const workload of workloads) {
    const template = obj(obj(workload['spec'], 'spec')['template'], 'template');
    const podLabels = obj(obj(template['metadata'], 'metadata')['labels'], 'labels');
    const ports = list(obj(template['spec'], 'pod spec')['containers']).flatMap((c) => list(obj(c, 'container')['ports']).map((p) => obj(p, 'port')['name']));
    const monitor = monitors.find((m) => {
      const wanted = obj(obj(obj(m['spec'], 'spec')['selector'], 'selector')['matchLabels'], 'matchLabels');
      return Object.entries(wanted).every(([k, v]) => podLabels[k] === v);
    });
    const name = String(obj(workload['metadata'], 'metadata')['name']);
    t.ok(monitor !== undefined, `${name}: a PodMonitor selects its pods`);
    for (const endpoint of list(obj(monitor?.['spec'] ?? {}, 'spec')['podMetricsEndpoints'])) {
      t.ok(ports.includes(obj(endpoint, 'endpoint')['port']), `${name}: the scraped port ${String(obj(endpoint, 'endpoint')['port'])} is a named port of its pods`);
    }
  }
});
