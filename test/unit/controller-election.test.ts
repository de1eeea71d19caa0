// Leader election on a Lease, through the real client library against the fake API server: two
// candidates, one leads; an orderly stop hands over at once (released lease); a killed leader
// (a controller process, SIGKILL) is replaced within the lease duration; a write with a stale
// resourceVersion loses.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { LeaderElector } from '../../daemon/controller/election.ts';
import { formatMicroTime } from '../../daemon/controller/lease.ts';
import { sleep, until } from '../helpers/until.ts';
import { kubeconfigFor, startFakeApiServer, type FakeApi, type KubeObject } from '../helpers/fake-apiserver.ts';
import { ElectionConfigError } from '../../daemon/errors.ts';

const log = pino({ level: 'silent' });
const NS = 'ovn-multinet';
const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
function candidate(kubeconfig: string, identity: string, lease: string) {
  const kubeConfig = loadKubeConfig(kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  const events: string[] = [];
  const elector = new LeaderElector({
    kubeConfig,
    namespace: NS,
    name: lease,
    identity,
    ...timing,
    log,
    onStartedLeading: () => void events.push('started'),
    onStoppedLeading: async () => void events.push('stopped'),
  });
  return { elector, events };
}

const spec = (lease: KubeObject | undefined): Record<string, unknown> => (lease?.['spec'] ?? {}) as Record<string, unknown>;
const holder = async (api: FakeApi, name: string): Promise<string | undefined> => spec(await api.get('leases', NS, name))['holderIdentity'] as string | undefined;

t.test('two candidates: one leads; an orderly stop hands over at once', async (t) => {
  const api = await startFakeApiServer(t);
  const a = candidate(api.kubeconfig, 'a', 'l1');
  const b = candidate(api.kubeconfig, 'b', 'l1');
  a.elector.start();
  b.elector.start();
  t.teardown(() => Promise.all([a.elector.stop(), b.elector.stop()]));
  const first = await until('a leader', () => (a.elector.leading ? a : b.elector.leading ? b : undefined));
  const second = first === a ? b : a;
  await sleep(timing.leaseDurationMs);
  t.ok(first.elector.leading, 'the leader keeps the lease by renewing it');
  t.notOk(second.elector.leading, 'only one leads');
  t.same(first.events, ['started']);
  t.same(second.events, []);
  const lease = spec(await api.get('leases', NS, 'l1'));
  t.equal(lease['holderIdentity'], first === a ? 'a' : 'b');
  t.equal(lease['leaseDurationSeconds'], 2);
  t.match(lease['renewTime'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'renewTime is a MicroTime');
  t.equal(lease['leaseTransitions'], 0);

  const stoppedAt = Date.now();
  await first.elector.stop();
  t.same(first.events, ['started', 'stopped'], 'stepped down before releasing');
  t.equal(spec(await api.get('leases', NS, 'l1'))['holderIdentity'], undefined, 'released: no holder');
  await until('the other to lead', () => (second.elector.leading ? true : undefined));
  t.ok(Date.now() - stoppedAt < timing.leaseDurationMs, `took over in ${Date.now() - stoppedAt} ms, before the lease would have expired`);
  t.equal(spec(await api.get('leases', NS, 'l1'))['leaseTransitions'], 1);
});

t.test('a stale resourceVersion loses', async (t) => {
  const api = await startFakeApiServer(t);
  // An expired lease of a crashed holder.
  const old = formatMicroTime(new Date(Date.now() - 60_000));
  await api.apply('leases', { metadata: { name: 'l2', namespace: NS }, spec: { holderIdentity: 'dead', leaseDurationSeconds: 2, renewTime: old, acquireTime: old, leaseTransitions: 4 } });
  // A proxy that lets a rival take the lease between this candidate's read and its write.
  let raced = false;
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.method === 'PUT' && !raced) {
          raced = true;
          const now = formatMicroTime(new Date());
          const current = await api.get('leases', NS, 'l2');
          await api.apply('leases', { metadata: { name: 'l2', namespace: NS }, spec: { ...spec(current), holderIdentity: 'rival', renewTime: now, acquireTime: now, leaseDurationSeconds: 60 } });
        }
        const target = new URL(req.url ?? '/', api.url);
        const forward = request(target, { method: req.method ?? 'GET', headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
        });
        forward.end(Buffer.concat(chunks));
      })();
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
  const kubeconfig = `${api.kubeconfig}.proxy`;
  await writeFile(kubeconfig, kubeconfigFor(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`));
  const c = candidate(kubeconfig, 'c', 'l2');
  c.elector.start();
  t.teardown(() => c.elector.stop());
  await until('the race', () => (raced ? true : undefined));
  await sleep(3 * timing.retryPeriodMs);
  t.notOk(c.elector.leading, 'its write with the resourceVersion it read was refused (409)');
  t.same(c.events, []);
  t.equal(await holder(api, 'l2'), 'rival', 'the rival keeps the lease');
  t.ok((await api.requests()).some((r) => r.startsWith('PUT /apis/coordination.k8s.io/v1/namespaces/ovn-multinet/leases/l2')), 'it did try');
});

t.test('a killed leader is replaced within the lease duration', async (t) => {
  const api = await startFakeApiServer(t);
  const cli = fileURLToPath(new URL('../../bin/ovn-multinetd.ts', import.meta.url));
  const start = (identity: string) => {
    const child = spawn(process.execPath, [cli, 'controller', '--kubeconfig', api.kubeconfig, '--nb-db', 'unix:/nonexistent/nb.sock', '--identity', identity, '--namespace', NS,
      // No metrics listener: two replicas on one host would want the same port (the second exits).
      '--lease-duration', '2s', '--renew-deadline', '1500ms', '--retry-period', '200', '--log-level', 'silent', '--metrics-port', '0'], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    return { child, exited };
  };
  const procs = { p1: start('p1'), p2: start('p2') };
  // Two processes start from source first (each loads the daemon and the Kubernetes client): on
  // a loaded machine that alone has taken more than 15 s. What is timed is the take-over below.
  const leader = await until('a leader', () => holder(api, 'ovn-multinet-controller'), 60_000);
  const other = leader === 'p1' ? 'p2' : 'p1';
  const victim = procs[leader as 'p1' | 'p2'];
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  await victim.exited;
  const next = await until('a new leader', async () => ((await holder(api, 'ovn-multinet-controller')) === other ? other : undefined), 10_000);
  const took = Date.now() - killedAt;
  t.equal(next, other);
  t.ok(took <= timing.leaseDurationMs + 3 * timing.retryPeriodMs, `took over ${took} ms after the kill (lease 2 s)`);

  // SIGTERM: the survivor releases the lease and exits 0.
  const survivor = procs[other];
  survivor.child.kill('SIGTERM');
  await survivor.exited;
  t.equal(survivor.child.exitCode, 0);
  t.equal(await holder(api, 'ovn-multinet-controller'), undefined, 'released on the way out');
});

t.test('timings are checked', async (t) => {
  const kubeConfig = loadKubeConfig(undefined, { KUBERNETES_SERVICE_HOST: '' });
  t.equal(kubeConfig, undefined);
  const api = await startFakeApiServer(t);
  const kc = loadKubeConfig(api.kubeconfig, {});
  if (kc === undefined) throw new Error('no kubeconfig');
  const base = { kubeConfig: kc, namespace: NS, name: 'x', identity: 'i', log, onStartedLeading: () => undefined, onStoppedLeading: async () => undefined };
  t.throws(() => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 }), ElectionConfigError);
  t.throws(() => new LeaderElector({ ...base, leaseDurationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 1000 }), ElectionConfigError);
  t.throws(() => new LeaderElector({ ...base, leaseDurationMs: 900, renewDeadlineMs: 500, retryPeriodMs: 100 }), ElectionConfigError);
});
