// Every flag of `ovn-multinetd daemon` and `ovn-multinetd controller` is in a row of
// docs/configuration.md's table under that command's heading (the controller's TLS files share the
// --nb-db row), and no row is for a flag the command lacks; the operator commands' flags are in
// docs/operations.md's tables.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { buildCli } from '../../daemon/cli.ts';

const doc = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

/** The text of a `## heading` section, up to the next `## `. */
function section(heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/configuration.md has no section ${heading}`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The flags a section's table rows name: in their first cell (the rows' own), or anywhere. */
function documented(text: string): { rows: Set<string>; named: Set<string> } {
  const lines = text.split('\n').filter((l) => l.startsWith('| `--'));
  const flags = (s: string): string[] => [...s.matchAll(/`(--[a-z0-9-]+)`/g)].map((m) => m[1] ?? '');
  return { rows: new Set(lines.flatMap((l) => flags(l.split('|')[1] ?? ''))), named: new Set(lines.flatMap(flags)) };
}

for (const [command, heading] of [['daemon', 'Daemon flags'], ['controller', 'Controller flags']] as const) {
  t.test(`${command}: the flags and docs/configuration.md's "${heading}"`, async (t) => {
    const cmd = buildCli().commands.find((c) => c.name() === command);
    if (cmd === undefined) throw new Error(`no ${command} command`);
    const flags = cmd.options.map((o) => o.long ?? '').filter((f) => f !== '').sort();
    const { rows, named } = documented(section(heading));
    t.same(flags.filter((f) => !named.has(f)), [], 'every flag documented');
    t.same([...rows].filter((f) => !flags.includes(f)), [], 'no row for a flag that does not exist');
  });
}

t.test('the operator commands: their flags and docs/operations.md', async (t) => {
  const ops = await readFile(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const commands = ['networks', 'attachments', 'inspect', 'status', 'completion'];
  const flags = new Set<string>();
  for (const name of commands) {
    const cmd = buildCli().commands.find((c) => c.name() === name);
    if (cmd === undefined) throw new Error(`no ${name} command`);
    for (const o of cmd.options) if (o.long !== undefined) flags.add(o.long);
    t.match(ops, new RegExp(`^## ${name}$|\`ovn-multinetd ${name}`, 'm'), `${name} is documented`);
  }
  const { rows, named } = documented(ops);
  t.same([...flags].filter((f) => !named.has(f)).sort(), [], 'every flag in a table row');
  t.same([...rows].filter((f) => !flags.has(f)).sort(), [], 'no row for a flag that does not exist');
});
