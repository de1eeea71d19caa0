// The image build trusts for TLS to the npm registry only the CAs pinned in scripts/build-ca.sha256
// (issue 19 item 10): scripts/check-ca.sh, which the Dockerfile runs on the build secret npm_ca
// before npm sees it, refuses a self-made CA, a bundle with one unpinned CA among pinned ones and
// an empty file; `select` takes only the pinned CAs out of a bundle (scripts/image.sh).
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = join(root, 'scripts', 'check-ca.sh');
const skip = existsSync('/usr/bin/openssl') ? false : 'needs openssl';

const checkCa = (...args: string[]) => execa('bash', [script, ...args], { reject: false });

t.test('check-ca.sh', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omt-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const makeCa = async (name: string): Promise<{ pem: string; fingerprint: string }> => {
    const pem = join(dir, `${name}.pem`);
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', pem, '-days', '1', '-subj', `/CN=${name}`]);
    const { stdout } = await execa('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', pem]);
    return { pem, fingerprint: stdout.replace(/^.*=/, '') };
  };
  const trusted = await makeCa('trusted-proxy-ca');
  const intruder = await makeCa('intruder-ca');
  const pins = join(dir, 'pins');
  await writeFile(pins, `# a comment\n${trusted.fingerprint} CN = trusted-proxy-ca\n`);
  const bundle = join(dir, 'bundle.pem');
  await writeFile(bundle, (await readFile(trusted.pem, 'utf8')) + (await readFile(intruder.pem, 'utf8')));

  const repoPins = await checkCa('check', intruder.pem);
  t.equal(repoPins.exitCode, 1, 'a self-made CA is refused by the repository pins');
  t.match(repoPins.stderr, /unexpected CA in .*intruder-ca\.pem: CN ?= ?intruder-ca, SHA-256 [0-9A-F]{64} is not pinned in .*build-ca\.sha256/);

  t.equal((await checkCa('check', trusted.pem, pins)).exitCode, 0, 'a pinned CA passes');
  const mixed = await checkCa('check', bundle, pins);
  t.equal(mixed.exitCode, 1, 'one unpinned CA among pinned ones fails the whole file');
  t.match(mixed.stderr, /intruder-ca/);
  const empty = join(dir, 'empty.pem');
  await writeFile(empty, '');
  t.match(await checkCa('check', empty, pins), { exitCode: 1, stderr: /no certificate/ }, 'an empty CA file fails');

  const selected = await checkCa('select', bundle, pins);
  t.equal(selected.exitCode, 0);
  t.equal(selected.stdout.trim(), (await readFile(trusted.pem, 'utf8')).trim(), 'select keeps the pinned CA alone');
  t.equal((await checkCa('select', intruder.pem, pins)).stdout, '', 'nothing pinned: nothing selected');
});

t.test('the Dockerfile checks the npm_ca secret before npm ci uses it', async (t) => {
  const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
  const run = dockerfile.split(/^RUN --mount=type=secret,id=npm_ca/m)[1]?.split(/^\S/m)[0] ?? '';
  const check = run.indexOf('bash scripts/check-ca.sh check /run/secrets/npm_ca');
  t.ok(check >= 0, 'check-ca.sh check on the secret');
  t.ok(check < run.indexOf('npm_config_cafile') && check < run.indexOf('npm ci'), 'before npm trusts it');
  t.match(dockerfile, /^COPY scripts\/check-ca\.sh scripts\/build-ca\.sha256 scripts\/$/m);
});
