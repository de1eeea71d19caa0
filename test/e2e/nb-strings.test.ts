// Strings the OVN Northbound database cannot read (found by test/e2e/daemon-fuzz.test.ts):
// ovsdb-server's JSON parser refuses a NUL ("\u0000") and a lone UTF-16 surrogate ("\ud800"),
// both valid in JavaScript and in JSON.stringify's output, and drops the connection. A
// logicalSwitch with a surrogate went into the daemon's NB monitor conditions (on every
// reconnect, too), a K8S_POD_NAME with either into a port's external_ids. The daemon refuses
// them with code 6 before anything is sent, and keeps its database connections.
import t from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';
import { sendToSocket } from '../helpers/socket-client.ts';
import { sleep } from '../helpers/until.ts';

const skip = e2eSkipReason();

t.test('a NUL or a lone UTF-16 surrogate is refused before it reaches the NB', { skip }, async (t) => {
  const node = await startNode(t);
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  const pod = await createNetns(t, 'omnb');
  const env = { CNI_CONTAINERID: 'nbstr', CNI_NETNS: pod.path, CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin' };
  const lost = (): unknown[] => node.daemon.logs.filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('lost the '));
  const cases: ReadonlyArray<readonly [string, Record<string, string>, Record<string, unknown>, string]> = [
    ['ADD, logicalSwitch with a lone high surrogate', { CNI_COMMAND: 'ADD' }, { logicalSwitch: 'x\ud800' }, 'Unicode'],
    ['CHECK, logicalSwitch a lone low surrogate', { CNI_COMMAND: 'CHECK' }, { logicalSwitch: '\udc00' }, 'Unicode'],
    ['DEL, logicalSwitch with a lone surrogate', { CNI_COMMAND: 'DEL' }, { logicalSwitch: 'red\ud800' }, 'Unicode'],
    ['GC, a valid attachment with a lone surrogate', { CNI_COMMAND: 'GC' }, { 'cni.dev/valid-attachments': [{ containerID: '\ud800', ifname: 'net1' }] }, 'Unicode'],
    ['ADD, K8S_POD_NAME with a lone surrogate', { CNI_COMMAND: 'ADD', CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p\ud800' }, {}, 'CNI_ARGS'],
    ['ADD, K8S_POD_NAME with a NUL', { CNI_COMMAND: 'ADD', CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p\u0000q' }, {}, 'CNI_ARGS'],
  ];
  for (const [label, extraEnv, extra, field] of cases) {
    const config = JSON.stringify(node.config('red', extra));
    const body = Buffer.from(`${JSON.stringify({ env: { ...env, ...extraEnv }, config })}\n`);
    const out = await sendToSocket(node.daemon.socket, { chunks: [body], gapMs: 0, finish: 'hold' });
    const reply = JSON.parse(out.reply) as { exitCode: number; stdout: string };
    const error = JSON.parse(reply.stdout) as { code: number; msg: string; details?: string };
    t.equal(error.code, 6, `${label}: code 6: ${out.reply}`);
    t.match(`${error.msg} ${error.details ?? ''}`, field, `${label}: names ${field}`);
  }
  // A dropped connection is logged at once; give the client time to notice it.
  await sleep(500);
  t.same(lost(), [], 'the daemon kept its database connections');
  t.equal((await node.cni({ command: 'STATUS' }, node.config('red'))).exitCode, 0, 'STATUS answers');
  const call = { containerId: env.CNI_CONTAINERID, netns: env.CNI_NETNS, ifName: env.CNI_IFNAME };
  const add = await node.cni({ command: 'ADD', ...call }, node.config('red'));
  t.equal(add.exitCode, 0, `a valid ADD works: ${add.stdout}`);
  t.equal((await node.cni({ command: 'DEL', ...call }, node.config('red'))).exitCode, 0, 'and its DEL');
  t.same(await node.switchPorts('red'), [], 'no port left');
});
