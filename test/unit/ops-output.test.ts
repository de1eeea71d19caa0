// The operator commands' output (daemon/ops/output.ts): aligned tables with untrusted text made
// harmless, JSON and YAML of the same data, the progress line, and the exit codes scripts read.
import t from 'tap';
import { loadYaml } from '@kubernetes/client-node';
import { ExitCode, cell, exitCodeOf, progressLine, renderData, renderFields, renderTable } from '../../daemon/ops/output.ts';
import { FlagError, GcFailedError, OpsFailedError, OpsNotFoundError } from '../../daemon/errors.ts';

t.test('tables: headers uppercase, columns aligned three spaces apart, empty cells -', async (t) => {
  const rows = [{ a: 'x', b: 'long value', c: '' }, { a: 'wider a', b: 'b', c: 'z' }];
  const text = renderTable(rows, [{ header: 'a', value: (r) => r.a }, { header: 'bee', value: (r) => r.b }, { header: 'c', value: (r) => r.c }]);
  t.equal(text, ['A         BEE          C', 'x         long value   -', 'wider a   b            z', ''].join('\n'));
  t.equal(renderTable([], [{ header: 'only', value: () => '' }]), 'ONLY\n', 'no rows: the header alone');
});

t.test('cells: control characters (terminal escapes) shown as escapes', async (t) => {
  t.equal(cell('\u001b[31mred\u001b[0m'), '\\x1b[31mred\\x1b[0m');
  t.equal(cell('a\nb\tc\u0085'), 'a\\x0ab\\x09c\\x85');
  t.equal(cell(''), '-');
  t.equal(cell('plain ünïcode'), 'plain ünïcode');
  t.equal(renderFields([['Name', 'x\u0007'], ['Longer name', '']]), 'Name:          x\\x07\nLonger name:   -\n');
});

t.test('JSON and YAML: the same data, bigints as decimal strings, undefined as null', async (t) => {
  const data = { big: 2n ** 64n, small: 3, none: undefined, list: [undefined, 'a'], nested: { text: 'a: b' } };
  const expected = { big: '18446744073709551616', small: 3, none: null, list: [null, 'a'], nested: { text: 'a: b' } };
  const json = await renderData('json', data);
  t.same(JSON.parse(json), expected);
  t.match(json, /^{\n {2}"big"/, 'indented');
  const yaml = await renderData('yaml', data);
  t.same(loadYaml(yaml), expected);
  t.match(yaml, /^big: '18446744073709551616'$/m);
});

t.test('the progress line', async (t) => {
  let now = 0;
  const tty: string[] = [];
  const onTty = progressLine((s) => tty.push(s), true, 'work', () => now);
  onTty(0, 3);
  onTty(1, 3);
  now = 150;
  onTty(2, 3);
  onTty(3, 3);
  t.same(tty, ['\rwork: 0/3', '\rwork: 2/3', '\rwork: 3/3\n'], 'on a terminal: rewritten at most every 100 ms, the last always, then a newline');
  const file: string[] = [];
  const inFile = progressLine((s) => file.push(s), false, 'work', () => now);
  inFile(0, 2);
  now = 500;
  inFile(1, 2);
  inFile(2, 2);
  t.same(file, ['work: 0/2\n', 'work: 2/2\n'], 'elsewhere: a line at most every second, and the last');
  const none: string[] = [];
  progressLine((s) => none.push(s), true, 'work')(0, 0);
  t.same(none, [], 'no work: no line');
});

t.test('exit codes', async (t) => {
  t.same(ExitCode, { ok: 0, failure: 1, usage: 2, notFound: 3 }, 'the documented values');
  t.equal(exitCodeOf(new OpsNotFoundError()), 3);
  t.equal(exitCodeOf(new FlagError()), 2);
  t.equal(exitCodeOf(new OpsFailedError()), 1);
  t.equal(exitCodeOf(new GcFailedError()), 1);
  t.equal(exitCodeOf(new Error('a bug')), 1);
  t.equal(exitCodeOf('a string'), 1);
});
