// The manifests reach the NB over ssl: with a key, certificate and CA from OVN's own PKI
// (docs/kubernetes.md#the-nb-over-ssl). Here ovs-pki makes that PKI, a real NB ovsdb-server serves
// pssl: with its switch certificate, and the real executable (`ovn-multinetd gc`, which connects,
// monitors and writes as the daemon's NB client does) works over ssl: with the client's files,
// and fails, having changed nothing, when its CA is not the one that signed the NB's certificate.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { e2eSkipReason, DAEMON_BINARY } from '../helpers/node.ts';
import { NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';
import { OWNER_VALUE, OwnerKeys } from '../../daemon/ovn/ids.ts';

const OVS_PKI = '/usr/bin/ovs-pki';
const skip = e2eSkipReason() || (existsSync(OVS_PKI) ? false : `needs ${OVS_PKI} (openvswitch-common)`);

t.test('ovn-multinetd over ssl: with certificates from ovs-pki', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omt-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = join(dir, 'pki');
  await execa(OVS_PKI, ['--dir', pki, 'init'], { cwd: dir });
  await execa(OVS_PKI, ['--dir', pki, 'req+sign', 'ovnnb', 'switch'], { cwd: dir });
  await execa(OVS_PKI, ['--dir', pki, 'req+sign', 'ovn-multinet', 'switch'], { cwd: dir });
  const ca = join(pki, 'switchca', 'cacert.pem');
  const client = { key: join(dir, 'ovn-multinet-privkey.pem'), cert: join(dir, 'ovn-multinet-cert.pem'), ca };
  const { server } = await startOvsdbServer(t, NB_SCHEMA, { ssl: { server: { key: join(dir, 'ovnnb-privkey.pem'), cert: join(dir, 'ovnnb-cert.pem'), ca }, client } });
  const nbctl = (args: string[]) => execa('ovn-nbctl', [`--db=${server.unixRemote}`, ...args]);
  await nbctl(['ls-add', 'tls-net', '--', 'lsp-add', 'tls-net', 'tls-port', '--', 'set', 'logical_switch_port', 'tls-port',
    `external_ids:"${OwnerKeys.owner}"="${OWNER_VALUE}"`, `external_ids:"${OwnerKeys.node}"=gone-node`,
    `external_ids:"${OwnerKeys.containerId}"=tls-c1`, `external_ids:"${OwnerKeys.ifName}"=eth0`]);
  const gc = (caFile: string) => execa(DAEMON_BINARY, ['gc', '--node', 'gone-node', '--nb-db', server.sslRemote,
    '--nb-private-key', client.key, '--nb-certificate', client.cert, '--nb-ca-cert', caFile, '--timeout', '5s'], { reject: false });

  const wrongCa = await gc(join(pki, 'controllerca', 'cacert.pem'));
  t.not(wrongCa.exitCode, 0, 'a CA that did not sign the NB certificate: refused');
  t.match(wrongCa.stderr, /gc --node gone-node/);
  t.equal((await nbctl(['lsp-list', 'tls-net'])).stdout.includes('tls-port'), true, 'nothing changed');

  const ok = await gc(ca);
  t.equal(ok.exitCode, 0, ok.stderr);
  t.match(ok.stdout, /removed tls-port from tls-net/);
  t.match(ok.stdout, /1 logical switch port of node gone-node removed/);
  t.equal((await nbctl(['lsp-list', 'tls-net'])).stdout.trim(), '', 'the port is gone: the executable wrote over ssl:');
});
