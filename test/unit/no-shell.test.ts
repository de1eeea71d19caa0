// The product never runs a process, let alone a shell: the daemon speaks rtnetlink and OVSDB
// itself, and the CNI executable only forwards to it. This guards that no module of bin/,
// daemon/ (TypeScript) or cni/ (Go) imports a way to start one.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FORBIDDEN_TS = /from\s+['"](node:)?child_process['"]|from\s+['"]execa['"]|require\(\s*['"](node:)?child_process['"]\s*\)|import\(\s*['"](node:)?child_process['"]\s*\)/;
const FORBIDDEN_GO = /"os\/exec"|syscall\.(ForkExec|Exec|StartProcess)|os\.StartProcess/;

async function sources(dir: string, extension: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(extension)).map((e) => join(e.parentPath, e.name));
}

t.test('no process spawning in bin/ and daemon/ (TypeScript)', async (t) => {
  const files = [...(await sources('bin', '.ts')), ...(await sources('daemon', '.ts'))];
  t.ok(files.length > 30, `scanned ${files.length} files`);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    t.notOk(FORBIDDEN_TS.test(text), `${file.slice(root.length)} starts no process`);
  }
});

t.test('no process spawning in cni/ (Go)', async (t) => {
  const files = await sources('cni', '.go');
  t.ok(files.length > 3, `scanned ${files.length} files`);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    t.notOk(FORBIDDEN_GO.test(text), `${file.slice(root.length)} starts no process`);
  }
});
