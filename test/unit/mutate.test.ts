// The socket fuzzer's mutator (test/helpers/mutate.ts): the same seeds and seed number give the
// same mutants; the mutants are varied (every mutation is used, most differ from their seed, some
// still parse as requests and some do not, sizes spread) and never name another process's netns.
import t from 'tap';
import { MUTATIONS, Mutator } from '../helpers/mutate.ts';

const config = JSON.stringify({ cniVersion: '1.1.0', name: 'red', type: 'ovn-multinet', socket: '/run/x.sock', mtu: 1400, 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'net1' }] });
const SEEDS = [
  Buffer.from(JSON.stringify({ env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/p', CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin' }, config })),
  Buffer.from(JSON.stringify({ env: { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, config })),
  Buffer.from('not json at all'),
];
const N = 3000;

const run = (seed: number, n: number): Buffer[] => {
  const m = new Mutator(SEEDS, seed);
  return Array.from({ length: n }, () => m.next().bytes);
};

t.test('deterministic: same seed, same mutants; another seed, other mutants', async (t) => {
  const a = run(7, 500);
  const b = run(7, 500);
  t.ok(a.every((x, i) => x.equals(b[i] as Buffer)), 'seed 7 twice gives the same 500 mutants');
  const c = run(8, 500);
  const same = a.filter((x, i) => x.equals(c[i] as Buffer)).length;
  t.ok(same < 50, `seed 8 differs from seed 7 (${same} of 500 equal)`);
});

t.test('varied mutants', async (t) => {
  const m = new Mutator(SEEDS, 1);
  const ops = new Map<string, number>();
  const seeds = new Set<number>();
  let unchanged = 0;
  let badOpCounts = 0;
  let parse = 0;
  let requestShaped = 0;
  let withNewline = 0;
  let withNul = 0;
  let configNotString = 0;
  const sizes: number[] = [];
  const distinct = new Set<string>();
  for (let i = 0; i < N; i++) {
    const mutant = m.next();
    seeds.add(mutant.seed);
    for (const op of mutant.ops) ops.set(op, (ops.get(op) ?? 0) + 1);
    if (mutant.ops.length < 1 || mutant.ops.length > 3) badOpCounts += 1;
    if (mutant.bytes.equals(SEEDS[mutant.seed] as Buffer)) unchanged += 1;
    distinct.add(mutant.bytes.toString('base64'));
    sizes.push(mutant.bytes.length);
    if (mutant.bytes.includes(0x0a)) withNewline += 1;
    if (mutant.bytes.includes(0x00)) withNul += 1;
    if (/\/proc\/+\d/.test(mutant.bytes.toString('latin1'))) t.fail(`names another process's netns: ${mutant.ops.join(',')}`);
    try {
      const v: unknown = JSON.parse(mutant.bytes.toString('utf8'));
      parse += 1;
      if (typeof v === 'object' && v !== null && 'env' in v && 'config' in v) {
        requestShaped += 1;
        if (typeof v.config !== 'string') configNotString += 1;
      }
    } catch {
      // a mutant that is not JSON any more: counted by what is left
    }
  }
  for (const op of MUTATIONS) t.ok((ops.get(op) ?? 0) > 0, `mutation ${op} used (${ops.get(op) ?? 0} times)`);
  t.equal(badOpCounts, 0, 'one to three mutations each');
  t.equal(seeds.size, SEEDS.length, 'every seed used');
  t.ok(unchanged < N * 0.1, `most mutants differ from their seed (${unchanged} unchanged)`);
  t.ok(distinct.size > N * 0.8, `mostly distinct (${distinct.size} of ${N})`);
  t.ok(parse > N * 0.2 && parse < N * 0.9, `some still parse as JSON, some do not (${parse} of ${N})`);
  t.ok(requestShaped > N * 0.1, `some still have env and config (${requestShaped})`);
  t.ok(configNotString > 0, `some carry a config that is not a string (${configNotString})`);
  t.ok(withNewline > 0 && withNul > 0, `newlines (${withNewline}) and NULs (${withNul}) inside some`);
  sizes.sort((x, y) => x - y);
  const small = sizes[Math.floor(N * 0.05)] ?? 0;
  const large = sizes[N - 1] ?? 0;
  t.ok(small < 100 && large > 50_000, `sizes spread from ${small} (5th percentile) to ${large} bytes`);
});

t.test('a mutator needs a seed', async (t) => {
  t.throws(() => new Mutator([], 1), /at least one seed/);
});
