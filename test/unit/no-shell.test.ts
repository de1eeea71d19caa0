// The product never runs a process, let alone a shell: the executable and the daemon speak
// rtnetlink and OVSDB themselves. This guards that no module of bin/, cni/ or daemon/ imports a
// way to start one.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FORBIDDEN = /from\s+['"](node:)?child_process['"]|from\s+['"]execa['"]|require\(\s*['"](node:)?child_process['"]\s*\)|import\(\s*['"](node:)?child_process['"]\s*\)/;

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

t.test('no process spawning in bin/, cni/, daemon/', async (t) => {
  const files = [...(await sources('bin')), ...(await sources('cni')), ...(await sources('daemon'))];
  t.ok(files.length > 30, `scanned ${files.length} files`);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    t.notOk(FORBIDDEN.test(text), `${file.slice(root.length)} starts no process`);
  }
});
