// The daemon uses the `netlink` package for its JavaScript message encoders only: importing every
// module of daemon/netlink/ and encoding a request loads no native code of the package (its
// index's raw socket module would load its prebuilt binding through node-gyp-build).
import t from 'tap';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const netlinkPackage = dirname(require.resolve('netlink/package.json'));
const daemonNetlink = fileURLToPath(new URL('../../daemon/netlink/', import.meta.url));

// Every native addon load goes through process.dlopen (require() of a .node file too).
const opened: string[] = [];
const dlopen = process.dlopen.bind(process);
process.dlopen = (module, filename, flags) => {
  opened.push(filename);
  if (flags === undefined) dlopen(module, filename);
  else dlopen(module, filename, flags);
};

const inPackage = (path: string): boolean => path.startsWith(`${netlinkPackage}/`);
const packageModulesLoaded = (): string[] => Object.keys(require.cache).filter(inPackage);

/** Files the process has mapped (process.report's shared objects). */
function sharedObjects(): string[] {
  const report: unknown = process.report.getReport();
  if (typeof report !== 'object' || report === null || !('sharedObjects' in report) || !Array.isArray(report.sharedObjects)) return [];
  const list: unknown[] = report.sharedObjects;
  return list.filter((path) => typeof path === 'string');
}

t.test('importing daemon/netlink/ and encoding a veth request loads no native code of the netlink package', async (tt) => {
  const modules = [
    ...readdirSync(daemonNetlink).filter((f) => f.endsWith('.ts')),
    ...readdirSync(join(daemonNetlink, 'native')).filter((f) => f.endsWith('.ts')).map((f) => join('native', f)),
  ];
  tt.ok(modules.includes('codec.ts') && modules.includes('rtnl.ts'), `${modules.length} modules`);
  for (const file of modules) await import(pathToFileURL(join(daemonNetlink, file)).href);
  const { vethLinkInfo } = await import('../../daemon/netlink/veth.ts');
  tt.ok(vethLinkInfo({ ifname: 'net1', mtu: 1442, netNsFd: 42 }).length > 0, 'the encoders work');

  tt.ok(packageModulesLoaded().includes(join(netlinkPackage, 'dist', 'structs.js')), 'the encoders come from the netlink package');
  tt.same(packageModulesLoaded().filter((path) => path.endsWith('/raw.js') || path.endsWith('/index.js')), [], 'neither its index nor its raw socket module');
  tt.same(Object.keys(require.cache).filter((path) => path.includes('/node-gyp-build/')), [], 'node-gyp-build is never loaded');
  tt.same(opened.filter(inPackage), [], 'no dlopen of the package');
  tt.ok(sharedObjects().length > 0, 'the report lists shared objects');
  tt.same(sharedObjects().filter(inPackage), [], 'no shared object of the package is mapped');
});

t.test('the checks see the binding when the package index is loaded', async (tt) => {
  require('netlink');
  tt.ok(opened.some(inPackage), 'dlopen of the prebuilt binding seen');
  tt.ok(sharedObjects().some(inPackage), 'its shared object seen');
});
