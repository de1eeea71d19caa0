// Prompt recovery, with the reconciler's default grace period (60 s) so that only the daemon's
// own knowledge can explain a fast clean-up: a hung NB (SIGSTOP: connections open, nothing
// answered) is dropped once its silence reaches the probe's cap (4 × --db-inactivity-probe,
// 1.5 s here: a busy NB is waited for that long, docs/scale.md), an ADD answers 11 and a DEL
// succeeds while it hangs, STATUS answers 50, and once it wakes the DEL's part and whatever the failed ADD's
// transaction committed late are gone within 5 s; after a "reboot" (pods gone, a new boot id,
// the daemon restarted) the attachments of the old boot go within 5 s of the start, while an
// ADD on the nearly full switch succeeds.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startDaemon, startNode, type DaemonProcess } from '../helpers/node.ts';

const skip = e2eSkipReason();

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

t.test('prompt recovery', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omn-boot-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bootFile = join(dir, 'boot_id');
  await writeFile(bootFile, `${randomUUID()}\n`);
  const args = ['--boot-id-file', bootFile, '--db-inactivity-probe', '1500'];
  const node = await startNode(t, { daemon: { extraArgs: args } });
  let daemon: DaemonProcess = node.daemon;
  const guardKeys = async (sw: string): Promise<number> => ((await node.sandbox.nbctl(['get', 'logical_switch', sw, 'external_ids'])).match(/ovn-multinet\/addr:/g) ?? []).length;

  t.test('a hung NB: ADD answers 11, DEL succeeds, STATUS 50; clean within 5 s of its waking', async (t) => {
    await node.sandbox.nbctl(['ls-add', 'hung', '--', 'set', 'logical_switch', 'hung', 'other_config:subnet=10.61.0.0/24']);
    const config = node.config('hung');
    const old = await createNetns(t);
    const oldCall = { containerId: 'hung-old', netns: old.path, ifName: 'net1' };
    t.equal((await node.cni({ command: 'ADD', ...oldCall }, config)).exitCode, 0);

    await node.sandbox.db('hang', 'nb');
    let awake = false;
    t.teardown(() => (awake ? undefined : node.sandbox.db('wake', 'nb')));
    const fresh = await createNetns(t);
    const started = Date.now();
    const [add, del] = await Promise.all([
      node.cni({ command: 'ADD', containerId: 'hung-new', netns: fresh.path, ifName: 'net1' }, config).then((r) => ({ ...r, ms: Date.now() - started })),
      node.cni({ command: 'DEL', ...oldCall }, config).then((r) => ({ ...r, ms: Date.now() - started })),
    ]);
    t.equal(add.json?.['code'], 11, `ADD: try again later: ${add.stdout}`);
    // Silent to the cap (4 × 1.5 s) the session is dropped; the reconnection the kernel accepts
    // for the frozen NB is waited for as a busy one, to its own cap; then code 11.
    t.ok(add.ms < 2 * 6000 + 4000, `ADD answered ${add.ms} ms after arriving (≤ 16 s: two caps of 6 s)`);
    t.equal(del.exitCode, 0, `DEL succeeds in ${del.ms} ms: ${del.stdout}`);
    t.notMatch(await fresh.exec(['ip', '-o', 'link', 'show']), 'net1', 'the failed ADD left nothing in its pod');
    const status = await node.cni({ command: 'STATUS' }, config);
    t.equal(status.json?.['code'], 50, `STATUS once the probe dropped it: ${status.stdout}`);
    t.ok(daemon.logs.some((l) => typeof l['err'] === 'object' && JSON.stringify(l['err']).includes('no message from the peer')), 'the inactivity probe dropped it');

    await node.sandbox.db('wake', 'nb');
    awake = true;
    const clean = await waitFor('the hung NB\'s leftovers to go', async () => (await node.switchPorts('hung')).length === 0 && (await guardKeys('hung')) === 0);
    t.ok(clean <= 5000, `no port and no guard key left ${clean} ms after the NB woke (≤ 5 s)`);
    // The switch was in view already, so the ADD's transaction went out to the hung NB, which
    // committed it on waking: the daemon removed it at once, not after the grace period.
    // (The log line comes right after the NB shows the port gone.)
    const lateLine = (): Record<string, unknown> | undefined => daemon.logs.find((l) => l['msg'] === 'reconciler removed attachment' && l['containerId'] === 'hung-new');
    // Whether the woken NB commits the cut-off transaction is its business: when it did, the
    // port went as a suspect (the clean-up above already proved nothing is left either way).
    await waitFor('the removal\'s log line', async () => lateLine() !== undefined, 3000).catch(() => undefined);
    if (lateLine() === undefined) t.comment('the hung NB did not commit the failed ADD\'s transaction this time');
    else t.match(lateLine(), { reason: 'its DEL or failed ADD left it' }, 'the failed ADD\'s late-committed port was removed as a suspect');
    t.same(await node.bridgePorts(), [], 'no OVS port');
    t.equal((await node.cni({ command: 'STATUS' }, config)).exitCode, 0, 'STATUS ok again');
    t.comment(`hung NB: ADD answered 11 after ${add.ms} ms, DEL after ${del.ms} ms, clean ${clean} ms after waking`);
  });

  t.test('a DEL is never queued behind ADDs waiting for a hung NB', async (t) => {
    // A second daemon of its own, with one slot for ADD and CHECK.
    const narrow = await startDaemon(t, node.sandbox, { nodeName: 'narrow', extraArgs: [...args, '--max-parallel-requests', '1'] });
    const config = { ...node.config('hung'), socket: narrow.socket };
    const pod = await createNetns(t);
    await node.sandbox.db('hang', 'nb');
    let awake = false;
    t.teardown(() => (awake ? undefined : node.sandbox.db('wake', 'nb')));
    const started = Date.now();
    const add = node.cni({ command: 'ADD', containerId: 'narrow-add', netns: pod.path, ifName: 'net1' }, config).then((r) => ({ ...r, ms: Date.now() - started }));
    await new Promise((r) => setTimeout(r, 300));
    const del = await node.cni({ command: 'DEL', containerId: 'narrow-gone', netns: pod.path, ifName: 'net2' }, config);
    const delMs = Date.now() - started;
    t.equal(del.exitCode, 0, del.stdout);
    const added = await add;
    t.ok(delMs < added.ms, `the DEL answered after ${delMs} ms, before the ADD holding the only slot (${added.ms} ms)`);
    await node.sandbox.db('wake', 'nb');
    awake = true;
    t.equal(added.json?.['code'], 11, 'that ADD answered 11');
  });

  t.test('a failed ADD retried as soon as the NB is back keeps what the retry made', async (t) => {
    const config = node.config('hung');
    const pod = await createNetns(t);
    const call = { containerId: 'hung-retry', netns: pod.path, ifName: 'net1' };
    await node.sandbox.db('hang', 'nb');
    let awake = false;
    t.teardown(() => (awake ? undefined : node.sandbox.db('wake', 'nb')));
    t.equal((await node.cni({ command: 'ADD', ...call }, config)).json?.['code'], 11, 'the ADD against the hung NB fails');
    await node.sandbox.db('wake', 'nb');
    awake = true;
    // The runtime retries at once: the retry and the reconciler's removal of the suspect meet
    // under the attachment's lock, in either order; the retry's attachment must survive.
    const retry = await node.cni({ command: 'ADD', ...call }, config);
    t.equal(retry.exitCode, 0, `the retried ADD succeeds: ${retry.stdout}`);
    await new Promise((r) => setTimeout(r, 3000));
    const check = await node.cni({ command: 'CHECK', ...call }, config);
    t.equal(check.exitCode, 0, `several passes later it is intact: ${check.stdout}`);
    t.equal((await node.switchPorts('hung')).length, 1);
    t.equal((await node.cni({ command: 'DEL', ...call }, config)).exitCode, 0);
  });

  t.test('after a reboot, the old boot\'s attachments go within 5 s of the start; a new ADD on the nearly full switch succeeds', async (t) => {
    // .2 to .6: five addresses (the network, .1 for a gateway and the broadcast are never handed out).
    await node.sandbox.nbctl(['ls-add', 'small', '--', 'set', 'logical_switch', 'small', 'other_config:subnet=10.62.0.0/29']);
    const config = node.config('small');
    const before = [];
    for (let i = 0; i < 4; i++) {
      const pod = await createNetns(t);
      t.equal((await node.cni({ command: 'ADD', containerId: `boot-${i}`, netns: pod.path, ifName: 'net1' }, config)).exitCode, 0);
      before.push(pod);
    }
    // The reboot: the daemon goes, every pod's netns with it (their veths too), the boot id changes.
    await daemon.stop();
    for (const pod of before) await pod.remove();
    await waitFor('the veths to go with their netns', async () => (await node.noHostVeths()).length === 0);
    await writeFile(bootFile, `${randomUUID()}\n`);
    const start = Date.now();
    daemon = await startDaemon(t, node.sandbox, { socket: node.daemon.socket, extraArgs: args });
    const pod = await createNetns(t);
    const add = await node.cni({ command: 'ADD', containerId: 'after-boot', netns: pod.path, ifName: 'net1' }, config);
    t.equal(add.exitCode, 0, `an ADD right after the start succeeds: ${add.stdout}`);
    const gone = await waitFor('the old boot\'s attachments to go', async () => (await node.switchPorts('small')).length === 1);
    const sinceStart = Date.now() - start;
    t.ok(sinceStart <= 5000, `removed ${sinceStart} ms after the daemon's start (≤ 5 s; ${gone} ms after the ADD)`);
    // (Logged just after the removal shows in the NB.)
    await waitFor('its log line', async () => daemon.logs.some((l) => l['msg'] === 'reconciler removed attachment' && l['reason'] === 'recorded under another boot of this node'), 5000);
    t.pass('for that reason');
    t.equal(await guardKeys('small'), 2, 'only the new port\'s guard keys are left');
    const again = await createNetns(t);
    t.equal((await node.cni({ command: 'ADD', containerId: 'after-boot-2', netns: again.path, ifName: 'net1' }, config)).exitCode, 0, 'the freed addresses are handed out again');
    for (const [id, ns] of [['after-boot', pod], ['after-boot-2', again]] as const) {
      t.equal((await node.cni({ command: 'DEL', containerId: id, netns: ns.path, ifName: 'net1' }, config)).exitCode, 0);
    }
    t.comment(`reboot: the old boot's 4 attachments removed ${sinceStart} ms after the daemon's start`);
  });
});
