// The scale bench (npm run bench:scale, bench/scale.ts) in small: an NB that already holds
// 2,000 ports on switches this node never uses and 2,000 ports on one switch of ours (addresses
// from the bottom of its subnet, as other nodes' daemons commit them). A fresh daemon answers
// STATUS ok, every ADD succeeds, and the addresses it allocates avoid the ones in use; it still
// answers after a restart with attachments in place. As the bench's "allocation alone", the same
// daemon as another plugin's IPAM gives addresses on both switches with ovn-northd paused. The
// figures are printed, never asserted.
import t from 'tap';
import { e2eSkipReason } from '../helpers/node.ts';
import { until } from '../helpers/until.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { createSwitches, deletePorts, insertPorts, nbWriter, oursAddresses, oursPort, unrelatedPort } from '../../bench/nb-fill.ts';
import { createPods, removePods } from '../../bench/pods.ts';
import { readBytes, readsSettled } from '../../bench/proc.ts';
import { readMemory, mb } from '../../bench/rss.ts';
import { startTimedDaemon } from '../../bench/scale-daemon.ts';
import { elapsedMs, stamp } from '../../bench/clock.ts';
import type { Sample } from '../../bench/method.ts';
import { summarize } from '../../bench/stats.ts';

const skip = e2eSkipReason();
const UNRELATED = 2000;
const OURS = 2000;
const SWITCHES = 20;
const ADDS = 5;
const OURS_SUBNET = '10.200.0.0/16';
const OWN_SUBNET = '10.210.0.0/16';

t.test('scale, reduced: 2,000 unrelated ports and 2,000 on a switch of ours', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  const nb = await nbWriter(t, sandbox.env.NB_DB);
  const [ours, own] = await createSwitches(nb, [
    { name: 'scale-ours', otherConfig: new Map([['subnet', OURS_SUBNET]]) },
    { name: 'scale-own', otherConfig: new Map([['subnet', OWN_SUBNET]]) },
  ]);
  if (ours === undefined || own === undefined) throw new Error('switches not created');
  const unrelated = await createSwitches(nb, Array.from({ length: SWITCHES }, (_, i) => ({ name: `unrelated-${i}` })));
  const filled = stamp();
  await insertPorts(nb, unrelated, UNRELATED, (i) => unrelatedPort(i, SWITCHES));
  await insertPorts(nb, [ours], OURS, (i) => oursPort(i, OURS_SUBNET, ours, 'scale-ours'));
  t.comment(`NB filled: ${UNRELATED} unrelated + ${OURS} ours in ${elapsedMs(filled, stamp()).toFixed(0)} ms`);

  let daemon = await startTimedDaemon(t, sandbox);
  t.ok(Number.isFinite(daemon.statusOkMs), 'STATUS answers ok on a fresh daemon');
  t.comment(`start → STATUS ok ${daemon.statusOkMs.toFixed(0)} ms; RSS ${mb((await readMemory(daemon.pid)).rssKiB)}`);

  const pods = await createPods(t, 2 * ADDS);
  t.teardown(() => removePods(pods));
  const plan = pods.map((pod, i) => ({ pod, network: i % 2 === 0 ? 'scale-ours' : 'scale-own' }));
  const adds: Array<{ network: string; sample: Sample; ip: string | undefined; execToCommit: number | undefined }> = [];
  for (const { pod, network } of plan) {
    const sample = await daemon.add(pod, network);
    // The daemon's log comes over a pipe of its own: a line may arrive after the executable's exit.
    if (sample.ok) await until('its "created logical switch port" log line', () => daemon.committed(pod).at).catch(() => undefined);
    const c = daemon.committed(pod);
    adds.push({ network, sample, ip: c.ip, execToCommit: c.at === undefined ? undefined : c.at - sample.start.wallMs });
  }
  t.same(adds.filter((a) => !a.sample.ok).map((a) => a.sample.detail), [], 'every ADD succeeds');
  const onOurs = adds.filter((a) => a.network === 'scale-ours').map((a) => a.ip ?? '');
  const existing = oursAddresses(OURS, OURS_SUBNET);
  t.equal(onOurs.length, ADDS, 'the daemon logged each port it committed on the switch of ours');
  t.same(onOurs.filter((ip) => existing.has(ip)), [], `the addresses allocated avoid the ${OURS} in use`);
  t.ok(onOurs.every((ip) => ip.startsWith('10.200.')), 'they are in the switch\'s subnet');
  t.equal(new Set(onOurs).size, onOurs.length, 'no address is allocated twice');
  // The bench's "allocation alone": the same daemon as another plugin's IPAM, ovn-northd paused,
  // on both switches in turns; then released, still paused.
  const ipamPods = await createPods(t, 2 * ADDS);
  t.teardown(() => removePods(ipamPods));
  const given: Array<{ network: string; ips: unknown }> = [];
  await sandbox.appctl('ovn-northd', ['pause']);
  try {
    for (const [i, pod] of ipamPods.entries()) {
      const network = i % 2 === 0 ? 'scale-ours' : 'scale-own';
      const s = await daemon.ipamAdd(pod, network);
      t.ok(s.ok, `IPAM ADD on ${network}, ovn-northd paused`, { detail: s.detail });
      const logged = () => daemon.proc.logs.find((e) => e['msg'] === 'addresses given (IPAM)' && e['containerId'] === pod.containerId);
      if (s.ok) await until('its "addresses given (IPAM)" log line', logged).catch(() => undefined);
      given.push({ network, ips: logged()?.['ips'] });
    }
    const ipamOurs = given.filter((g) => g.network === 'scale-ours').flatMap((g) => (Array.isArray(g.ips) ? g.ips.map(String) : []));
    t.equal(ipamOurs.length, ADDS, 'each IPAM ADD on the switch of ours logged its IP');
    t.same(ipamOurs.filter((ip) => existing.has(ip) || onOurs.includes(ip)), [], 'they avoid the ports in use and the ADDs\' addresses');
    t.equal(new Set(ipamOurs).size, ipamOurs.length, 'no IP is given twice');
    for (const [i, pod] of ipamPods.entries()) {
      const s = await daemon.ipamDel(pod, i % 2 === 0 ? 'scale-ours' : 'scale-own');
      t.ok(s.ok, 'IPAM DEL', { detail: s.detail });
    }
  } finally {
    await sandbox.appctl('ovn-northd', ['resume']);
  }

  const p50 = (network: string): string => summarize(adds.filter((a) => a.network === network && a.execToCommit !== undefined).map((a) => a.execToCommit ?? 0)).p50.toFixed(1);
  t.comment(`exec → LSP committed p50: ${p50('scale-ours')} ms on the switch with ${OURS} ports, ${p50('scale-own')} ms on the empty one`);

  const before = await readBytes(daemon.pid);
  const inserted = await insertPorts(nb, unrelated, UNRELATED, (i) => unrelatedPort(i, SWITCHES, 1_000_000));
  await deletePorts(nb, unrelated, inserted);
  t.comment(`bytes the daemon read while ${UNRELATED} unrelated ports were created and deleted: ${(await readsSettled(daemon.pid, 500)) - before}`);

  await daemon.proc.stop();
  daemon = await startTimedDaemon(t, sandbox, { socket: daemon.proc.socket });
  t.ok(Number.isFinite(daemon.statusOkMs), `STATUS answers ok after a restart with ${2 * ADDS} attachments in place`);
  t.comment(`restart → STATUS ok ${daemon.statusOkMs.toFixed(0)} ms`);

  for (const { pod, network } of plan) {
    const s = await daemon.del(pod, network);
    t.ok(s.ok, `DEL on ${network} through the restarted daemon`, { detail: s.detail });
  }
});
