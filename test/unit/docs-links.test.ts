// Every link in the repository's Markdown must lead somewhere: a relative link names a file or
// folder that exists, and its #anchor a heading of the target as GitHub makes anchors; an
// external link is a well-formed http(s) URL (checked for form only: no network here).
import t from 'tap';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Folders that hold no Markdown of ours: dependencies, build output, git, tap's state. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build', 'tmp']);

/** Every *.md file under `dir` (absolute paths), outside skipped and hidden folders. */
async function markdownFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) found.push(...(await markdownFiles(join(dir, entry.name))));
    } else if (entry.isFile() && entry.name.endsWith('.md')) {
      found.push(join(dir, entry.name));
    }
  }
  return found.sort();
}

/** The text outside fenced code blocks, each line kept (as blank inside a fence) so line numbers hold. */
function withoutFences(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker;
      return '';
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return '';
    }
    return line;
  });
}

/** A line with its code spans replaced by a placeholder, so their text is never read as a link. */
const withoutCodeSpans = (line: string): string => line.replace(/(`+)(?:(?!\1).)+?\1/g, 'code');

/** GitHub's anchor for a heading: lower-case, punctuation removed, spaces to '-'. */
function slug(heading: string): string {
  const text = heading
    .replace(/`/g, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown text's ATX headings, with GitHub's -1, -2... for repeated ones. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of withoutFences(markdown)) {
    const text = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (text === undefined) continue;
    const base = slug(text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The targets of a Markdown text's links and images, inline and reference-style, with their line. */
function linkTargets(markdown: string): { line: number; target: string }[] {
  const targets: { line: number; target: string }[] = [];
  withoutFences(markdown).forEach((raw, index) => {
    const line = withoutCodeSpans(raw);
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push({ line: index + 1, target: m[1] ?? '' });
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(line)?.[1];
    if (definition !== undefined) targets.push({ line: index + 1, target: definition });
    for (const m of line.matchAll(/<(https?:\/\/[^>\s]*)>/g)) targets.push({ line: index + 1, target: m[1] ?? '' });
  });
  return targets;
}

/** Reads a file's text through a cache; undefined when it cannot be read as a file. */
type ReadText = (path: string) => Promise<string | undefined>;

/** What is wrong with one link of `file` (absolute path), or undefined when it leads somewhere. */
async function linkProblem(file: string, target: string, repoRoot: string, readText: ReadText): Promise<string | undefined> {
  if (target === '') return 'empty link';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme !== 'http' && scheme !== 'https') return `${target}: only http(s) external links`;
    try {
      const url = new URL(target);
      if (url.hostname === '' || !url.hostname.includes('.') || /\s/.test(target)) return `${target}: not a well-formed URL`;
    } catch {
      return `${target}: not a well-formed URL`;
    }
    return undefined;
  }
  const hash = target.indexOf('#');
  const pathPart = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? undefined : target.slice(hash + 1);
  if (pathPart.startsWith('/')) return `${target}: absolute path (use a relative one)`;
  const path = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
  if (pathPart !== '') {
    if (!path.startsWith(repoRoot.endsWith(sep) ? repoRoot : repoRoot + sep)) return `${target}: outside the repository`;
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) return `${target}: ${relative(repoRoot, path)} does not exist`;
    if (anchor !== undefined && (!path.endsWith('.md') || !info.isFile())) return `${target}: an anchor on a file that is not Markdown`;
  }
  if (anchor === undefined) return undefined;
  const text = await readText(path);
  if (text === undefined) return `${target}: cannot read ${relative(repoRoot, path)}`;
  if (!anchors(text).has(decodeURIComponent(anchor))) return `${target}: no heading #${anchor} in ${relative(repoRoot, path)}`;
  return undefined;
}

/** Every broken link of the given Markdown files, as "file:line: problem". */
async function brokenLinks(files: string[], repoRoot: string, readText: ReadText): Promise<string[]> {
  const problems: string[] = [];
  for (const file of files) {
    const text = await readText(file);
    if (text === undefined) {
      problems.push(`${relative(repoRoot, file)}: cannot read`);
      continue;
    }
    for (const { line, target } of linkTargets(text)) {
      const problem = await linkProblem(file, target, repoRoot, readText);
      if (problem !== undefined) problems.push(`${relative(repoRoot, file)}:${line}: ${problem}`);
    }
  }
  return problems;
}

const cache = new Map<string, Promise<string | undefined>>();
const readCached: ReadText = (path) => {
  let text = cache.get(path);
  if (text === undefined) {
    text = readFile(path, 'utf8').catch(() => undefined);
    cache.set(path, text);
  }
  return text;
};

t.test('every link in the repository\'s Markdown leads somewhere', async (t) => {
  const files = await markdownFiles(root);
  const names = files.map((f) => relative(root, f));
  t.ok(names.includes('README.md') && names.includes(join('docs', 'README.md')) && names.includes(join('bench', 'README.md')), `found the Markdown files (${names.join(', ')})`);
  let links = 0;
  for (const file of files) links += linkTargets((await readCached(file)) ?? '').length;
  t.ok(links > 50, `found the links (${links})`);
  t.same(await brokenLinks(files, root, readCached), [], 'no broken link');
});

t.test('the README stays short and for users', async (t) => {
  const readme = await stat(join(root, 'README.md'));
  t.ok(readme.size <= 15 * 1024, `README.md is ${readme.size} bytes (at most 15 KiB)`);
});

t.test('slugs follow GitHub\'s rules', async (t) => {
  t.equal(slug('Two commands'), 'two-commands');
  t.equal(slug('The `ipam` section'), 'the-ipam-section');
  t.equal(slug('Scale: the daemon as the shared NB grows'), 'scale-the-daemon-as-the-shared-nb-grows');
  t.equal(slug('Kubernetes (optional)'), 'kubernetes-optional');
  t.equal(slug("The daemon's socket"), 'the-daemons-socket');
  t.equal(slug('A [linked](x.md) heading_with_underscore'), 'a-linked-heading_with_underscore');
  t.same([...anchors('# A\n## A\n```\n# Not a heading\n```\n### B ###\n')], ['a', 'a-1', 'b']);
});

t.test('the extractor sees links, not code', async (t) => {
  const text = [
    'See [a](docs/a.md#x) and ![img](pic.png "title") and <https://example.org/x>.',
    'Code `[not](a-link.md)` is skipped.',
    '```',
    '[not](either.md)',
    '```',
    '[ref]: ../bench/README.md',
  ].join('\n');
  t.same(linkTargets(text), [
    { line: 1, target: 'docs/a.md#x' },
    { line: 1, target: 'pic.png' },
    { line: 1, target: 'https://example.org/x' },
    { line: 6, target: '../bench/README.md' },
  ]);
});

t.test('a broken link is found', async (t) => {
  const files: Record<string, string> = {
    [join(root, 'FIXTURE.md')]: [
      '# Top',
      '## Good heading',
      '[ok](#good-heading) [ok](README.md) [ok](docs/README.md#ovn-multinet-documentation) [ok](https://example.org/a?b=c#d)',
      '[missing file](docs/nope.md)',
      '[missing anchor](#no-such-heading)',
      '[missing anchor elsewhere](docs/README.md#nope)',
      '[bad url](http://)',
      '[bad scheme](ftp://example.org/x)',
      '[outside](../../etc/passwd)',
      '[absolute](/README.md)',
      '[anchor on code](package.json#x)',
    ].join('\n'),
  };
  const readText: ReadText = async (path) => files[path] ?? (await readCached(path));
  const problems = await brokenLinks(Object.keys(files), root, readText);
  t.same(problems.map((p) => p.split(':')[1]), ['4', '5', '6', '7', '8', '9', '10', '11'], problems.join('\n'));
});
