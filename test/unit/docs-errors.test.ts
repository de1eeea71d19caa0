// The Errors table in docs/errors.md is the users' reference: it must list exactly the codes the code can
// print, those of the daemon (daemon/cni-spec/errors.ts, given by daemon/server/cni-errors.ts) and those
// the Go executable prints itself (cni/errors.go), or a newcomer reads about codes that never come
// and misses ones that do.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { CNI_ERRORS, UNEXPECTED } from '../../daemon/server/cni-errors.ts';

const root = new URL('../..', import.meta.url);

/** The codes in the first column of the table under "## Error codes". */
function readmeCodes(readme: string): number[] {
  const section = readme.split(/^## Error codes$/m)[1]?.split(/^#{2,3} /m)[0] ?? '';
  return [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
}

/** The values of the `code…` constants in the Go front end. */
function goCodes(source: string): number[] {
  return [...source.matchAll(/^\s*code\w+\s*=\s*(\d+)/gm)].map((m) => Number(m[1]));
}

const sorted = (codes: Iterable<number>): number[] => [...new Set(codes)].sort((a, b) => a - b);

t.test('docs/errors.md lists every code the daemon and the executable define, and no other', async (t) => {
  const readme = readmeCodes(await readFile(new URL('docs/errors.md', root), 'utf8'));
  const go = goCodes(await readFile(new URL('cni/errors.go', root), 'utf8'));
  t.ok(readme.length >= 10, `found the table (${readme.length} rows)`);
  t.ok(go.length >= 5, `found the Go codes (${go.length})`);
  t.same(sorted(readme), readme, 'rows in ascending order, each once');
  t.same(sorted(readme), sorted([...Object.values(ErrorCode), ...go]));
});

t.test('docs/errors.md lists every code the daemon\'s error table gives', async (t) => {
  const readme = new Set(readmeCodes(await readFile(new URL('docs/errors.md', root), 'utf8')));
  // A row's own code; 'failed' is 100 (or 11 once the request is cancelled); 'unexpected' is 999.
  const given = [...CNI_ERRORS.values()].flatMap((row) => (typeof row === 'object' ? [row.code] : row === 'failed' ? [ErrorCode.AttachFailed, ErrorCode.TryAgainLater] : [UNEXPECTED]));
  for (const code of sorted(given)) t.ok(readme.has(code), `${code} is in the table`);
});

t.test('the extractors see what they should', async (t) => {
  t.same(readmeCodes('x\n## Error codes\n| code | when |\n| --- | --- |\n| 1 | a |\n| 7 | b |\n\n## Next\n| 9 | c |\n'), [1, 7]);
  t.same(goCodes('const (\n\tcodeA = 4 // x\n\tcodeB    = 11\n)\nvar codeC = "x"\n'), [4, 11]);
});
