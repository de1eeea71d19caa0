// The shell completion script is made from the commander tree (daemon/ops/completion.ts): it
// holds every subcommand and every flag, bash accepts it, and completing with it gives the
// subcommands, a command's flags, and the choices of -o and of `completion`. And the command
// line's exit codes: usage errors 2.
import t from 'tap';
import { execa } from 'execa';
import { buildCli, runCli } from '../../daemon/cli.ts';
import { completionScript } from '../../daemon/ops/completion.ts';
import { parseAttachmentsFlags } from '../../daemon/ops/attachments.ts';
import { ExitCode, exitCodeOf } from '../../daemon/ops/output.ts';

const program = buildCli();
const bash = completionScript(program, 'bash');

t.test('every subcommand and every flag of the tree is in the script', async (t) => {
  t.ok(program.commands.length >= 8, 'the tree has its commands');
  for (const command of program.commands) {
    t.match(bash, new RegExp(`^ {4}${command.name()}\\)$`, 'm'), `${command.name()}: its case`);
    // The case's last line: the words it offers.
    const lines = bash.split('\n');
    const start = lines.indexOf(`    ${command.name()})`);
    const offered = lines.slice(start).find((l) => l.startsWith('      COMPREPLY=($(compgen -W "')) ?? '';
    const words = new Set(/"([^"]*)"/.exec(offered)?.[1]?.split(' '));
    for (const option of command.options) {
      for (const name of [option.long, option.short]) if (name !== undefined) t.ok(words.has(name), `${command.name()} ${name}`);
    }
  }
  for (const name of ['networks', 'attachments', 'inspect', 'status', 'completion', 'gc', 'daemon', 'controller']) t.match(bash, new RegExp(`compgen -W "[^"]*\\b${name}\\b`), `${name} among the top-level words`);
});

const canRun = await execa('bash', ['--version'], { reject: false }).then((r) => r.exitCode === 0, () => false);

/** What the script completes for `words` (the last one being completed). */
async function complete(words: string[]): Promise<string[]> {
  const script = `${bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ovn_multinetd; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await execa('bash', ['--norc', '-c', script]);
  return r.stdout.split('\n').filter((l) => l !== '');
}

t.test('bash completes with it', { skip: canRun ? false : 'no bash' }, async (t) => {
  t.equal((await execa('bash', ['-n', '-c', bash])).exitCode, 0, 'bash -n accepts it');
  t.same(await complete(['ovn-multinetd', 'net']), ['networks'], 'a subcommand');
  t.same(await complete(['ovn-multinetd', 'networks', '-o', '']), ['table', 'json', 'yaml'], 'the choices of -o');
  t.same(await complete(['ovn-multinetd', 'status', '--output', 'y']), ['yaml']);
  t.same(await complete(['ovn-multinetd', 'attachments', '--no']), ['--node', '--node-name'], "a command's flags");
  t.same(await complete(['ovn-multinetd', 'completion', '']).then((w) => w.filter((x) => !x.startsWith('-'))), ['bash', 'zsh'], 'the shells');
  t.same(await complete(['ovn-multinetd', 'inspect', '--nb-db', '']), [], 'a value: nothing made up');
  t.ok((await complete(['ovn-multinetd', '--'])).includes('--version'), "the program's own flags");
});

t.test('zsh: the bash script through bashcompinit', async (t) => {
  const zsh = completionScript(program, 'zsh');
  t.match(zsh, /^autoload -U \+X bashcompinit && bashcompinit$/m);
  t.ok(zsh.endsWith(bash), 'then the same script');
});

t.test('exit codes of the command line', async (t) => {
  const saved = process.exitCode;
  const write = process.stderr.write.bind(process.stderr);
  const errors: string[] = [];
  process.stderr.write = (chunk: string | Uint8Array) => errors.push(String(chunk)) > 0;
  try {
    await runCli(['node', 'ovn-multinetd', 'networks', '--nb-db', 'unix:/x', '-o', 'xml']);
    t.equal(process.exitCode, ExitCode.usage, 'a choice that does not exist');
    process.exitCode = 0;
    await runCli(['node', 'ovn-multinetd', 'no-such-command']);
    t.equal(process.exitCode, ExitCode.usage, 'an unknown command');
    process.exitCode = 0;
    await runCli(['node', 'ovn-multinetd', 'status', '--port', '70000']);
    t.equal(process.exitCode, ExitCode.usage, 'a flag value its parser refuses');
  } finally {
    process.stderr.write = write;
    process.exitCode = saved;
  }
  t.match(errors.join(''), /argument 'xml' is invalid/);
  let thrown: unknown;
  try {
    parseAttachmentsFlags({ nbDb: ['unix:/x'], dbInactivityProbe: 1, nodeName: 'n', timeout: 1, output: 'table', pod: 'nope' });
  } catch (err) {
    thrown = err;
  }
  t.equal(exitCodeOf(thrown), ExitCode.usage, 'a --pod that is not NAMESPACE/NAME');
});
