/**
 * A generated corpus of malformed inputs for the CNI executable and the daemon socket (issue
 * "Bad input"). Deterministic: systematic enumeration plus a seeded PRNG, so every run sends the
 * same bytes. Each case says which CNI error code(s) it must get and which field the message must
 * name; the codes come from the rules in daemon/cni-spec/env.ts, daemon/netconf/, daemon/cni-spec/version.ts,
 * daemon/cni-spec/protocol.ts, daemon/server/socket.ts and the table in docs/errors.md, not from running them.
 *
 * test/e2e/bad-input.test.ts keeps the hand-written table (one row per SPEC code); this corpus
 * goes wide instead: every config key with every wrong JSON type, garbage versions, huge values,
 * cut JSON, bad bytes, deep nesting, every env validator per command, and raw socket abuse.
 */
import type { FORWARDED_ENV } from '../../daemon/cni-spec/protocol.ts';
import { MAX_CONFIG_BYTES, MAX_REQUEST_BYTES } from '../../daemon/cni-spec/protocol.ts';

/** What a case must get: one of `codes` (the first is the rule's answer), with `field` in the message. */
export interface Expectation {
  readonly codes: readonly number[];
  /** A substring of `msg` (executable cases) or of `msg` + `details` (socket replies). */
  readonly field: string;
  /** Why more than one code is accepted. */
  readonly why?: string;
  /**
   * The product does not do what the rules say (see the report in the test file): the case runs
   * as a tap todo, so it shows up without failing the suite.
   */
  readonly knownBug?: string;
}

/** The CNI_* variables, as the executable forwards them. */
export type CniVar = (typeof FORWARDED_ENV)[number];
/** The CNI_* environment of one call; undefined means the variable is not set at all. */
export type CniEnvVars = Readonly<Record<CniVar, string | undefined>>;

/** Run through the compiled executable, as a runtime does. */
export interface ExecCase {
  readonly kind: 'exec';
  readonly category: string;
  readonly name: string;
  readonly env: CniEnvVars;
  /** Exactly the bytes written to stdin. */
  readonly stdin: string | Buffer;
  readonly expect: Expectation;
}

/** Written straight to the daemon socket with node:net. */
export interface SocketCase {
  readonly kind: 'socket';
  readonly category: string;
  readonly name: string;
  /** Written in order, `gapMs` apart; writing stops once the daemon has answered or closed. */
  readonly chunks: readonly Buffer[];
  readonly gapMs: number;
  /**
   * After the chunks: half-close (as the executable does), keep the connection open, drop it,
   * or half-close and drop it at once (gone before the answer).
   */
  readonly finish: 'end' | 'hold' | 'destroy' | 'end-then-destroy';
  /** An error reply, or (for clients that drop the connection) only a clean close. */
  readonly expect: Expectation | 'close';
}

export type CorpusCase = ExecCase | SocketCase;

/** What the generator needs from the running test: real paths that exist on this node. */
export interface CorpusContext {
  /** The daemon's socket. */
  readonly socket: string;
  /** An existing logical switch with a subnet. */
  readonly lswitch: string;
  /** A real pod network namespace (bind mount under /var/run/netns). */
  readonly podNetns: string;
  /** A regular file under /var/run/netns. */
  readonly regularFile: string;
  /** A symlink under /var/run/netns to a path that does not exist. */
  readonly danglingLink: string;
  /** A symlink under /var/run/netns that points at itself (ELOOP). */
  readonly loopLink: string;
  /** The daemon's --read-timeout, in ms. */
  readonly readTimeoutMs: number;
}

/** Container ID every bad case uses: nothing may ever exist under it. */
export const BAD_CONTAINER_ID = 'corpus-bad';
export const IFNAME = 'net1';

// ---------------------------------------------------------------------------------------------
// Deterministic helpers

/** mulberry32: a tiny seeded PRNG, so "random" garbage is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A short, printable ASCII label for a value in a case name (a raw U+2028 in a subtest name
 * breaks tap's TAP stream, so everything outside printable ASCII is escaped).
 */
function show(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  const text = json.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > 40 ? `${text.slice(0, 30)}...(${text.length} chars)` : text;
}

/** `depth` nested arrays around `inner`, as JSON text (JSON.stringify would overflow the stack). */
function nestedArrays(depth: number, inner = '1'): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}

function nestedObjects(depth: number, inner = '1'): string {
  return `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
}

const PLACEHOLDER = '\u0000corpus-raw\u0000';

const expect = (codes: number | readonly number[], field: string, extra: { why?: string; knownBug?: string } = {}): Expectation => ({
  codes: typeof codes === 'number' ? [codes] : codes,
  field,
  ...extra,
});

// Codes (SPEC.md "Error", docs/errors.md).
const VERSION = 1;
const UNSUPPORTED_FIELD = 2;
const NO_NETNS = 3;
const BAD_ENV = 4;
const IO = 5;
const DECODE = 6;
const BAD_CONFIG = 7;
const TRY_AGAIN = 11;


// ---------------------------------------------------------------------------------------------
// The corpus

export function buildCorpus(ctx: CorpusContext): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const goodConfig = (): Record<string, unknown> => ({
    cniVersion: '1.1.0',
    name: ctx.lswitch,
    type: 'ovn-multinet',
    socket: ctx.socket,
  });
  const baseEnv: CniEnvVars = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: BAD_CONTAINER_ID,
    CNI_NETNS: ctx.podNetns,
    CNI_IFNAME: IFNAME,
    CNI_ARGS: undefined,
    CNI_PATH: '/opt/cni/bin',
  };
  /** The good config with `changes` (undefined deletes a key), as JSON text. */
  const config = (changes: Record<string, unknown> = {}): string => {
    const out = { ...goodConfig(), ...changes };
    for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
    return JSON.stringify(out);
  };
  /** The good config with `key` set to raw JSON text (Infinity, deep nesting, bad bytes). */
  const configRaw = (key: string, raw: string): string => config({ [key]: PLACEHOLDER }).replace(JSON.stringify(PLACEHOLDER), raw);
  const configBytes = (key: string, before: string, bytes: readonly number[], after: string): Buffer => {
    const [head = '', tail = ''] = config({ [key]: PLACEHOLDER }).split(JSON.stringify(PLACEHOLDER));
    return Buffer.concat([Buffer.from(`${head}"${before}`), Buffer.from(bytes), Buffer.from(`${after}"${tail}`)]);
  };
  const exec = (category: string, name: string, x: { env?: Partial<CniEnvVars>; stdin?: string | Buffer; expect: Expectation }): void => {
    cases.push({ kind: 'exec', category, name, env: { ...baseEnv, ...x.env }, stdin: x.stdin ?? config(), expect: x.expect });
  };

  // --- config: every known key given each JSON type it must not have ----------------------
  const wrongTypes: ReadonlyArray<readonly [string, unknown]> = [
    ['number', 42],
    ['string', 'x'],
    ['boolean', true],
    ['null', null],
    ['array', ['1.1.0']],
    ['object', { a: 1 }],
  ];
  /** key → which JSON types are right for it (those rows are skipped), and what a wrong one gets. */
  const keyRules: ReadonlyArray<{ key: string; right: readonly string[]; expect: Expectation }> = [
    {
      key: 'cniVersion',
      right: ['string'],
      // negotiateVersion: a non-string is "not supported" (1). It is equally an invalid value (7),
      // and libcni/skel fail to decode a non-string version (6).
      expect: expect([VERSION, BAD_CONFIG, DECODE], 'cniVersion', { why: 'a non-string version is both unsupported (1) and invalid (7); Go skel decodes it as 6' }),
    },
    { key: 'cniVersions', right: [], expect: expect(BAD_CONFIG, 'cniVersions') },
    { key: 'name', right: ['string'], expect: expect(BAD_CONFIG, 'name') },
    { key: 'type', right: ['string'], expect: expect(BAD_CONFIG, 'type') },
    { key: 'logicalSwitch', right: ['string'], expect: expect(BAD_CONFIG, 'logicalSwitch') },
    { key: 'socket', right: ['string'], expect: expect(BAD_CONFIG, 'socket') },
    { key: 'mtu', right: ['number'], expect: expect(BAD_CONFIG, 'mtu') },
    { key: 'portSecurity', right: ['boolean'], expect: expect(BAD_CONFIG, 'portSecurity') },
    { key: 'prevResult', right: ['object'], expect: expect(BAD_CONFIG, 'prevResult') },
    { key: 'cni.dev/valid-attachments', right: [], expect: expect(BAD_CONFIG, 'cni.dev/valid-attachments') },
    // Any ipam section, whatever its type (null included: the key is present), is refused.
    { key: 'ipam', right: [], expect: expect(UNSUPPORTED_FIELD, 'ipam') },
  ];
  for (const rule of keyRules) {
    for (const [type, value] of wrongTypes) {
      if (rule.right.includes(type)) continue;
      // An array of strings is the right type for cniVersions; a list of numbers is not.
      const v = rule.key === 'cniVersions' && type === 'array' ? [1, 1, 0] : value;
      exec('config: wrong type', `${rule.key} as ${type} ${show(v)}`, { stdin: config({ [rule.key]: v }), expect: rule.expect });
    }
  }
  // Right JSON type, wrong shape or value.
  const wrongValues: ReadonlyArray<readonly [string, unknown, Expectation]> = [
    ['cniVersions', ['1.1.0', 5], expect(BAD_CONFIG, 'cniVersions')],
    ['cniVersions', [null], expect(BAD_CONFIG, 'cniVersions')],
    ['cniVersions', [['1.1.0']], expect(BAD_CONFIG, 'cniVersions')],
    ['name', '', expect(BAD_CONFIG, 'name')],
    ['name', 'my net', expect(BAD_CONFIG, 'name')],
    ['name', '-red', expect(BAD_CONFIG, 'name')],
    ['name', '.red', expect(BAD_CONFIG, 'name')],
    ['name', '_red', expect(BAD_CONFIG, 'name')],
    ['name', 'red/blue', expect(BAD_CONFIG, 'name')],
    ['name', 'red:blue', expect(BAD_CONFIG, 'name')],
    ['name', 'réd', expect(BAD_CONFIG, 'name')],
    ['name', 'red\n', expect(BAD_CONFIG, 'name')],
    ['name', 'a'.repeat(254), expect(BAD_CONFIG, 'name')],
    ['type', '', expect(BAD_CONFIG, 'type')],
    ['logicalSwitch', '', expect(BAD_CONFIG, 'logicalSwitch')],
    ['logicalSwitch', 'red blue', expect(BAD_CONFIG, 'logicalSwitch')],
    ['logicalSwitch', 'red\t', expect(BAD_CONFIG, 'logicalSwitch')],
    ['logicalSwitch', '\nred', expect(BAD_CONFIG, 'logicalSwitch')],
    ['logicalSwitch', 'red\u0000', expect(BAD_CONFIG, 'logicalSwitch')],
    ['logicalSwitch', 'a'.repeat(254), expect(BAD_CONFIG, 'logicalSwitch')],
    // Well-formed but absent from the NB: the daemon answers 7 naming logicalSwitch.
    ['logicalSwitch', ctx.lswitch.toUpperCase(), expect(BAD_CONFIG, 'logicalSwitch')],
    ['logicalSwitch', `${ctx.lswitch}-nope`, expect(BAD_CONFIG, 'logicalSwitch')],
    ['logicalSwitch', '00000000-0000-0000-0000-000000000000', expect(BAD_CONFIG, 'logicalSwitch')],
    ['socket', '', expect(BAD_CONFIG, 'socket')],
    ['socket', 'cni.sock', expect(BAD_CONFIG, 'socket')],
    ['socket', './run/cni.sock', expect(BAD_CONFIG, 'socket')],
    ['socket', '~/cni.sock', expect(BAD_CONFIG, 'socket')],
    ['socket', '/run/cni.sock\u0000', expect(BAD_CONFIG, 'socket')],
    ['socket', `/${'s'.repeat(107)}`, expect(BAD_CONFIG, 'socket')],
    // Absolute and short, but no daemon there: ADD gets "try again" (the daemon is not running).
    ['socket', '/run/ovn-multinet/corpus-none/none.sock', expect(TRY_AGAIN, 'daemon')],
    // Outside /run/ovn-multinet/ (or escaping it): refused before any connection.
    ['socket', '/run/ovn-multinet-corpus/none.sock', expect(BAD_CONFIG, 'socket')],
    ['socket', '/run/ovn-multinet/../cni.sock', expect(BAD_CONFIG, 'socket')],
    ['socket', '/tmp/cni.sock', expect(BAD_CONFIG, 'socket')],
    ['socket', '/etc/hostname', expect(BAD_CONFIG, 'socket')],
    ['socket', '/proc', expect(BAD_CONFIG, 'socket')],
    ['mtu', 1400.5, expect(BAD_CONFIG, 'mtu')],
    ['mtu', 0, expect(BAD_CONFIG, 'mtu')],
    ['mtu', -1, expect(BAD_CONFIG, 'mtu')],
    ['mtu', 67, expect(BAD_CONFIG, 'mtu')],
    ['mtu', 65536, expect(BAD_CONFIG, 'mtu')],
    ['mtu', -1400, expect(BAD_CONFIG, 'mtu')],
    ['mtu', 1e-7, expect(BAD_CONFIG, 'mtu')],
    ['mtu', Number.MAX_SAFE_INTEGER + 2, expect(BAD_CONFIG, 'mtu')],
    ['portSecurity', 0, expect(BAD_CONFIG, 'portSecurity')],
    ['portSecurity', 'false', expect(BAD_CONFIG, 'portSecurity')],
    ['prevResult', { interfaces: 1 }, expect(BAD_CONFIG, 'prevResult')],
    ['prevResult', { ips: 'x' }, expect(BAD_CONFIG, 'prevResult')],
    ['prevResult', { routes: {} }, expect(BAD_CONFIG, 'prevResult')],
    ['prevResult', { interfaces: [{}] }, expect(BAD_CONFIG, 'prevResult')],
    ['prevResult', { interfaces: [{ name: 5 }] }, expect(BAD_CONFIG, 'prevResult')],
    ['prevResult', { ips: [{}] }, expect(BAD_CONFIG, 'prevResult')],
    ['prevResult', { ips: [null] }, expect(BAD_CONFIG, 'prevResult')],
    ['prevResult', { routes: [{ gw: '10.1.0.1' }] }, expect(BAD_CONFIG, 'prevResult')],
    ['cni.dev/valid-attachments', [1], expect(BAD_CONFIG, 'cni.dev/valid-attachments')],
    ['cni.dev/valid-attachments', [{}], expect(BAD_CONFIG, 'cni.dev/valid-attachments')],
    ['cni.dev/valid-attachments', [null], expect(BAD_CONFIG, 'cni.dev/valid-attachments')],
    ['cni.dev/valid-attachments', [{ containerID: 1, ifname: 'net1' }], expect(BAD_CONFIG, 'cni.dev/valid-attachments')],
    ['cni.dev/valid-attachments', [{ containerID: 'a' }], expect(BAD_CONFIG, 'cni.dev/valid-attachments')],
    ['cni.dev/valid-attachments', [{ containerID: 'a', ifname: 'net1' }, 'b'], expect(BAD_CONFIG, 'cni.dev/valid-attachments[1]')],
    ['ipam', {}, expect(UNSUPPORTED_FIELD, 'ipam')],
    ['ipam', { type: 'dhcp' }, expect(UNSUPPORTED_FIELD, 'ipam')],
  ];
  for (const [key, value, e] of wrongValues) {
    exec('config: wrong value', `${key} = ${show(value)}`, { stdin: config({ [key]: value }), expect: e });
  }
  // Numbers JSON.stringify cannot write.
  for (const raw of ['1e400', '-1e400', '1e12', '1e308', '-0', '1e5', '6.5536e4', '6.7e1']) {
    exec('config: wrong value', `mtu = ${raw} (raw JSON)`, { stdin: configRaw('mtu', raw), expect: expect(BAD_CONFIG, 'mtu') });
  }

  // --- config: unknown or garbage versions --------------------------------------------------
  const badVersions = ['0.2.0', '0.1.0', '1.2.0', '2.0.0', '', '1.1', '1', '1.0', 'v1.0.0', '1.0.0 ', ' 1.0.0', '1.0.0\n', '1.0.0-rc1', '01.0.0', '1.0.00', '1.1.0.0', '\uff11.\uff10.\uff10', 'latest', '1.1.0\u0000'];
  for (const v of badVersions) {
    exec('config: version', `cniVersion ${show(v)}`, { stdin: config({ cniVersion: v }), expect: expect(VERSION, 'cniVersion') });
  }
  exec('config: version', 'cniVersion 100k characters', {
    stdin: config({ cniVersion: '1'.repeat(100_000) }),
    expect: expect(VERSION, 'cniVersion'),
  });
  exec('config: version', 'cniVersion an object of 10k keys', {
    stdin: config({ cniVersion: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])) }),
    expect: expect([VERSION, BAD_CONFIG, DECODE], 'cniVersion', { why: 'non-string version, see "cniVersion as number"' }),
  });
  // cniVersions with nothing we speak and no cniVersion to fall back to.
  for (const list of [[], ['0.2.0'], ['v1.1.0', '2.0.0'], [''], ['1.1.0 ']]) {
    exec('config: version', `cniVersions ${show(list)} without cniVersion`, {
      stdin: config({ cniVersion: undefined, cniVersions: list }),
      expect: expect(VERSION, 'cniVersions'),
    });
  }
  // The last duplicate key wins in JSON.parse (and in Go's decoder): an unsupported version.
  exec('config: version', 'duplicate cniVersion, last one unsupported', {
    stdin: config().replace('{', '{"cniVersion":"1.1.0",').replace('"cniVersion":"1.1.0","name"', '"cniVersion":"0.2.0","name"'),
    expect: expect(VERSION, 'cniVersion'),
  });
  // Commands a version lacks (bad-input.test.ts has CHECK at 0.3.1 and GC at 1.0.0).
  const lacks: ReadonlyArray<readonly [string, string]> = [
    ['CHECK', '0.3.0'],
    ['STATUS', '0.3.0'],
    ['STATUS', '0.3.1'],
    ['STATUS', '0.4.0'],
    ['STATUS', '1.0.0'],
    ['GC', '0.3.0'],
    ['GC', '0.3.1'],
    ['GC', '0.4.0'],
  ];
  for (const [command, version] of lacks) {
    exec('config: version', `${command} at ${version}`, { env: { CNI_COMMAND: command }, stdin: config({ cniVersion: version }), expect: expect(VERSION, 'cniVersion') });
  }
  exec('config: version', 'GC with cniVersions ["1.0.0"]', {
    env: { CNI_COMMAND: 'GC' },
    stdin: config({ cniVersion: undefined, cniVersions: ['0.4.0', '1.0.0'] }),
    expect: expect(VERSION, 'cniVersion'),
  });

  // --- config: huge values ------------------------------------------------------------------
  exec('config: huge', 'name of 10k characters', { stdin: config({ name: 'n'.repeat(10_000) }), expect: expect(BAD_CONFIG, 'name') });
  exec('config: huge', 'logicalSwitch of 100k characters', { stdin: config({ logicalSwitch: 'l'.repeat(100_000) }), expect: expect(BAD_CONFIG, 'logicalSwitch') });
  exec('config: huge', 'socket of 10k characters', { stdin: config({ socket: `/${'s'.repeat(10_000)}` }), expect: expect(BAD_CONFIG, 'socket') });
  exec('config: huge', 'type of 500k characters with an ipam section', {
    stdin: config({ type: 't'.repeat(500_000), ipam: {} }),
    expect: expect(UNSUPPORTED_FIELD, 'ipam'),
  });
  exec('config: huge', 'cni.dev/valid-attachments with 100001 entries', {
    env: { CNI_COMMAND: 'GC' },
    stdin: config({ 'cni.dev/valid-attachments': Array.from({ length: 100_001 }, () => ({})) }),
    expect: expect(BAD_CONFIG, 'cni.dev/valid-attachments'),
  });
  {
    // A config just over the cap: valid JSON of exactly MAX_CONFIG_BYTES + 1 bytes.
    const shell = config({ pad: '' });
    const pad = 'p'.repeat(MAX_CONFIG_BYTES + 1 - Buffer.byteLength(shell));
    const over = config({ pad });
    exec('config: huge', `config of ${Buffer.byteLength(over)} bytes (1 MiB + 1)`, { stdin: over, expect: expect(DECODE, 'larger than') });
    const multi = config({ pad: 'é'.repeat((MAX_CONFIG_BYTES + 2 - Buffer.byteLength(shell)) / 2) });
    exec('config: huge', `config of ${Buffer.byteLength(multi)} bytes of 2-byte characters`, { stdin: multi, expect: expect(DECODE, 'larger than') });
    exec('config: huge', 'config of 8 MiB', { stdin: config({ pad: 'p'.repeat(8 * 1024 * 1024) }), expect: expect(DECODE, 'larger than') });
    exec('config: huge', '2 MiB of whitespace', { stdin: ' '.repeat(2 * 1024 * 1024), expect: expect(DECODE, 'larger than') });
  }

  // --- config: required fields missing -------------------------------------------------------
  // Without `socket` the executable asks the default socket, where no daemon listens here.
  exec('config: missing', 'empty object', { stdin: '{}', expect: expect(TRY_AGAIN, 'daemon', { why: 'the default socket has no daemon in tests' }) });
  exec('config: missing', 'only the socket', { stdin: JSON.stringify({ socket: ctx.socket }), expect: expect(BAD_CONFIG, 'cniVersion') });
  exec('config: missing', 'only cniVersion', { stdin: JSON.stringify({ cniVersion: '1.1.0', socket: ctx.socket }), expect: expect(BAD_CONFIG, 'name') });
  exec('config: missing', 'only cniVersion and name', { stdin: JSON.stringify({ cniVersion: '1.1.0', name: ctx.lswitch, socket: ctx.socket }), expect: expect(BAD_CONFIG, 'type') });
  exec('config: missing', 'no cniVersion but a socket', { stdin: config({ cniVersion: undefined, name: undefined, type: undefined }), expect: expect(BAD_CONFIG, 'cniVersion') });
  exec('config: missing', 'no name and no type', { stdin: config({ name: undefined, type: undefined }), expect: expect(BAD_CONFIG, 'name') });
  exec('config: missing', 'cniVersions without name', { stdin: config({ cniVersion: undefined, cniVersions: ['1.1.0'], name: undefined }), expect: expect(BAD_CONFIG, 'name') });
  exec('config: missing', 'no name, logicalSwitch given', { stdin: config({ name: undefined, logicalSwitch: ctx.lswitch }), expect: expect(BAD_CONFIG, 'name') });

  // --- config: truncated JSON at many cut points ---------------------------------------------
  {
    const full = config({ mtu: 1400, portSecurity: true, logicalSwitch: ctx.lswitch, prevResult: { interfaces: [{ name: 'net1' }], ips: [] } });
    const cuts = new Set<number>();
    for (let i = 0; i < 40; i++) cuts.add(Math.floor((i * full.length) / 40));
    // Every structural character, and just after it.
    for (let i = 0; i < full.length; i++) if ('{}[]:,'.includes(full[i] ?? '')) cuts.add(i).add(i + 1);
    for (const cut of [...cuts].filter((c) => c < full.length).sort((a, b) => a - b)) {
      exec('config: truncated', `compact config cut at ${cut}/${full.length}`, { stdin: full.slice(0, cut), expect: expect(DECODE, 'JSON') });
    }
    const pretty = JSON.stringify(JSON.parse(full), null, 2);
    for (let i = 1; i <= 8; i++) {
      const cut = Math.floor((i * pretty.length) / 9);
      exec('config: truncated', `pretty config cut at ${cut}/${pretty.length}`, { stdin: pretty.slice(0, cut), expect: expect(DECODE, 'JSON') });
    }
  }

  // --- config: JSON that is not an object, and text that is not JSON ------------------------
  for (const text of ['[]', `[${config()}]`, '0', '-1', '1e5', '"str"', '""', `${JSON.stringify(config())}`, 'true', 'false', 'null', '  null  ', '[null]', '[[[]]]']) {
    exec('config: not an object', `stdin ${show(text)}`, { stdin: text, expect: expect(DECODE, 'object') });
  }
  const notJson: ReadonlyArray<readonly [string, string]> = [
    ['garbage', 'garbage'],
    ['undefined', 'undefined'],
    ['NaN', 'NaN'],
    ['single quotes', "{'cniVersion':'1.1.0'}"],
    ['bare keys', '{cniVersion:"1.1.0"}'],
    ['trailing comma', config().replace(/}$/, ',}')],
    ['two objects', `${config()}${config()}`],
    ['object then garbage', `${config()} x`],
    ['comment', `/* net */${config()}`],
    ['hex number', config().replace(/}$/, ',"mtu":0x578}')],
    ['leading plus', config().replace(/}$/, ',"mtu":+1400}')],
    ['unescaped newline in a string', config().replace(`"${ctx.lswitch}"`, `"${ctx.lswitch}\n"`)],
    ['lone backslash escape', config().replace(`"${ctx.lswitch}"`, `"\\q"`)],
    ['only whitespace', ' \n\t '],
    ['UTF-8 BOM then config', `\ufeff${config()}`],
    ['NUL byte before config', `\u0000${config()}`],
  ];
  for (const [label, text] of notJson) exec('config: not JSON', label, { stdin: text, expect: expect(DECODE, 'JSON') });
  {
    const random = prng(0x5eed);
    for (let n = 0; n < 6; n++) {
      const len = 16 + Math.floor(random() * 240);
      // First byte outside what can start a JSON text, so the garbage never parses.
      const bytes = Array.from({ length: len }, (_, i) => (i === 0 ? 0x80 + Math.floor(random() * 0x80) : Math.floor(random() * 256)));
      exec('config: not JSON', `seeded random bytes #${n} (${len} bytes)`, { stdin: Buffer.from(bytes), expect: expect(DECODE, 'JSON') });
    }
  }

  // --- config: invalid UTF-8 ------------------------------------------------------------------
  // Stdin is decoded as UTF-8 with U+FFFD for bad bytes (as Go's decoder does): inside a string
  // the value is then simply wrong for its field; between tokens the JSON is broken.
  const badBytes: ReadonlyArray<readonly [string, readonly number[]]> = [
    ['0xff', [0xff]],
    ['0xfe', [0xfe]],
    ['lone continuation 0x80', [0x80]],
    ['cut 2-byte sequence 0xc3', [0xc3]],
    ['overlong "/" 0xc0 0xaf', [0xc0, 0xaf]],
    ['UTF-16 surrogate 0xed 0xa0 0x80', [0xed, 0xa0, 0x80]],
    ['Latin-1 é 0xe9', [0xe9]],
    ['5-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ];
  for (const [label, bytes] of badBytes) {
    exec('config: invalid UTF-8', `${label} in name`, { stdin: configBytes('name', 're', bytes, 'd'), expect: expect(BAD_CONFIG, 'name') });
  }
  for (const [label, bytes] of badBytes.slice(0, 3)) {
    exec('config: invalid UTF-8', `${label} in cniVersion`, { stdin: configBytes('cniVersion', '1.1.0', bytes, ''), expect: expect(VERSION, 'cniVersion') });
    exec('config: invalid UTF-8', `${label} in logicalSwitch`, { stdin: configBytes('logicalSwitch', ctx.lswitch, bytes, ''), expect: expect(BAD_CONFIG, 'logicalSwitch') });
    exec('config: invalid UTF-8', `${label} between tokens`, {
      stdin: Buffer.concat([Buffer.from('{'), Buffer.from(bytes), Buffer.from(config().slice(1))]),
      expect: expect(DECODE, 'JSON'),
    });
  }
  exec('config: invalid UTF-8', 'config encoded as UTF-16LE', { stdin: Buffer.from(config(), 'utf16le'), expect: expect(DECODE, 'JSON') });
  exec('config: invalid UTF-8', 'config encoded as UTF-16LE with BOM', { stdin: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(config(), 'utf16le')]), expect: expect(DECODE, 'JSON') });

  // --- config: deeply nested JSON -------------------------------------------------------------
  // The executable decodes the config (to find `socket`) with Go's encoding/json, which stops at
  // 10000 levels: deeper configs are refused there (6). The daemon's own answer to them, which
  // names the field, is checked by the socket cases below.
  const tooDeep = expect(DECODE, 'nests deeper than 10000 levels', { why: "Go's encoding/json stops at 10000 levels" });
  for (const key of ['name', 'type', 'logicalSwitch', 'socket', 'portSecurity', 'prevResult', 'cni.dev/valid-attachments', 'ipam', 'mtu', 'cniVersions', 'cniVersion']) {
    exec('config: nested', `${key} as 100k nested arrays`, { stdin: configRaw(key, nestedArrays(100_000)), expect: tooDeep });
  }
  exec('config: nested', 'prevResult.ips[0].address as 50k nested objects', { stdin: configRaw('prevResult', `{"ips":[{"address":${nestedObjects(50_000)}}]}`), expect: tooDeep });
  exec('config: nested', 'mtu as 50k nested objects', { stdin: configRaw('mtu', nestedObjects(50_000)), expect: tooDeep });
  exec('config: nested', 'mtu as 10000 nested arrays', { stdin: configRaw('mtu', nestedArrays(10_000)), expect: tooDeep });
  exec('config: nested', 'stdin 500k nested arrays', { stdin: nestedArrays(500_000), expect: tooDeep });
  exec('config: nested', 'stdin 100k nested objects', { stdin: nestedObjects(100_000), expect: tooDeep });
  // Up to the limit, every field gets its own error from the daemon.
  for (const depth of [1000, 9998]) {
    exec('config: nested', `mtu as ${depth} nested arrays`, { stdin: configRaw('mtu', nestedArrays(depth)), expect: expect(BAD_CONFIG, 'mtu') });
    exec('config: nested', `cniVersions as ${depth} nested arrays`, { stdin: configRaw('cniVersions', nestedArrays(depth)), expect: expect(BAD_CONFIG, 'cniVersions') });
    exec('config: nested', `cniVersion as ${depth} nested arrays`, {
      stdin: configRaw('cniVersion', nestedArrays(depth)),
      expect: expect([VERSION, BAD_CONFIG, DECODE], 'cniVersion', { why: 'non-string version, see "cniVersion as number"' }),
    });
    exec('config: nested', `name as ${depth} nested arrays`, { stdin: configRaw('name', nestedArrays(depth)), expect: expect(BAD_CONFIG, 'name') });
  }
  exec('config: nested', 'stdin 100k unclosed arrays', { stdin: '['.repeat(100_000), expect: tooDeep });

  // --- env: CNI_NETNS ---------------------------------------------------------------------
  // Format errors are caught by validateNetnsPath (4, also for DEL, which otherwise ignores the
  // netns): only /proc/<pid>/ns/net, /proc/<pid>/task/<tid>/ns/net, /var/run/netns/<name> and
  // /run/netns/<name>; what exists but is not a netns is 4 from the daemon; what does not exist is 3.
  const netnsFormat = [
    '/etc/hostname',
    '/tmp',
    '/dev/null',
    '/',
    '/sys/class/net/lo',
    '/procx/1/ns/net',
    '/var/run/netnsx/a',
    '/run/netns-evil/a',
    '/var/run/netns',
    '/var/run/netns/',
    '/run/netns/',
    '/proc/',
    '/var/run/netns/../../etc/passwd',
    '/proc/1/../1/ns/net',
    `${ctx.podNetns}/..`,
    `${ctx.podNetns.replace('/netns/', '/netns/./')}`,
    '/proc/1/ns/.',
    'netns/x',
    './x',
    'proc/1/ns/net',
    `${ctx.podNetns.slice(1)}`,
    '~/netns',
    ` ${ctx.podNetns}`,
    `/var/run/netns/${'a'.repeat(5000)}`,
    // Only /proc/<pid>/ns/net and /proc/<pid>/task/<tid>/ns/net under /proc, one name under netns/.
    '/proc/1/ns/nope',
    '/proc/1/status/x',
    '/proc/1/root/etc/hostname',
    `/proc/1/root${ctx.podNetns}`,
    '/proc/self/ns/net',
    '/proc/1/ns/mnt',
    '/proc/1/status',
    '/proc/version',
    '/proc/1/ns',
    '/proc/1',
    '/proc/sys',
    '/proc/self/ns/mnt',
    '/proc/self/ns/uts',
    '/proc/self/ns/ipc',
    '/proc/self/ns/pid',
    '/proc/self/ns/user',
    '/proc/self/ns/cgroup',
    '/proc/self/ns/time',
    '/proc/self/ns/pid_for_children',
    `/var/run/netns/${'a/'.repeat(1500)}x`,
    `/var/run/netns/${'a'.repeat(300)}`,
    `${ctx.podNetns}/`,
  ];
  for (const path of netnsFormat) {
    for (const command of ['ADD', 'CHECK', 'DEL']) {
      exec('env: CNI_NETNS', `${command} CNI_NETNS=${show(path)}`, { env: { CNI_COMMAND: command, CNI_NETNS: path }, expect: expect(BAD_ENV, 'CNI_NETNS') });
    }
  }
  // Well-formed, but the file is not a netns (a regular file on tmpfs; PID 1's mount namespace).
  const notNetns = [
    ctx.regularFile.replace('/var/run/', '/run/'),
    ctx.regularFile,
  ];
  for (const path of notNetns) {
    for (const command of ['ADD', 'CHECK']) {
      exec('env: CNI_NETNS', `${command} CNI_NETNS=${show(path)} (not a netns)`, { env: { CNI_COMMAND: command, CNI_NETNS: path }, expect: expect(BAD_ENV, 'CNI_NETNS') });
    }
  }
  const missing = [
    '/run/netns/corpus-no-such',
    ctx.danglingLink,
    '/proc/999999999/ns/net',
    '/proc/999999999/task/999999999/ns/net',
    `${ctx.podNetns}-x`,
  ];
  for (const path of missing) {
    // The daemon's message repeats the path: a 3000-character path makes a 3000-character msg.
    const extra = path.length > 400 ? {} : {};
    for (const command of ['ADD', 'CHECK']) {
      exec('env: CNI_NETNS', `${command} CNI_NETNS=${show(path)} (missing)`, { env: { CNI_COMMAND: command, CNI_NETNS: path }, expect: expect(NO_NETNS, 'CNI_NETNS', extra) });
    }
  }
  for (const [label, path] of [
    ['a symlink loop (ELOOP)', ctx.loopLink],
  ] as const) {
    exec('env: CNI_NETNS', `ADD CNI_NETNS with ${label}`, {
      env: { CNI_NETNS: path },
      expect: expect([NO_NETNS, BAD_ENV], 'CNI_NETNS', { why: 'cannot be opened: "missing" or "bad env"' }),
    });
  }

  // --- env: CNI_IFNAME ----------------------------------------------------------------------
  const ifnames = [
    'eth0123456789abc',
    'x'.repeat(100),
    'é'.repeat(8),
    '/',
    'net/1',
    'net:1',
    'net 1',
    'net\t1',
    'net\n1',
    'net\r1',
    'net\v1',
    'net\f1',
    ' net1',
    'net1 ',
    'net\u00a01',
    'net\u20281',
    '.',
    '',
  ];
  for (const ifname of ifnames) {
    for (const command of ['ADD', 'DEL', 'CHECK']) {
      exec('env: CNI_IFNAME', `${command} CNI_IFNAME=${show(ifname)}`, { env: { CNI_COMMAND: command, CNI_IFNAME: ifname }, expect: expect(BAD_ENV, 'CNI_IFNAME') });
    }
  }

  // --- env: CNI_CONTAINERID -----------------------------------------------------------------
  const containerIds = ['', '-abc', '.abc', '_abc', 'a b', ' abc', 'abc;rm -rf /', 'a/b', '../x', '$(id)', 'a\nb', 'a*', 'é', 'a:b', 'a'.repeat(257), 'b'.repeat(300)];
  for (const id of containerIds) {
    for (const command of ['ADD', 'DEL', 'CHECK']) {
      exec('env: CNI_CONTAINERID', `${command} CNI_CONTAINERID=${show(id)}`, { env: { CNI_COMMAND: command, CNI_CONTAINERID: id }, expect: expect(BAD_ENV, 'CNI_CONTAINERID') });
    }
  }

  // --- env: required variables per command (SPEC "Parameters") ------------------------------
  const required: Record<string, readonly CniVar[]> = {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    GC: ['CNI_PATH'],
  };
  for (const [command, vars] of Object.entries(required)) {
    for (const name of vars) {
      // bad-input.test.ts deletes each ADD variable; here: the other commands, and empty values.
      if (command !== 'ADD') exec('env: missing', `${command} without ${name}`, { env: { CNI_COMMAND: command, [name]: undefined }, expect: expect(BAD_ENV, name) });
      exec('env: missing', `${command} with empty ${name}`, { env: { CNI_COMMAND: command, [name]: '' }, expect: expect(BAD_ENV, name) });
    }
  }
  // Without CNI_COMMAND the executable is the command-line tool, not the plugin (docs/errors.md, code 4).

  // --- env: unknown CNI_COMMAND -------------------------------------------------------------
  const commands = ['add', 'Add', 'del', 'DELETE', 'CREATE', 'ATTACH ', ' ADD', 'ADD ', 'ADD\n', '\tADD', 'VERSIONS', 'ADD;DEL', 'ADD,DEL', '\uff21\uff24\uff24', 'A\u200bDD', 'GC ', 'status', 'c'.repeat(1000)];
  for (const command of commands) {
    const long = command.length > 100;
    exec('env: CNI_COMMAND', `CNI_COMMAND=${show(command)}`, {
      env: { CNI_COMMAND: command },
      expect: expect(BAD_ENV, 'CNI_COMMAND', long ? {} : {}),
    });
  }

  // --- env: malformed CNI_ARGS --------------------------------------------------------------
  const args = ['=v', 'K8S_POD_NAME=a;=b', 'a=b;c', 'IgnoreUnknown', ' ', '=', ';;;x', 'K8S_POD_NAME;K8S_POD_UID=x', `K=${'v'.repeat(5000)}`, `${'k'.repeat(4097)}=`];
  for (const value of args) {
    for (const command of ['ADD', 'DEL']) {
      exec('env: CNI_ARGS', `${command} CNI_ARGS=${show(value)}`, { env: { CNI_COMMAND: command, CNI_ARGS: value }, expect: expect(BAD_ENV, 'CNI_ARGS') });
    }
  }

  // --- raw socket requests --------------------------------------------------------------------
  const socketCase = (category: string, name: string, x: { chunks: readonly Buffer[]; gapMs?: number; finish?: SocketCase['finish']; expect: Expectation | 'close' }): void => {
    cases.push({ kind: 'socket', category, name, chunks: x.chunks, gapMs: x.gapMs ?? 0, finish: x.finish ?? 'end', expect: x.expect });
  };
  const request = (env: Record<string, unknown>, cfg: unknown = config()): string => JSON.stringify({ env, config: cfg });
  const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: BAD_CONTAINER_ID, CNI_NETNS: ctx.podNetns, CNI_IFNAME: IFNAME, CNI_PATH: '/opt/cni/bin' };
  {
    // A request the daemon would act on if it arrived whole: truncation must never run it.
    const full = request(addEnv);
    for (let i = 0; i < 24; i++) {
      const cut = Math.floor((i * full.length) / 24);
      socketCase('socket: truncated', `request cut at ${cut}/${full.length}`, { chunks: [Buffer.from(full.slice(0, cut))], expect: expect(DECODE, 'JSON') });
    }
    socketCase('socket: truncated', 'two requests back to back', { chunks: [Buffer.from(full + full)], expect: expect(DECODE, 'JSON') });
    socketCase('socket: truncated', 'request and garbage', { chunks: [Buffer.from(`${full}\u0000`)], expect: expect(DECODE, 'JSON') });
  }
  for (const text of ['[]', '1', '"x"', 'null', 'true', `[${request(addEnv)}]`]) {
    socketCase('socket: not an object', `request ${show(text)}`, { chunks: [Buffer.from(text)], expect: expect(DECODE, 'object') });
  }
  const shapes: ReadonlyArray<readonly [string, string, string]> = [
    ['no env', JSON.stringify({ config: config() }), 'request.env'],
    ['env an array', JSON.stringify({ env: [], config: config() }), 'request.env'],
    ['env a string', JSON.stringify({ env: 'CNI_COMMAND=ADD', config: config() }), 'request.env'],
    ['env a number', JSON.stringify({ env: 1, config: config() }), 'request.env'],
    ['env null', JSON.stringify({ env: null, config: config() }), 'request.env'],
    ['no config', JSON.stringify({ env: addEnv }), 'request.config'],
    ['config a number', JSON.stringify({ env: addEnv, config: 1 }), 'request.config'],
    ['config an object', JSON.stringify({ env: addEnv, config: goodConfig() }), 'request.config'],
    ['config null', JSON.stringify({ env: addEnv, config: null }), 'request.config'],
    ['config an array', JSON.stringify({ env: addEnv, config: [config()] }), 'request.config'],
    ['env value a number', request({ ...addEnv, CNI_COMMAND: 1 }), 'request.env.CNI_COMMAND'],
    ['env value null', request({ ...addEnv, CNI_NETNS: null }), 'request.env.CNI_NETNS'],
    ['env value an object', request({ ...addEnv, CNI_IFNAME: { name: 'net1' } }), 'request.env.CNI_IFNAME'],
    ['env value an array', request({ ...addEnv, CNI_ARGS: ['a=b'] }), 'request.env.CNI_ARGS'],
    ['env value a boolean', request({ ...addEnv, CNI_PATH: true }), 'request.env.CNI_PATH'],
    ['unknown env key HOME', request({ ...addEnv, HOME: '/' }), 'request.env.HOME'],
    ['unknown env key lower-case cni_command', request({ ...addEnv, cni_command: 'ADD' }), 'request.env.cni_command'],
    ['unknown env key ""', request({ ...addEnv, '': 'x' }), 'request.env. is not'],
    ['env key __proto__', request(addEnv).replace('{"CNI_COMMAND"', '{"__proto__":"x","CNI_COMMAND"'), 'request.env.__proto__'],
    ['env key constructor', request({ ...addEnv, constructor: 'x' }), 'request.env.constructor'],
    ['env key LD_PRELOAD', request({ ...addEnv, LD_PRELOAD: '/tmp/x.so' }), 'request.env.LD_PRELOAD'],
  ];
  for (const [label, text, field] of shapes) socketCase('socket: wrong shape', label, { chunks: [Buffer.from(text)], expect: expect(DECODE, field) });
  // Well-formed requests with content the executable would have refused: the daemon validates
  // again with the same code (a client that bypasses the executable gets the same answers).
  const bypass: ReadonlyArray<readonly [string, Record<string, unknown>, string, Expectation]> = [
    ['empty env', {}, config(), expect(BAD_ENV, 'CNI_COMMAND')],
    ['unknown command', { ...addEnv, CNI_COMMAND: 'ATTACH' }, config(), expect(BAD_ENV, 'CNI_COMMAND')],
    ['bad ifname', { ...addEnv, CNI_IFNAME: 'a/b' }, config(), expect(BAD_ENV, 'CNI_IFNAME')],
    ['ifname of 16 bytes', { ...addEnv, CNI_IFNAME: 'x'.repeat(16) }, config(), expect(BAD_ENV, 'CNI_IFNAME')],
    ['bad container id', { ...addEnv, CNI_CONTAINERID: '-x' }, config(), expect(BAD_ENV, 'CNI_CONTAINERID')],
    ['no netns', { ...addEnv, CNI_NETNS: undefined }, config(), expect(BAD_ENV, 'CNI_NETNS')],
    ['netns with ..', { ...addEnv, CNI_NETNS: '/var/run/netns/../x' }, config(), expect(BAD_ENV, 'CNI_NETNS')],
    ['netns a mount namespace', { ...addEnv, CNI_NETNS: '/proc/self/ns/mnt' }, config(), expect(BAD_ENV, 'CNI_NETNS')],
    ['netns missing', { ...addEnv, CNI_NETNS: '/var/run/netns/corpus-no-such' }, config(), expect(NO_NETNS, 'CNI_NETNS')],
    ['CNI_ARGS 5000 characters', { ...addEnv, CNI_ARGS: `K=${'v'.repeat(5000)}` }, config(), expect(BAD_ENV, 'CNI_ARGS')],
    ['GC without CNI_PATH', { CNI_COMMAND: 'GC' }, config(), expect(BAD_ENV, 'CNI_PATH')],
    ['config not JSON', addEnv, '{"cniVersion":', expect(DECODE, 'JSON')],
    ['config an array', addEnv, '[]', expect(DECODE, 'object')],
    ['config 1 MiB + 1 (request under the cap)', addEnv, config({ pad: 'p'.repeat(MAX_CONFIG_BYTES + 1 - Buffer.byteLength(config({ pad: '' }))) }), expect(DECODE, 'larger than')],
    ['cniVersion 0.2.0', addEnv, config({ cniVersion: '0.2.0' }), expect(VERSION, 'cniVersion')],
    ['CHECK at 0.3.1', { ...addEnv, CNI_COMMAND: 'CHECK' }, config({ cniVersion: '0.3.1' }), expect(VERSION, 'cniVersion')],
    ['ipam section', addEnv, config({ ipam: {} }), expect(UNSUPPORTED_FIELD, 'ipam')],
    ['mtu a string', addEnv, config({ mtu: '1400' }), expect(BAD_CONFIG, 'mtu')],
    ['unknown switch', addEnv, config({ logicalSwitch: 'corpus-no-such-switch' }), expect(BAD_CONFIG, 'logicalSwitch')],
    ['mtu as 100k nested arrays', addEnv, configRaw('mtu', nestedArrays(100_000)), expect(BAD_CONFIG, 'mtu')],
  ];
  for (const [label, env, cfg, e] of bypass) {
    socketCase('socket: bypassing the executable', label, { chunks: [Buffer.from(JSON.stringify({ env, config: cfg }))], expect: e });
  }
  socketCase('socket: bypassing the executable', 'invalid UTF-8 in the request', {
    chunks: [Buffer.concat([Buffer.from('{"env":{"CNI_COMMAND":"AD'), Buffer.from([0xff]), Buffer.from(`"},"config":${JSON.stringify(config())}}`)])],
    expect: expect(BAD_ENV, 'CNI_COMMAND'),
  });
  // Size cap: the daemon stops reading past MAX_REQUEST_BYTES and answers 6.
  {
    const shell = request(addEnv, '');
    const atCap = request(addEnv, 'x'.repeat(MAX_REQUEST_BYTES + 1 - Buffer.byteLength(shell)));
    socketCase('socket: size', `request of ${Buffer.byteLength(atCap)} bytes (cap + 1)`, { chunks: [Buffer.from(atCap)], expect: expect(DECODE, 'too large') });
    socketCase('socket: size', 'request of 8 MiB in 64 KiB writes', {
      chunks: Array.from({ length: 128 }, () => Buffer.alloc(64 * 1024, 'x')),
      expect: expect(DECODE, 'too large'),
    });
    socketCase('socket: size', '2 MiB of spaces, never half-closed', { chunks: [Buffer.alloc(2 * 1024 * 1024, ' ')], finish: 'hold', expect: expect(DECODE, 'too large') });
  }
  // Slow and silent clients: cut off after --read-timeout with 5.
  {
    const body = Buffer.from(request(addEnv));
    const bytes = (n: number): Buffer[] => [...body.subarray(0, n)].map((b) => Buffer.from([b]));
    const late = expect(IO, 'in time');
    socketCase('socket: slow', 'one byte every 100 ms (whole request takes longer than the read timeout)', { chunks: bytes(Math.ceil((ctx.readTimeoutMs * 3) / 100)), gapMs: 100, expect: late });
    socketCase('socket: slow', 'one byte per interval longer than the read timeout', { chunks: bytes(4), gapMs: ctx.readTimeoutMs + 200, expect: late });
    socketCase('socket: slow', 'connects and sends nothing', { chunks: [], finish: 'hold', expect: late });
    socketCase('socket: slow', 'half a request, never half-closed', { chunks: [body.subarray(0, body.length >> 1)], finish: 'hold', expect: late });
    socketCase('socket: slow', 'a whole request, never half-closed', { chunks: [body], finish: 'hold', expect: late });
    socketCase('socket: slow', 'empty request, half-closed at once', { chunks: [], expect: expect(DECODE, 'JSON') });
  }
  // Clients that go away: the daemon must survive and the client sees a clean close.
  {
    const body = Buffer.from(request(addEnv));
    const bad = Buffer.from(request({ ...addEnv, CNI_IFNAME: 'a/b' }));
    const missingNetns = Buffer.from(request({ ...addEnv, CNI_NETNS: '/var/run/netns/corpus-no-such' }));
    socketCase('socket: disconnect', 'connects and closes at once', { chunks: [], finish: 'destroy', expect: 'close' });
    socketCase('socket: disconnect', 'closes after one byte', { chunks: [body.subarray(0, 1)], finish: 'destroy', expect: 'close' });
    socketCase('socket: disconnect', 'closes mid-request', { chunks: [body.subarray(0, body.length >> 1)], finish: 'destroy', expect: 'close' });
    socketCase('socket: disconnect', 'closes mid-request after slow bytes', { chunks: [...body.subarray(0, 3)].map((b) => Buffer.from([b])), gapMs: 50, finish: 'destroy', expect: 'close' });
    // A whole request followed by a close reads as a request (EOF); one that fails in the handler,
    // so nothing is made (the test file shows what a whole valid ADD does).
    socketCase('socket: disconnect', 'closes after a whole request without half-close', { chunks: [missingNetns], finish: 'destroy', expect: 'close' });
    socketCase('socket: disconnect', 'closes mid-way through 4 MiB', { chunks: Array.from({ length: 8 }, () => Buffer.alloc(64 * 1024, ' ')), finish: 'destroy', expect: 'close' });
    // Sends a whole (refusable) request and goes away before the answer is written.
    socketCase('socket: disconnect', 'half-closes a whole request and drops before the answer', { chunks: [bad], finish: 'end-then-destroy', expect: 'close' });
    socketCase('socket: disconnect', 'half-closes a request the handler works on and drops', { chunks: [missingNetns], finish: 'end-then-destroy', expect: 'close' });
  }
  return cases;
}

/** Case counts by category, in first-seen order. */
export function countByCategory(cases: readonly CorpusCase[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of cases) counts.set(c.category, (counts.get(c.category) ?? 0) + 1);
  return counts;
}
