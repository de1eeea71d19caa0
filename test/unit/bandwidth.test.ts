// runtimeConfig.bandwidth: validation (code 7 naming the field, the default burst) and the QoS
// rows a port's limits become (their uuids, the operations of a new port, a change, a removal).
import t from 'tap';
import { parseConfig } from '../../daemon/netconf/parse.ts';
import { MAX_BITS } from '../../daemon/netconf/bandwidth.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { qosOps, qosRowUuid, QOS_PRIORITY } from '../../daemon/ovn/qos.ts';
import { deletePortOps } from '../../daemon/ovn/ports.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';
import { encodeTransaction } from '../../daemon/ovsdb/transact.ts';
import { expectCniError } from '../helpers/cni-error.ts';
import { loadSchema, NB_SCHEMA } from '../helpers/schemas.ts';

const good = { cniVersion: '1.1.0', name: 'red', type: 'ovn-multinet' };
const withBandwidth = (bandwidth: unknown): Record<string, unknown> => ({ ...good, runtimeConfig: { bandwidth } });
const FIELD = 'runtimeConfig.bandwidth';

t.test('validation', (t) => {
  t.same(parseConfig(withBandwidth({ ingressRate: 10_000_000, ingressBurst: 2_000_000, egressRate: 5_000_000, egressBurst: 1_000_000 })).bandwidth, {
    ingress: { rate: 10_000_000, burst: 2_000_000 },
    egress: { rate: 5_000_000, burst: 1_000_000 },
  });
  t.same(parseConfig(withBandwidth({ egressRate: 5_000_000 })).bandwidth, { ingress: undefined, egress: { rate: 5_000_000, burst: 5_000_000 } }, 'a rate alone: a burst of one second');
  t.same(parseConfig(withBandwidth({ egressRate: MAX_BITS })).bandwidth?.egress, { rate: MAX_BITS, burst: MAX_BITS }, 'the largest rate');
  t.equal(parseConfig(withBandwidth({})).bandwidth, undefined, 'no key: no limit');
  t.equal(parseConfig(good).bandwidth, undefined, 'no bandwidth: no limit');
  t.equal(parseConfig({ ...good, type: 'macvlan', ipam: { type: 'ovn-multinet', logicalSwitch: 'red' }, runtimeConfig: { bandwidth: { egressRate: 5_000_000 } } }).bandwidth, undefined, 'IPAM mode: the calling plugin\'s interface, not ours');
  const refused: Array<[unknown, string]> = [
    ['fast', FIELD],
    [null, FIELD],
    [{ ingressRate: 0 }, `${FIELD}.ingressRate`],
    [{ ingressRate: 999 }, `${FIELD}.ingressRate`],
    [{ ingressRate: MAX_BITS + 1000 }, `${FIELD}.ingressRate`],
    [{ egressRate: 1e6 + 0.5 }, `${FIELD}.egressRate`],
    [{ egressRate: '1000000' }, `${FIELD}.egressRate`],
    [{ egressRate: 1e6, egressBurst: -1 }, `${FIELD}.egressBurst`],
    [{ ingressBurst: 1e6 }, `${FIELD}.ingressBurst`],
    [{ rate: 1e6 }, `${FIELD}.rate`],
  ];
  for (const [bandwidth, field] of refused) expectCniError(t, () => parseConfig(withBandwidth(bandwidth)), ErrorCode.InvalidConfig, field);
  t.end();
});

t.test('QoS rows', (t) => {
  const sw = 'aaaaaaaa-0000-4000-8000-000000000001' as Uuid;
  const from = qosRowUuid('omn-1', 'from-lport');
  const to = qosRowUuid('omn-1', 'to-lport');
  t.equal(qosRowUuid('omn-1', 'from-lport'), from, 'the same port and direction: the same uuid');
  t.equal(new Set([from, to, qosRowUuid('omn-2', 'from-lport')]).size, 3, 'another direction or port: another uuid');
  t.match(from, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a version 8 uuid');

  const made = qosOps(sw, 'omn-1', { egress: { rate: 20_000_000, burst: 4_000_000 }, ingress: { rate: 1500, burst: 1400 } });
  t.match(made, [
    { op: 'insert', table: 'QoS', uuid: from, row: { priority: QOS_PRIORITY, direction: 'from-lport', match: 'inport == "omn-1"', bandwidth: new Map([['rate', 20_000], ['burst', 4000]]) } },
    { op: 'insert', table: 'QoS', uuid: to, row: { direction: 'to-lport', match: 'outport == "omn-1"', bandwidth: new Map([['rate', 2], ['burst', 1]]) } },
    { op: 'mutate', table: 'Logical_Switch', mutations: [['qos_rules', 'insert', [from, to]]] },
  ], 'a new port: both rows inserted and linked, in kbit/s and kbit');
  t.same(qosOps(sw, 'omn-1', undefined), [], 'no limit, no row: nothing to write');

  const changed = qosOps(sw, 'omn-1', { egress: { rate: 1e6, burst: 1e6 }, ingress: undefined }, new Set([from, to]));
  t.match(changed, [
    { op: 'update', table: 'QoS', where: [['_uuid', '==', from]], row: { bandwidth: new Map([['rate', 1000], ['burst', 1000]]) } },
    { op: 'mutate', table: 'Logical_Switch', mutations: [['qos_rules', 'delete', [to]]] },
  ], 'a repeated ADD: the kept limit updated, the dropped one unlinked');
  t.equal(changed.length, 2);

  t.same(deletePortOps(sw, { uuid: 'bbbbbbbb-0000-4000-8000-000000000002' as Uuid, name: 'omn-1' })[0], {
    op: 'mutate',
    table: 'Logical_Switch',
    where: [['_uuid', '==', sw]],
    mutations: [
      ['ports', 'delete', ['bbbbbbbb-0000-4000-8000-000000000002']],
      ['qos_rules', 'delete', [from, to]],
    ],
  }, 'deleting a port unlinks its QoS rows in the same operation');
  t.end();
});

t.test('an insert that names its uuid sends it as the "uuid" member', async (t) => {
  const schema = await loadSchema(NB_SCHEMA);
  const [insertOp] = qosOps('aaaaaaaa-0000-4000-8000-000000000001' as Uuid, 'omn-1', { egress: { rate: 1e6, burst: 1e6 }, ingress: undefined });
  if (insertOp === undefined) throw new Error('no insert');
  const [, wire] = encodeTransaction(schema, [insertOp]);
  t.match(wire, { op: 'insert', table: 'QoS', uuid: qosRowUuid('omn-1', 'from-lport'), row: { direction: 'from-lport', bandwidth: ['map', [['rate', 1000], ['burst', 1000]]] } });
  t.notOk(Object.hasOwn(wire as object, 'uuid-name'), 'no uuid-name');
});
