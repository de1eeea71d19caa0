// Lost ports (issue 19, item 6), the pure parts: what the node records of a port on its br-int
// Interface and reads back (an older daemon's Interface has nothing), the mark that keeps a lost
// port's guard keys, and the addresses an IPAMClaim without a reservation asks for (its status).
import t from 'tap';
import { portRecord, RECORD_KEYS, recordedPort, type LogicalPort } from '../../daemon/ovn/ports.ts';
import { recordInterfaceOps } from '../../daemon/ovs/bridge.ts';
import { IpamKeys, OwnerKeys, RecordKeys } from '../../daemon/ovn/ids.ts';
import { lostKey } from '../../daemon/ipam/guards.ts';
import { markLostOps } from '../../daemon/ipam/stale-guards.ts';
import { claimStatusRequest, type StaticRequest } from '../../daemon/attachments/network.ts';
import { parseIpamSettings } from '../../daemon/ipam/pool.ts';
import type { LogicalSwitch } from '../../daemon/ovn/switches.ts';
import type { ClaimInfo } from '../../daemon/k8s/ipamclaims.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';

const SWITCH_UUID = '11111111-1111-1111-1111-111111111111' as unknown as Uuid;

function port(extra: Partial<LogicalPort> = {}): LogicalPort {
  const entry = '0a:58:0a:48:00:05 10.72.0.5';
  return { uuid: SWITCH_UUID, name: 'omn-x', addresses: [entry], portSecurity: [entry], externalIds: new Map(), ...extra };
}

t.test('the record of a port: written at ADD, read back to make it again', async (t) => {
  const record = portRecord(port(), 'lostnet');
  t.same(Object.fromEntries(record), { [RecordKeys.logicalSwitch]: 'lostnet', [RecordKeys.addresses]: '0a:58:0a:48:00:05 10.72.0.5', [RecordKeys.portSecurity]: 'true' });
  // The Interface holds the owner ids and iface-id too.
  const ids = new Map([['iface-id', 'omn-x'], [OwnerKeys.containerId, 'c'], ...record]);
  t.same(recordedPort(ids), { switchName: 'lostnet', entry: '0a:58:0a:48:00:05 10.72.0.5', portSecurity: true, ipamClaim: undefined });
  const claimed = portRecord(port({ portSecurity: [], externalIds: new Map([[OwnerKeys.ipamClaim, 'vms/vm1']]) }), 'lostnet');
  t.same(recordedPort(claimed), { switchName: 'lostnet', entry: '0a:58:0a:48:00:05 10.72.0.5', portSecurity: false, ipamClaim: 'vms/vm1' });
  t.equal(recordedPort(new Map([['iface-id', 'omn-x'], [OwnerKeys.containerId, 'c']])), undefined, 'an older daemon\'s Interface records no port');
  t.same(
    recordInterfaceOps('omnx', record, RECORD_KEYS),
    [{ op: 'mutate', table: 'Interface', where: [['name', '==', 'omnx']], mutations: [['external_ids', 'delete', [...Object.values(RecordKeys), OwnerKeys.ipamClaim]], ['external_ids', 'insert', record]] }],
    'written on the Interface over any older record (a claim key included)',
  );
  t.equal(recordedPort(new Map([[RecordKeys.logicalSwitch, 'lostnet'], [RecordKeys.addresses, '']])), undefined, 'nor does one without addresses');
});

t.test('a lost port\'s mark', async (t) => {
  t.equal(lostKey('omn-x'), `${IpamKeys.lost}omn-x`);
  t.same(markLostOps(SWITCH_UUID, 'omn-x', 'node-a'), [
    { op: 'mutate', table: 'Logical_Switch', where: [['_uuid', '==', SWITCH_UUID]], mutations: [['external_ids', 'insert', new Map([['ovn-multinet/lost:omn-x', 'node-a']])]] },
  ]);
});

t.test('an IPAMClaim without a reservation asks for the addresses of its status', async (t) => {
  const otherConfig = new Map([['subnet', '10.72.0.0/24']]);
  const sw = (ids: Record<string, string> = {}): LogicalSwitch => ({ uuid: SWITCH_UUID, name: 'lostnet', ports: [], otherConfig, externalIds: new Map(Object.entries(ids)) });
  const settings = parseIpamSettings(otherConfig, new Map());
  const wanted: StaticRequest = { ips: undefined, mac: undefined, ipsField: 'runtimeConfig.ips', macField: 'runtimeConfig.mac', ipamClaim: { name: 'vm1', field: 'ipam-claim-reference' }, routes: { defaultRoute: [], defaultRouteField: '', routes: [], routesField: '' } };
  const claim = (ips: string[]): ClaimInfo => ({ namespace: 'vms', name: 'vm1', network: 'lostnet', interface: 'net1', ips, ownerPod: 'pod-1', reservation: undefined });

  const asked = claimStatusRequest(wanted, claim(['10.72.0.5/24']), sw(), settings);
  t.same(asked.ips, [{ address: '10.72.0.5', prefixLength: 24 }], 'the status addresses');
  t.equal(asked.ipsField, 'IPAMClaim vms/vm1 status.ips', 'named as such in a refusal');
  t.equal(claimStatusRequest(wanted, claim(['10.72.0.5/24']), sw({ 'ovn-multinet/ipam-claim:vms/vm1': '0a:58:0a:48:00:05 10.72.0.5' }), settings), wanted, 'a reservation on the switch decides');
  t.equal(claimStatusRequest(wanted, claim([]), sw(), settings), wanted, 'no status: allocated as usual');
  t.equal(claimStatusRequest(wanted, claim(['10.99.0.5/24']), sw(), settings), wanted, 'a status outside the switch\'s subnets is ignored');
  t.equal(claimStatusRequest(wanted, undefined, sw(), settings), wanted, 'no claim');
  const fixed = { ...wanted, ips: [{ address: '10.72.0.9', prefixLength: undefined }] };
  t.equal(claimStatusRequest(fixed, claim(['10.72.0.5/24']), sw(), settings), fixed, 'addresses asked for are checked against the claim as before');
});
