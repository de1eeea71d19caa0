import t from 'tap';
import { OvsdbProtocolError, OvsdbSchemaError } from '../../daemon/errors.ts';
import { namedUuid, parseUuid } from '../../daemon/ovsdb/notation.ts';
import { comment, condition, del, eq, insert, mutate, mutation, select, update, wait } from '../../daemon/ovsdb/ops.ts';
import { decodeTransactionReply, encodeTransaction } from '../../daemon/ovsdb/transact.ts';
import { loadSchema, VSWITCH_SCHEMA } from '../helpers/schemas.ts';

const schema = await loadSchema(VSWITCH_SCHEMA);
const U1 = parseUuid('0a1b2c3d-0000-4000-8000-000000000001');
const U2 = parseUuid('0a1b2c3d-0000-4000-8000-000000000002');

t.test('builders and their encoding', async (t) => {
  const ops = [
    insert('Port', { name: 'p0', interfaces: [namedUuid('i0')], tag: 10 }, 'p0'),
    insert('Interface', { name: 'p0', type: 'internal' }),
    select('Bridge', [eq('name', 'br-int')], ['_uuid', 'ports']),
    update('Port', [eq('_uuid', U1)], { external_ids: new Map([['pod', 'a']]) }),
    mutate('Bridge', [eq('name', 'br-int')], [mutation('ports', 'insert', [namedUuid('p0')])]),
    mutate('Interface', [condition('ofport', '>', 5)], [
      mutation('ofport_request', '+=', 1),
      mutation('external_ids', 'insert', new Map([['k', 'v']])),
      mutation('other_config', 'delete', ['k']),
      mutation('options', 'delete', new Map([['k', 'v']])),
    ]),
    del('Port', [condition('external_ids', 'includes', new Map([['pod', 'a']]))]),
    wait('Bridge', [eq('name', 'br-int')], ['ports'], '==', [{ ports: [U1, U2] }], 0),
    wait('Bridge', [], ['name'], '!=', []),
    comment('ovn-multinet: ADD pod a'),
  ];
  t.same(encodeTransaction(schema, ops), [
    'Open_vSwitch',
    {
      op: 'insert',
      table: 'Port',
      row: { name: 'p0', interfaces: ['set', [['named-uuid', 'i0']]], tag: 10 },
      'uuid-name': 'p0',
    },
    { op: 'insert', table: 'Interface', row: { name: 'p0', type: 'internal' } },
    { op: 'select', table: 'Bridge', where: [['name', '==', 'br-int']], columns: ['_uuid', 'ports'] },
    {
      op: 'update',
      table: 'Port',
      where: [['_uuid', '==', ['uuid', U1]]],
      row: { external_ids: ['map', [['pod', 'a']]] },
    },
    {
      op: 'mutate',
      table: 'Bridge',
      where: [['name', '==', 'br-int']],
      mutations: [['ports', 'insert', ['set', [['named-uuid', 'p0']]]]],
    },
    {
      op: 'mutate',
      table: 'Interface',
      where: [['ofport', '>', 5]],
      mutations: [
        ['ofport_request', '+=', 1],
        ['external_ids', 'insert', ['map', [['k', 'v']]]],
        ['other_config', 'delete', ['set', ['k']]],
        ['options', 'delete', ['map', [['k', 'v']]]],
      ],
    },
    { op: 'delete', table: 'Port', where: [['external_ids', 'includes', ['map', [['pod', 'a']]]]] },
    {
      op: 'wait',
      table: 'Bridge',
      where: [['name', '==', 'br-int']],
      columns: ['ports'],
      until: '==',
      rows: [{ ports: ['set', [['uuid', U1], ['uuid', U2]]] }],
      timeout: 0,
    },
    { op: 'wait', table: 'Bridge', where: [], columns: ['name'], until: '!=', rows: [] },
    { op: 'comment', comment: 'ovn-multinet: ADD pod a' },
  ]);
});

t.test('operations that do not fit the schema are refused before sending', async (t) => {
  const bad = [
    insert('Nope', {}),
    insert('Port', { name: 'p' }, 'not-an-id'),
    insert('Port', { nope: 'x' }),
    insert('Port', { name: 5 }),
    select('Port', [eq('tag', 'ten')]),
    select('Port', [], ['nope']),
    mutate('Port', [], [mutation('tag', '+=', [1])]),
    mutate('Port', [], [mutation('nope', 'insert', [1])]),
    wait('Port', [], ['nope'], '==', []),
  ];
  for (const op of bad) t.throws(() => encodeTransaction(schema, [op]), OvsdbSchemaError, JSON.stringify(op));
});

t.test('results are decoded per operation', async (t) => {
  const ops = [
    insert('Port', { name: 'p0' }),
    select('Port', [], ['name', 'tag', '_uuid']),
    update('Port', [], { tag: 1 }),
    mutate('Port', [], []),
    del('Port', []),
    wait('Port', [], [], '==', []),
    comment('x'),
  ];
  const reply = [
    { uuid: ['uuid', U1] },
    { rows: [{ name: 'p0', tag: ['set', []], _uuid: ['uuid', U1] }] },
    { count: 1 },
    { count: 0 },
    { count: 2 },
    {},
    {},
  ];
  t.same(decodeTransactionReply(schema, ops, reply), [
    { uuid: U1 },
    { rows: [{ name: 'p0', tag: undefined, _uuid: U1 }] },
    { count: 1 },
    { count: 0 },
    { count: 2 },
    {},
    {},
  ]);
});

t.test('error results', async (t) => {
  const ops = [insert('Port', { name: 'p0' }), wait('Port', [], ['name'], '==', [], 0), select('Port', [])];

  t.test('a failed operation, the rest not executed', async (t) => {
    const reply = [{ uuid: ['uuid', U1] }, { error: 'timed out', details: '"wait" timed out' }, null];
    t.throws(() => decodeTransactionReply(schema, ops, reply), {
      name: 'OvsdbTransactionError',
      kind: 'timed-out',
      opIndex: 1,
      error: 'timed out',
      details: '"wait" timed out',
      message: /operation 1 \(wait\) failed: timed out/,
    });
  });

  t.test('a result list shorter than the operations, ending with an error', async (t) => {
    const reply = [{ error: 'constraint violation', details: 'name must be unique' }];
    t.throws(() => decodeTransactionReply(schema, ops, reply), {
      name: 'OvsdbTransactionError',
      kind: 'constraint-violation',
      opIndex: 0,
    });
  });

  t.test('a trailing error after all results reports a failed commit', async (t) => {
    const reply = [{ uuid: ['uuid', U1] }, {}, { rows: [] }, { error: 'referential integrity violation' }];
    t.throws(() => decodeTransactionReply(schema, ops, reply), {
      name: 'OvsdbTransactionError',
      kind: 'referential-integrity',
      opIndex: undefined,
      details: undefined,
      message: /^commit failed/,
    });
  });

  t.test('an unknown error string is kind other', async (t) => {
    t.throws(() => decodeTransactionReply(schema, ops, [{ error: 'surprise' }]), { name: 'OvsdbTransactionError', kind: 'other' });
  });

  t.test('a short list without an error, or a malformed reply, is a protocol error', async (t) => {
    t.throws(() => decodeTransactionReply(schema, ops, [{ uuid: ['uuid', U1] }]), OvsdbProtocolError);
    t.throws(() => decodeTransactionReply(schema, ops, { error: 'x' }), OvsdbProtocolError);
    t.throws(() => decodeTransactionReply(schema, ops, [{ uuid: 'x' }, {}, { rows: [] }]), OvsdbProtocolError);
    t.throws(() => decodeTransactionReply(schema, ops, [{ uuid: ['uuid', U1] }, {}, {}]), OvsdbProtocolError);
    t.throws(() => decodeTransactionReply(schema, [del('Port', [])], [{}]), OvsdbProtocolError);
  });
});
