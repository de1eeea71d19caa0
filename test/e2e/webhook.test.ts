// The controller's pod webhook (issue 23 item 6, docs/interface-discovery.md), against the built
// controller process: its certificate directory empty at start (TLS refused) until the Secret's
// files appear the way the kubelet writes them (a `..data` symlink swapped at once), then an
// AdmissionReview round trip over HTTPS (the patch applied to the pod gives the variables and the
// volume), the requests it must refuse (method, path, content type, bodies over the cap, not
// JSON, not a review), the cap on connections, and a certificate rotation picked up without a
// restart.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason } from '../helpers/node.ts';
import { jsonPatch, startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { startController } from '../helpers/controller.ts';
import { until } from '../helpers/until.ts';
import { MAX_CONNECTIONS } from '../../daemon/controller/webhook-server.ts';
import { freePort, NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';

const skip = e2eSkipReason();
const PATH = '/mutate-pods';
const MAX_BODY = 3 * 1024 * 1024;

/**
 * An HTTPS request from inside the netns, trusting only the test CA: argv is url, method,
 * content type, CA file, then the body (`@N` for N bytes of JSON-ish filler) and `chunked` to
 * send it without a Content-Length. Prints status, body and the server certificate's SHA-256,
 * or the error.
 */
const CLIENT = `
const https = require('node:https');
const fs = require('node:fs');
const [url, method, type, caFile, bodyArg, mode] = process.argv.slice(1);
const body = bodyArg.startsWith('@') ? Buffer.alloc(Number(bodyArg.slice(1)), 32) : Buffer.from(bodyArg);
const headers = { 'content-type': type };
if (mode !== 'chunked') headers['content-length'] = String(body.length);
const req = https.request(url, { method, headers, ca: fs.readFileSync(caFile), timeout: 10000 }, (res) => {
  const fingerprint = res.socket.getPeerCertificate().fingerprint256;
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, type: res.headers['content-type'], body: Buffer.concat(chunks).toString(), fingerprint })));
});
req.on('error', (err) => console.log(JSON.stringify({ error: err.code || err.message })));
if (mode === 'stall') req.write(body.subarray(0, 10));
else if (mode === 'headers') req.flushHeaders();
else if (mode === 'chunked') { let i = 0; const step = 256 * 1024; const more = () => { while (i < body.length) { const ok = req.write(body.subarray(i, i += step)); if (!ok) return req.once('drain', more); } req.end(); }; more(); }
else req.end(body);
`;

/**
 * Fills the webhook's connections from inside the netns: argv is host, port, how many raw TCP
 * connections to hold (sending nothing), URL and CA file. Once they are accepted, one HTTPS request
 * (over the cap); then ten of them closed and one more request; then how long the server took to
 * close the rest (their handshake's deadline).
 */
const FILL_CLIENT = `
const net = require('node:net');
const https = require('node:https');
const fs = require('node:fs');
const [host, port, count, url, caFile] = process.argv.slice(1);
const request = () => new Promise((resolve) => {
  const req = https.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ca: fs.readFileSync(caFile), timeout: 5000, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  req.on('error', (err) => resolve(err.code || err.message));
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.end('{}');
});
(async () => {
  const sockets = await Promise.all(Array.from({ length: Number(count) }, () => new Promise((resolve, reject) => { const s = net.connect(Number(port), host, () => resolve(s)); s.on('error', () => undefined); s.once('error', reject); })));
  await new Promise((r) => setTimeout(r, 300));
  const start = Date.now();
  const closedMs = sockets.slice(10).map((s) => new Promise((r) => s.once('close', () => r(Date.now() - start))));
  const over = await request();
  for (const s of sockets.slice(0, 10)) s.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const freed = await request();
  const closed = await Promise.all(closedMs);
  console.log(JSON.stringify({ over, freed, closedMs: Math.max(...closed) }));
})();
`;

interface Reply {
  status?: number;
  type?: string;
  body?: string;
  fingerprint?: string;
  error?: string;
}

/** A CA, and certificates for 127.0.0.1 and the Service's name that it signs. */
async function makeCa(dir: string): Promise<{ ca: string; issue: (name: string) => Promise<{ cert: string; key: string }> }> {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await execa('openssl', ['req', '-x509', ...key, '-keyout', caKey, '-out', ca, '-days', '1', '-subj', '/CN=webhook-test-ca']);
  const ext = join(dir, 'san.ext');
  await writeFile(ext, 'subjectAltName=IP:127.0.0.1,DNS:ovn-multinet-controller-webhook.ovn-multinet.svc\n');
  const issue = async (name: string): Promise<{ cert: string; key: string }> => {
    const files = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`), csr: join(dir, `${name}.csr`) };
    await execa('openssl', ['req', ...key, '-keyout', files.key, '-out', files.csr, '-subj', `/CN=${name}`]);
    await execa('openssl', ['x509', '-req', '-in', files.csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', files.cert, '-days', '1', '-extfile', ext]);
    return { cert: await readFile(files.cert, 'utf8'), key: await readFile(files.key, 'utf8') };
  };
  return { ca, issue };
}

/** Writes a Secret's files as the kubelet does: a new timestamped dir, then `..data` swapped to it in one rename. */
async function writeSecret(dir: string, generation: number, pair: { cert: string; key: string }): Promise<void> {
  const data = join(dir, `..gen_${generation}`);
  await mkdir(data);
  await writeFile(join(data, 'tls.crt'), pair.cert);
  await writeFile(join(data, 'tls.key'), pair.key);
  await symlink(`..gen_${generation}`, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  if (generation === 1) {
    await symlink('..data/tls.crt', join(dir, 'tls.crt'));
    await symlink('..data/tls.key', join(dir, 'tls.key'));
  }
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

t.test('the pod webhook over HTTPS, from the controller process', { skip }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'omn-webhook-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const certDir = join(tmp, 'webhook-tls');
  await mkdir(certDir);
  const { ca, issue } = await makeCa(tmp);
  // The controller needs an NB, not OVS or OVN: a bare ovsdb-server (a whole sandbox's userspace
  // datapath would compete for the CPU with the traffic tests running beside this one).
  const { server: nb } = await startOvsdbServer(t, NB_SCHEMA);
  const ns = await createNetns(t, 'omwh');
  const netns = ns.name;
  const api = await startFakeApiServer(t, { netns });
  const port = await freePort();
  const controller = startController(t, { netns, kubeconfig: api.kubeconfig, nbDb: nb.unixRemote, api, extraArgs: ['--webhook-cert-dir', certDir, '--webhook-address', '127.0.0.1', '--webhook-port', String(port)] });
  const url = `https://127.0.0.1:${port}`;
  const call = async (path: string, body: string, { method = 'POST', type = 'application/json', mode = '' } = {}): Promise<Reply> =>
    JSON.parse(await ns.exec([process.execPath, '-e', CLIENT, `${url}${path}`, method, type, ca, body, mode])) as Reply;

  await until('the webhook to listen', () => (controller.logs().includes('pod webhook listening') ? true : undefined), 20_000);
  t.match(controller.logs(), /webhook certificate not loaded: the webhook refuses connections until it is/, 'no certificate yet: said so');
  t.ok((await call(PATH, '{}')).error !== undefined, 'and no TLS session without one');

  const first = await issue('first');
  await writeSecret(certDir, 1, first);
  const review = (uid: string, annotations: Record<string, string>): string => JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'apps',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'apps', annotations },
        spec: { initContainers: [{ name: 'init', image: 'busybox' }], containers: [{ name: 'app', image: 'busybox', env: [{ name: 'KEEP', value: 'me' }] }] },
      },
    },
  });
  const ok = await until('the certificate to be served', async () => {
    const r = await call(`${PATH}?timeout=5s`, review('uid-1', { 'k8s.v1.cni.cncf.io/networks': 'storage,tenant/blue@fast0' }));
    return r.status === 200 ? r : undefined;
  }, 15_000);
  t.equal(ok.fingerprint, fingerprintOf(first.cert), 'the Secret\'s certificate, loaded when it appeared');
  t.equal(ok.type, 'application/json');
  const answer = JSON.parse(ok.body ?? '') as { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; patchType: string; patch: string } };
  t.match(answer, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-1', allowed: true, patchType: 'JSONPatch' } }, 'uid echoed, allowed');
  const pod = (JSON.parse(review('uid-1', { 'k8s.v1.cni.cncf.io/networks': 'storage,tenant/blue@fast0' })) as { request: { object: unknown } }).request.object;
  const patched = jsonPatch(pod, JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'))) as { spec: Record<string, { env: { name: string; value: string }[]; volumeMounts: unknown[] }[]> };
  for (const [key, extra] of [['initContainers', []], ['containers', [{ name: 'KEEP', value: 'me' }]]] as const) {
    const [c] = patched.spec[key] ?? [];
    t.same(c?.env, [...extra,
      { name: 'OVN_MULTINET_INTERFACES', value: 'storage=net1,tenant/blue=fast0' },
      { name: 'OVN_MULTINET_IF_STORAGE', value: 'net1' },
      { name: 'OVN_MULTINET_IF_TENANT__BLUE', value: 'fast0' },
    ], `${key}: the variables`);
    t.same(c?.volumeMounts, [{ name: 'ovn-multinet-networks', mountPath: '/etc/ovn-multinet/networks', readOnly: true }], `${key}: the volume, read-only`);
  }

  const plain = JSON.parse((await call(PATH, review('uid-2', {}))).body ?? '') as { response: unknown };
  t.same(plain.response, { uid: 'uid-2', allowed: true }, 'a pod without networks: allowed, no patch');
  const bad = JSON.parse((await call(PATH, review('uid-3', { 'k8s.v1.cni.cncf.io/networks': 'Bad_Name' }))).body ?? '') as { response: unknown };
  t.same(bad.response, { uid: 'uid-3', allowed: true }, 'a bad annotation: allowed, no patch');
  await until('the refusal logged', () => (controller.logs().includes('"uid":"uid-3"') ? true : undefined), 5_000);
  t.match(controller.logs(), /"pod":"apps\/web","uid":"uid-3","reason":"\[0\]\.name: \\"Bad_Name\\" is not a valid object name"/, 'logged with the reason');

  t.match(await call(PATH, '', { method: 'GET' }), { status: 405, body: /POST only/ }, 'GET: 405');
  t.match(await call(PATH, '', { method: 'PUT' }), { status: 405 }, 'PUT: 405');
  t.match(await call('/mutate', review('x', {})), { status: 404 }, 'another path: 404');
  t.match(await call(PATH, review('x', {}), { type: 'text/plain' }), { status: 415, body: /application\/json only/ }, 'another content type: 415');
  t.match(await call(PATH, review('x', {}), { type: 'application/json; charset=utf-8' }), { status: 200 }, 'application/json with a charset: served');
  // The headers alone: the answer comes before any of the body is read.
  t.match(await call(PATH, `@${MAX_BODY + 1}`, { mode: 'headers' }), { status: 413 }, 'a Content-Length over the cap: 413');
  const streamed = await call(PATH, `@${MAX_BODY + 512 * 1024}`, { mode: 'chunked' });
  t.ok(streamed.status === 413 || streamed.error !== undefined, `a chunked body over the cap is cut off (${JSON.stringify(streamed).slice(0, 80)})`);
  t.match(await call(PATH, `@${MAX_BODY}`), { status: 400, body: /not JSON/ }, 'a body at the cap is read (and is not JSON)');
  const stallStart = Date.now();
  const stalled = await call(PATH, review('x', {}), { mode: 'stall' });
  const stallMs = Date.now() - stallStart;
  t.equal(stalled.status, 408, 'a body that stops coming: 408');
  t.ok(stallMs >= 9_000 && stallMs < 25_000, `after the 10 s read timeout (${stallMs} ms, a node start included)`);
  t.match(await call(PATH, '{"kind":"AdmissionReview"}'), { status: 400, body: /not an admission\.k8s\.io\/v1 AdmissionReview/ }, 'not a review: 400');

  // Connections that send nothing hold the cap's places until their handshake's deadline.
  const fill = JSON.parse(await ns.exec([process.execPath, '-e', FILL_CLIENT, '127.0.0.1', String(port), String(MAX_CONNECTIONS), `${url}${PATH}`, ca])) as { over: number | string; freed: number | string; closedMs: number };
  t.not(fill.over, 400, `with ${MAX_CONNECTIONS} connections held, one more is closed at once (${fill.over})`);
  t.equal(typeof fill.over, 'string', 'an error, not an answer');
  t.equal(fill.freed, 400, 'ten closed: a request is served again (400: its body is not a review)');
  t.ok(fill.closedMs >= 9_000 && fill.closedMs < 25_000, `the silent ones closed at the handshake's 10 s deadline (${fill.closedMs} ms)`);
  const warning = await until('the drop warned', () => controller.logs().split('\n').find((line) => line.includes('webhook connections over the cap closed at once')), 5_000);
  t.match(warning, `"maxConnections":${MAX_CONNECTIONS}`, 'warned, with the cap');

  const second = await issue('second');
  await writeSecret(certDir, 2, second);
  const rotated = await until('the rotated certificate', async () => {
    const r = await call(PATH, review('uid-4', {}));
    return r.fingerprint === fingerprintOf(second.cert) ? r : undefined;
  }, 15_000);
  t.equal(rotated.status, 200, 'served with the new certificate, no restart');
  t.equal(controller.child.exitCode, null, 'the controller still runs');
});
