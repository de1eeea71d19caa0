// The executable when the daemon is not running: ADD/CHECK/GC ask to retry (11), STATUS says
// unavailable (50), DEL succeeds only when nothing of the attachment is left on the host. VERSION
// needs no daemon, and answers exactly as the daemon would.
import t from 'tap';
import { execa } from 'execa';
import { hostVethName } from '../../daemon/cni-spec/names.ts';
import { rootSkipReason } from '../helpers/netns.ts';
import { CNI_BINARY, runCni } from '../helpers/node.ts';
import { existsSync } from 'node:fs';
import { versionOutput } from '../../daemon/cni-spec/output.ts';
import { readRequestConfig } from '../../daemon/netconf/request.ts';

const skip = rootSkipReason() || (existsSync(CNI_BINARY) ? false : 'needs dist/ovn-multinet (npm run build)');
const config = { cniVersion: '1.1.0', name: 'red', type: 'ovn-multinet', socket: '/run/ovn-multinet/test-absent/cni.sock' };
const attachment = { containerId: 'nodaemon', netns: '/var/run/netns/nodaemon', ifName: 'net1' };

t.test('without a daemon', { skip }, async (t) => {
  for (const command of ['ADD', 'CHECK', 'GC']) {
    const out = await runCni(undefined, { command, ...attachment }, config);
    t.equal(out.json?.['code'], 11, `${command}: ${out.stdout}`);
  }
  const status = await runCni(undefined, { command: 'STATUS' }, config);
  t.equal(status.json?.['code'], 50, status.stdout);
  const del = await runCni(undefined, { command: 'DEL', ...attachment }, config);
  t.equal(del.exitCode, 0, 'DEL with nothing to clean succeeds');
  t.equal(del.stdout, '');

  const veth = hostVethName(attachment.containerId, attachment.ifName);
  await execa('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth.slice(0, 12)}-p`]);
  t.teardown(() => execa('ip', ['link', 'del', veth], { reject: false }));
  const blocked = await runCni(undefined, { command: 'DEL', ...attachment }, config);
  t.equal(blocked.json?.['code'], 11, `DEL with a leftover host interface asks to retry: ${blocked.stdout}`);
});

t.test('VERSION is answered by the executable, byte for byte as the daemon answers it', { skip }, async (t) => {
  for (const stdin of ['', 'not json', '{"cniVersion":"0.4.0"}', '{"cniVersion":"0.2.0"}', '{"cniVersion":"1.0.0","name":"x"}', '{"cniVersion":7}']) {
    const out = await runCni(undefined, { command: 'VERSION' }, stdin);
    t.equal(out.exitCode, 0, `exit 0 for ${JSON.stringify(stdin)}`);
    t.equal(`${out.stdout}\n`, versionOutput(readRequestConfig(stdin).raw).stdout, `same text for ${JSON.stringify(stdin)}`);
  }
});
