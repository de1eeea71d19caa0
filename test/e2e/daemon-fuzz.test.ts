// Fuzzing the daemon's protocol (issue 11, item 6): FUZZ_INPUTS mutants (test/helpers/mutate.ts)
// of the bad-input corpus and of valid ADD/CHECK/DEL/STATUS/VERSION/GC requests go straight to
// the daemon's socket over several connections at once, as raw bytes; a few are cut short, never
// finished or dropped. Each answer must be one JSON object with exitCode and stdout, stdout a CNI
// error (code, msg) or a result; a dropped connection must close. Every accepted ADD is deleted
// again at once. The daemon must never lose a database meanwhile (a lone UTF-16 surrogate once
// made it: test/e2e/nb-strings.test.ts). Every 1000 inputs and at the end the daemon must be
// alive, answer STATUS and have nothing left over; at the end it serves a real ADD and DEL
// through the executable, and there is no logical switch port, guard key, br-int port, host veth
// or new link in the node or pod namespace. FUZZ_SEED replays a run.
import t from 'tap';
import { createNetns, uniqueName } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';
import { buildCorpus } from '../helpers/corpus.ts';
import { Mutator, type Mutant } from '../helpers/mutate.ts';
import { seededRandom } from '../helpers/random.ts';
import { pool, sendToSocket, type RawSend, type SocketOutcome } from '../helpers/socket-client.ts';

const skip = e2eSkipReason();
const LSWITCH = 'fuzz';
/** GC's seed works on another switch: a GC on LSWITCH would remove what a refused ADD left there. */
const GC_SWITCH = 'fuzz-gc';
/** The valid seeds' container IDs; each input gets its own in their place (same length). */
const SEED_IDS = ['fuzz-a', 'fuzz-b'] as const;
const INPUTS = Number(process.env['FUZZ_INPUTS'] ?? 5000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 1);
const CONCURRENCY = 8;
const READ_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 30_000;
/** A client gives up after this long: well past the daemon's own request deadline. */
const CLIENT_LIMIT_MS = REQUEST_TIMEOUT_MS * 2;
const CHECKPOINT_EVERY = 1000;
/** Seeds larger than this (the size-cap cases) would make every mutant slow to build and send. */
const MAX_SEED_BYTES = 256 * 1024;
/** How often each valid request is among the seeds, against about 700 corpus cases. */
const VALID_WEIGHT = 20;
const PROBLEMS_SHOWN = 20;

type Finish = 'newline' | 'half-close' | 'hold' | 'drop' | 'half-close-drop';

interface Stats {
  sent: number;
  answered: number;
  accepted: number;
  refused: number;
  dropped: number;
  skipped: number;
  acceptedAdds: number;
  codes: Map<number, number>;
  acceptedCommands: Map<string, number>;
  problems: string[];
}

const count = <K>(map: Map<K, number>, key: K): void => {
  map.set(key, (map.get(key) ?? 0) + 1);
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** What the daemon reads of `bytes`: everything up to the first newline, as UTF-8. */
function requestOf(bytes: Buffer): Record<string, unknown> | undefined {
  const newline = bytes.indexOf(0x0a);
  const value = parseJson((newline < 0 ? bytes : bytes.subarray(0, newline)).toString('utf8'));
  return isRecord(value) ? value : undefined;
}

function commandOf(request: Record<string, unknown> | undefined): string | undefined {
  const env = request?.['env'];
  const command = isRecord(env) ? env['CNI_COMMAND'] : undefined;
  return typeof command === 'string' ? command : undefined;
}

type Answer = { kind: 'result'; exitCode: number } | { kind: 'error'; exitCode: number; code: number } | { kind: 'bad'; why: string };

/** Checks the daemon's answer: {exitCode, stdout}, stdout a CNI error, a result or empty. */
function judge(reply: string): Answer {
  const response = parseJson(reply.replace(/\n$/, ''));
  if (!isRecord(response)) return { kind: 'bad', why: 'the answer is not a JSON object' };
  const { exitCode, stdout } = response;
  if (typeof exitCode !== 'number' || !Number.isInteger(exitCode)) return { kind: 'bad', why: 'exitCode is not an integer' };
  if (typeof stdout !== 'string') return { kind: 'bad', why: 'stdout is not a string' };
  if (exitCode === 0) {
    if (stdout === '') return { kind: 'result', exitCode };
    const result = parseJson(stdout);
    if (!isRecord(result) || typeof result['cniVersion'] !== 'string') return { kind: 'bad', why: 'exit 0 without a CNI result' };
    return { kind: 'result', exitCode };
  }
  const error = parseJson(stdout);
  if (!isRecord(error)) return { kind: 'bad', why: `exit ${exitCode} without a CNI error` };
  const { code, msg } = error;
  if (typeof code !== 'number' || !Number.isInteger(code) || typeof msg !== 'string' || msg === '') return { kind: 'bad', why: 'the CNI error lacks code or msg' };
  return { kind: 'error', exitCode, code };
}

/** How a client sends a mutant: mostly as the executable does, some cut short or never ended. */
function plan(mutant: Mutant, random: () => number): { send: RawSend; finish: Finish } {
  const r = random();
  const newline = Buffer.from('\n');
  if (r < 0.88) return { finish: 'newline', send: { chunks: [mutant.bytes, newline], gapMs: 0, finish: 'hold' } };
  if (r < 0.94) return { finish: 'half-close', send: { chunks: [mutant.bytes], gapMs: 0, finish: 'end' } };
  if (r < 0.96) return { finish: 'hold', send: { chunks: [mutant.bytes], gapMs: 0, finish: 'hold' } };
  if (r < 0.99) {
    const cut = mutant.bytes.subarray(0, Math.floor(random() * (mutant.bytes.length + 1)));
    return { finish: 'drop', send: { chunks: random() < 0.5 ? [cut] : [mutant.bytes, newline], gapMs: 0, finish: 'destroy' } };
  }
  return { finish: 'half-close-drop', send: { chunks: [mutant.bytes], gapMs: 0, finish: 'end-then-destroy' } };
}

/** `bytes` with every seed container ID replaced by one of input `i`'s own. */
function withOwnIds(bytes: Buffer, i: number): Buffer {
  let out = bytes;
  for (const [n, id] of SEED_IDS.entries()) {
    const own = Buffer.from(`${'ab'[n] ?? 'x'}${i.toString(36).padStart(id.length - 1, '0')}`);
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = out.indexOf(id); at >= 0; at = out.indexOf(id, from)) {
      parts.push(out.subarray(from, at), own);
      from = at + id.length;
    }
    if (parts.length > 0) out = Buffer.concat([...parts, out.subarray(from)]);
  }
  return out;
}

/** Printable and short, to name an input in a failure. */
const describe = (i: number, mutant: Mutant, finish: Finish): string =>
  `input ${i} (seed ${mutant.seed}, ${mutant.ops.join('+')}, ${finish}): ${mutant.bytes.subarray(0, 160).toString('base64')}`;

t.test('fuzzing the daemon socket', { skip }, async (t) => {
  const started = Date.now();
  const node = await startNode(t, {
    // No reconciler pass during the run (a dead attachment waits an hour), so nothing a refused
    // request left is removed before it is looked for; a failed ADD's own suspects still go.
    daemon: { extraArgs: ['--read-timeout', String(READ_TIMEOUT_MS), '--request-timeout', String(REQUEST_TIMEOUT_MS), '--reconcile-grace', '3600000', '--log-level', 'info'] },
  });
  for (const [lswitch, subnet] of [[LSWITCH, '10.9.0.0/16'], [GC_SWITCH, '10.10.0.0/24']] as const) {
    await node.sandbox.nbctl(['ls-add', lswitch, '--', 'set', 'logical_switch', lswitch, `other_config:subnet=${subnet}`]);
  }
  const pod = await createNetns(t, 'omfz');
  const socket = node.daemon.socket;
  const links = async (exec: (args: readonly string[]) => Promise<string>): Promise<string[]> =>
    (await exec(['ls', '/sys/class/net'])).split('\n').map((s) => s.trim()).filter((s) => s !== '').sort();
  const nodeLinksBefore = await links((a) => node.sandbox.exec(a));

  // Seeds: the corpus (its odd netns files need not exist here: a seed only has to look like one)
  // and valid requests, which the mutants often leave valid or nearly so.
  const nowhere = `/var/run/netns/${uniqueName('omfznone')}`;
  const corpus = buildCorpus({ socket, lswitch: LSWITCH, podNetns: pod.path, regularFile: nowhere, danglingLink: nowhere, loopLink: nowhere, readTimeoutMs: READ_TIMEOUT_MS });
  const seeds: Buffer[] = [];
  for (const c of corpus) {
    if (c.kind === 'socket') {
      const bytes = Buffer.concat(c.chunks);
      if (bytes.length > 0 && bytes.length <= MAX_SEED_BYTES) seeds.push(bytes);
      continue;
    }
    const env = Object.fromEntries(Object.entries(c.env).filter(([, v]) => v !== undefined));
    const config = typeof c.stdin === 'string' ? c.stdin : c.stdin.toString('utf8');
    const bytes = Buffer.from(JSON.stringify({ env, config }));
    if (bytes.length <= MAX_SEED_BYTES) seeds.push(bytes);
  }
  const corpusSeeds = seeds.length;
  const valid: Buffer[] = [];
  const request = (env: Record<string, string>, config: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ env, config: JSON.stringify(config) }));
  for (const version of ['1.1.0', '1.0.0', '0.4.0']) {
    const config = node.config(LSWITCH, { cniVersion: version });
    for (const [containerId, ifName] of [[SEED_IDS[0], 'net1'], [SEED_IDS[1], 'net2']] as const) {
      const env = { CNI_CONTAINERID: containerId, CNI_NETNS: pod.path, CNI_IFNAME: ifName, CNI_PATH: '/opt/cni/bin' };
      for (const command of ['ADD', 'CHECK', 'DEL']) valid.push(request({ CNI_COMMAND: command, ...env }, config));
    }
    valid.push(request({ CNI_COMMAND: 'VERSION' }, config));
  }
  const latest = node.config(LSWITCH);
  valid.push(request({ CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, latest));
  valid.push(request({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, { ...node.config(GC_SWITCH), 'cni.dev/valid-attachments': [{ containerID: SEED_IDS[0], ifname: 'net1' }] }));
  for (let i = 0; i < VALID_WEIGHT; i++) seeds.push(...valid);
  t.comment(`seeds: ${corpusSeeds} from the corpus, ${valid.length} valid requests (each ${VALID_WEIGHT} times); inputs: ${INPUTS}; seed: ${SEED}`);

  const mutator = new Mutator(seeds, SEED);
  const random = seededRandom(SEED ^ 0x5eed);
  const inputs = Array.from({ length: INPUTS }, (_, i) => i);
  const stats: Stats = { sent: 0, answered: 0, accepted: 0, refused: 0, dropped: 0, skipped: 0, acceptedAdds: 0, codes: new Map(), acceptedCommands: new Map(), problems: [] };
  const alive = (): boolean => node.daemon.child.exitCode === null && node.daemon.child.signalCode === null;
  const problem = (what: string): void => {
    stats.problems.push(what);
  };
  const statusRequest = request({ CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, latest);
  const send = (bytes: Buffer): Promise<SocketOutcome> => sendToSocket(socket, { chunks: [bytes, Buffer.from('\n')], gapMs: 0, finish: 'hold' }, CLIENT_LIMIT_MS);

  /** DEL of an ADD that may have made something: accepted, or its client went away. */
  const undo = async (i: number, add: Record<string, unknown>, mustSucceed: boolean): Promise<void> => {
    // Only env and config reach the handler; either may be too deep to write again, and then
    // the daemon refused it as malformed.
    const env = isRecord(add['env']) ? add['env'] : {};
    let body: string;
    try {
      body = JSON.stringify({ env: { ...env, CNI_COMMAND: 'DEL' }, config: add['config'] });
    } catch (err) {
      if (mustSucceed || !(err instanceof RangeError)) throw err;
      return;
    }
    const out = await send(Buffer.from(body));
    const answer = judge(out.reply);
    if (mustSucceed && (answer.kind !== 'result' || out.timedOut)) problem(`input ${i}: DEL of an accepted ADD failed: ${out.reply.slice(0, 300)}`);
  };

  // Generated in order, so a run is the same whatever the scheduling.
  // The sandbox rule: never a namespace of another process on the machine (corpus seeds name
  // /proc/1/...): such a mutant is drawn again.
  const namesAProcess = (bytes: Buffer): boolean => /\/proc\/+\d/.test(bytes.toString('latin1'));
  const planned = inputs.map((i) => {
    let next = mutator.next();
    while (namesAProcess(next.bytes)) {
      stats.skipped += 1;
      next = mutator.next();
    }
    const mutant = { ...next, bytes: withOwnIds(next.bytes, i) };
    return { i, mutant, ...plan(mutant, random) };
  });
  let crashed = false;
  const runOne = async ({ i, mutant, send: how, finish }: (typeof planned)[number]): Promise<void> => {
    if (crashed) return;
    stats.sent += 1;
    const out = await sendToSocket(socket, how, CLIENT_LIMIT_MS);
    if (!alive()) {
      crashed = true;
      problem(`the daemon died at ${describe(i, mutant, finish)}`);
      return;
    }
    const sent = Buffer.concat(how.chunks);
    const req = requestOf(sent);
    const dropped = finish === 'drop' || finish === 'half-close-drop';
    if (out.timedOut) {
      problem(`no answer within ${CLIENT_LIMIT_MS} ms: ${describe(i, mutant, finish)}`);
      return;
    }
    if (dropped) {
      stats.dropped += 1;
      if (commandOf(req) === 'ADD' && req !== undefined) await undo(i, req, false);
      if (out.reply === '') return;
    }
    if (out.reply === '') {
      problem(`no answer (${out.error ?? 'closed'}): ${describe(i, mutant, finish)}`);
      return;
    }
    stats.answered += 1;
    const answer = judge(out.reply);
    switch (answer.kind) {
      case 'bad':
        problem(`${answer.why}: ${out.reply.slice(0, 200)} for ${describe(i, mutant, finish)}`);
        return;
      case 'error':
        stats.refused += 1;
        count(stats.codes, answer.code);
        return;
      case 'result': {
        stats.accepted += 1;
        const command = commandOf(req) ?? '?';
        count(stats.acceptedCommands, command);
        if (command === 'ADD' && req !== undefined && !dropped) {
          stats.acceptedAdds += 1;
          await undo(i, req, true);
        }
        return;
      }
      default: {
        const never: never = answer;
        throw new Error(`unhandled answer ${String(never)}`);
      }
    }
  };

  const statusAnswers = async (): Promise<boolean> => {
    const out = await send(statusRequest);
    const answer = judge(out.reply);
    return answer.kind === 'result' && answer.exitCode === 0;
  };
  // The daemon's log lines at error level or above, kept; the rest is dropped at each checkpoint
  // (a million inputs' worth of warnings would only fill this process's memory).
  const severe: Array<Record<string, unknown>> = [];
  /** The daemon losing a database while inputs came in (its event loop blocked, say). */
  const lost: Array<Record<string, unknown>> = [];
  const sweepLogs = (): void => {
    severe.push(...node.daemon.logs.filter((l) => typeof l['level'] === 'number' && l['level'] >= 50));
    lost.push(...node.daemon.logs.filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('lost the ')));
    node.daemon.logs.length = 0;
  };
  let checkpoints = 0;
  for (let from = 0; from < planned.length && !crashed; from += CHECKPOINT_EVERY) {
    await pool(planned.slice(from, from + CHECKPOINT_EVERY), CONCURRENCY, runOne);
    const upTo = Math.min(from + CHECKPOINT_EVERY, planned.length);
    if (!alive()) crashed = true;
    else if (!(await statusAnswers())) problem(`STATUS failed after input ${upTo}`);
    // Every accepted ADD is deleted by now: whatever is left, a refused request made.
    const left = [...(await node.switchPorts(LSWITCH)), ...(await node.switchPorts(GC_SWITCH)), ...(await node.bridgePorts()), ...(await node.noHostVeths())];
    if (left.length > 0) problem(`left after inputs up to ${upTo}: ${left.join(' ')}`);
    checkpoints += 1;
    sweepLogs();
  }
  const seconds = (Date.now() - started) / 1000;

  const codes = [...stats.codes].sort(([a], [b]) => a - b).map(([code, n]) => `${code}: ${n}`).join(', ');
  const accepted = [...stats.acceptedCommands].map(([command, n]) => `${command}: ${n}`).join(', ');
  t.comment(`inputs: ${stats.sent} sent of ${INPUTS} (${stats.skipped} more mutants named /proc/<pid> and were drawn again)`);
  t.comment(`answered: ${stats.answered} (accepted ${stats.accepted}, refused ${stats.refused}); dropped by the client: ${stats.dropped}`);
  t.comment(`error codes: ${codes}`);
  t.comment(`accepted: ${accepted}; accepted ADDs deleted again: ${stats.acceptedAdds}`);
  t.comment(`crashes: ${crashed ? 1 : 0}; checkpoints: ${checkpoints}; problems: ${stats.problems.length}; ${seconds.toFixed(1)} s, ${(stats.sent / seconds).toFixed(0)} inputs/s`);
  for (const p of stats.problems.slice(0, PROBLEMS_SHOWN)) t.comment(`  ${p}`);

  t.notOk(crashed, 'the daemon never crashed');
  t.ok(alive(), 'the daemon process is alive after the run');
  t.same(stats.problems.slice(0, PROBLEMS_SHOWN), [], 'every input answered with a CNI error or a result (or closed, when dropped)');
  t.equal(stats.sent, INPUTS, 'every input sent');
  t.ok(stats.refused > 0 && stats.accepted > 0, `some refused (${stats.refused}), some accepted (${stats.accepted})`);
  t.ok(await statusAnswers(), 'STATUS answers after the run');

  const call = { containerId: 'fuzz-final', netns: pod.path, ifName: 'net1' };
  const add = await node.cni({ command: 'ADD', ...call }, latest);
  t.equal(add.exitCode, 0, `a valid ADD works after the run: ${add.stdout.slice(0, 300)}`);
  const del = await node.cni({ command: 'DEL', ...call }, latest);
  t.equal(del.exitCode, 0, `and its DEL: ${del.stdout.slice(0, 300)}`);

  // Nothing a refused (or deleted) request could have made is left.
  for (const lswitch of [LSWITCH, GC_SWITCH]) {
    t.same(await node.switchPorts(lswitch), [], `no logical switch port on ${lswitch}`);
    const externalIds = await node.sandbox.nbctl(['get', 'logical_switch', lswitch, 'external_ids']);
    t.notMatch(externalIds, /ovn-multinet\/addr:/, `no address guard key on ${lswitch}`);
  }
  t.same(await node.bridgePorts(), [], 'no port on br-int');
  t.same(await node.noHostVeths(), [], 'no host veth');
  t.same(await links((a) => node.sandbox.exec(a)), nodeLinksBefore, 'no new link in the node namespace');
  t.same(await links((a) => pod.exec(a)), ['lo'], 'nothing in the pod namespace but lo');
  sweepLogs();
  t.same(severe.filter((l) => (l['level'] as number) >= 60), [], 'no fatal daemon log line');
  t.comment(`daemon log lines at level error: ${severe.length}`);
  for (const l of severe.slice(0, 5)) t.comment(JSON.stringify(l).slice(0, 400));
  t.same(lost.slice(0, 5), [], `the daemon kept its database connections (lost ${lost.length} times)`);
});
