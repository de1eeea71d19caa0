// Bounds (docs/security.md#bounds): only an ADD that may have written to a database becomes the
// reconciler's suspect. 1,000 ADDs refused while the NB is away (bad values, missing switches,
// the NB unreachable) leave no suspect; an ADD whose NB transaction went out to a hung NB and
// whose answer was lost is one, and what it may have committed goes once the NB is back.
import t from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';
import { pool, sendToSocket } from '../helpers/socket-client.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const REFUSED = 1000;

t.test('reconciler suspects', { skip }, async (t) => {
  // A short wait for a database that is away, so 1,000 refusals take seconds.
  const node = await startNode(t, { daemon: { extraArgs: ['--db-wait', '300'] } });
  await node.sandbox.nbctl(['ls-add', 'bounds', '--', 'set', 'logical_switch', 'bounds', 'other_config:subnet=10.63.0.0/24']);
  const suspected = (containerId?: string): Array<Record<string, unknown>> =>
    node.daemon.logs.filter((l) => l['msg'] === 'kept as a suspect' && (containerId === undefined || l['containerId'] === containerId));
  const pod = await createNetns(t);

  t.test(`${REFUSED} ADDs refused while the NB is away: no suspect`, async (t) => {
    await node.sandbox.db('stop', 'nb');
    let away = true;
    t.teardown(() => (away ? node.sandbox.db('start', 'nb') : undefined));
    await until('the daemon to see the NB gone', () => (node.daemon.logs.some((l) => l['msg'] === 'lost the OVN Northbound database') ? true : undefined));
    // A missing switch, a bad value, a static address outside any subnet: none gets past the NB.
    const configs = [
      (i: number) => node.config(`missing-${i}`),
      () => node.config('bounds', { mtu: -1 }),
      () => node.config('bounds', { runtimeConfig: { ips: ['192.0.2.7/24'] } }),
    ];
    const codes = await pool(Array.from({ length: REFUSED }, (_, i) => i), 50, async (i) => {
      const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: `refused-${i}`, CNI_NETNS: pod.path, CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin' };
      const config = JSON.stringify(configs[i % configs.length]?.(i));
      const out = await sendToSocket(node.daemon.socket, { chunks: [Buffer.from(`${JSON.stringify({ env, config })}\n`)], gapMs: 0, finish: 'end' });
      const reply = JSON.parse(out.reply) as { exitCode: number; stdout: string };
      return reply.exitCode === 0 ? 0 : (JSON.parse(reply.stdout) as { code: number }).code;
    });
    const counts = new Map<number, number>();
    for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
    t.same([...counts.keys()].sort((a, b) => a - b), [7, 11], `all refused: ${JSON.stringify([...counts])}`);
    await node.sandbox.db('start', 'nb');
    away = false;
    await until('the daemon back on the NB', async () => ((await node.cni({ command: 'STATUS' }, node.config('bounds'))).exitCode === 0 ? true : undefined), 15_000);
    t.same(suspected(), [], 'not one of them is kept as a suspect');
  });

  t.test('an ADD whose transaction went out and whose answer was lost is a suspect', async (t) => {
    // A live attachment keeps the switch served, so the next ADD reaches its NB transaction.
    const keeper = { containerId: 'keeper', netns: (await createNetns(t)).path, ifName: 'net1' };
    t.equal((await node.cni({ command: 'ADD', ...keeper }, node.config('bounds'))).exitCode, 0, 'an attachment on the switch');
    await node.sandbox.db('hang', 'nb');
    let hung = true;
    t.teardown(() => (hung ? node.sandbox.db('wake', 'nb') : undefined));
    const lost = await node.cni({ command: 'ADD', containerId: 'lost', netns: (await createNetns(t)).path, ifName: 'net1' }, node.config('bounds'));
    t.equal(lost.json?.['code'], 11, `the ADD against the hung NB answers 11: ${lost.stdout}`);
    t.equal(suspected('lost').length, 1, 'it is kept as a suspect');
    t.same(suspected('keeper'), [], 'the live attachment is not');
    await node.sandbox.db('wake', 'nb');
    hung = false;
    await until('only the live attachment\'s port', async () => {
      const ports = await node.switchPorts('bounds');
      return ports.length === 1 ? ports : undefined;
    }, 15_000);
    // A DEL while the daemon is still reconnecting after the hang would rightly make a suspect too.
    await until('the daemon back on the NB', async () => ((await node.cni({ command: 'STATUS' }, node.config('bounds'))).exitCode === 0 ? true : undefined), 15_000);
    t.equal((await node.cni({ command: 'DEL', ...keeper }, node.config('bounds'))).exitCode, 0);
    t.same(suspected().map((l) => l['containerId']), ['lost'], 'of all, only that ADD was a suspect');
  });
});
