import t from 'tap';
import { OvsdbProtocolError, OvsdbSchemaError } from '../../daemon/errors.ts';
import {
  applyDiff,
  decodeRow,
  decodeValue,
  defaultValue,
  encodeRow,
  encodeValue,
  namedUuid,
  parseUuid,
  valuesEqual,
} from '../../daemon/ovsdb/notation.ts';
import type { Value, ValueInput } from '../../daemon/ovsdb/notation.ts';
import { getTable } from '../../daemon/ovsdb/schema.ts';
import type { ColumnType } from '../../daemon/ovsdb/schema.ts';
import { loadSchema, VSWITCH_SCHEMA } from '../helpers/schemas.ts';

const U1 = parseUuid('0A1B2C3D-0000-4000-8000-000000000001');
const U2 = parseUuid('0a1b2c3d-0000-4000-8000-000000000002');

const scalar = (key: ColumnType['key'], min: 0 | 1 = 1): ColumnType => ({ key, min, max: 1 });
const set = (key: ColumnType['key']): ColumnType => ({ key, min: 0, max: Infinity });
const stringMap: ColumnType = { key: 'string', value: 'string', min: 0, max: Infinity };

t.test('uuids are lowercase branded strings', async (t) => {
  t.equal(U1, '0a1b2c3d-0000-4000-8000-000000000001');
  t.throws(() => parseUuid('br-int'), OvsdbSchemaError);
  t.same(namedUuid('port_1'), { namedUuid: 'port_1' });
  t.throws(() => namedUuid('1port'), OvsdbSchemaError);
  t.throws(() => namedUuid('a-b'), OvsdbSchemaError);
});

// [name, type, decoded value, wire form]
const roundTrips: Array<[string, ColumnType, Value, unknown]> = [
  ['string', scalar('string'), 'br-int', 'br-int'],
  ['integer', scalar('integer'), -42, -42],
  ['real', scalar('real'), 1.5, 1.5],
  ['boolean', scalar('boolean'), true, true],
  ['uuid', scalar('uuid'), U1, ['uuid', U1]],
  ['optional, present', scalar('integer', 0), 7, 7],
  ['optional, empty', scalar('integer', 0), undefined, ['set', []]],
  ['set of uuids', set('uuid'), [U1, U2], ['set', [['uuid', U1], ['uuid', U2]]]],
  ['empty set', set('string'), [], ['set', []]],
  ['string map', stringMap, new Map([['iface-id', 'pod1'], ['a', '']]), ['map', [['iface-id', 'pod1'], ['a', '']]]],
  [
    'integer to uuid map',
    { key: 'integer', value: 'uuid', min: 0, max: Infinity },
    new Map([[0, U1]]),
    ['map', [[0, ['uuid', U1]]]],
  ],
];
for (const [name, type, value, wire] of roundTrips) {
  t.test(`round trip: ${name}`, async (t) => {
    t.same(encodeValue(type, value, 'c'), wire);
    t.same(decodeValue(type, wire, 'c'), value);
  });
}

t.test('decoding accepts the short forms the server may send', async (t) => {
  t.same(decodeValue(set('uuid'), ['uuid', U1], 'c'), [U1], 'a one-element set as a bare atom');
  t.equal(decodeValue(scalar('string', 0), ['set', ['x']], 'c'), 'x', 'an optional value as a one-element set');
  t.equal(decodeValue(scalar('real'), 3, 'c'), 3, 'a real without a fraction');
});

t.test('encoding takes any well-formed string, astral characters included', async (t) => {
  t.equal(encodeValue(scalar('string'), 'ovn 🦆 ü', 'c'), 'ovn 🦆 ü');
});

t.test('encoding takes named-uuids wherever a uuid goes', async (t) => {
  t.same(encodeValue(scalar('uuid'), namedUuid('p'), 'c'), ['named-uuid', 'p']);
  t.same(encodeValue(set('uuid'), [namedUuid('p'), U2], 'c'), ['set', [['named-uuid', 'p'], ['uuid', U2]]]);
});

const badInputs: Array<[string, ColumnType, ValueInput]> = [
  ['a number for a string', scalar('string'), 1],
  ['a fraction for an integer', scalar('integer'), 1.5],
  ['NaN for a real', scalar('real'), NaN],
  ['a string for a uuid', scalar('uuid'), 'br-int'],
  ['a named-uuid for a string', scalar('string'), namedUuid('x')],
  ['nothing for a required column', scalar('string'), undefined],
  ['an array for a scalar', scalar('string'), ['a']],
  ['an atom for a set', set('string'), 'a'],
  ['an object for a map', stringMap, ['a', 'b']],
  ['a number in a string map', stringMap, new Map([['a', 1]])],
  // Strings ovsdb-server would drop the connection for.
  ['a NUL in a string', scalar('string'), 'a\0b'],
  ['a lone surrogate in a string', scalar('string'), 'a\ud800b'],
  ['a NUL in a set member', set('string'), ['ok', '\0']],
  ['a lone surrogate in a map key', stringMap, new Map([['\udfff', 'v']])],
  ['a NUL in a map value', stringMap, new Map([['k', 'v\0']])],
];
for (const [name, type, value] of badInputs) {
  t.test(`encoding rejects ${name}`, async (t) => {
    t.throws(() => encodeValue(type, value, 'T.c'), OvsdbSchemaError);
  });
}

const badWire: Array<[string, ColumnType, unknown]> = [
  ['a string for an integer', scalar('integer'), '1'],
  ['a malformed uuid', scalar('uuid'), ['uuid', 'x']],
  ['two values for a scalar', scalar('string', 0), ['set', ['a', 'b']]],
  ['an empty set for a required column', scalar('string'), ['set', []]],
  ['a set for a map', stringMap, ['set', []]],
  ['a map pair of one', stringMap, ['map', [['a']]]],
  ['a set whose body is no array', set('string'), ['set', 'a']],
];
for (const [name, type, wire] of badWire) {
  t.test(`decoding rejects ${name}`, async (t) => {
    t.throws(() => decodeValue(type, wire, 'T.c'), OvsdbProtocolError);
  });
}

t.test('defaults', async (t) => {
  t.equal(defaultValue(scalar('integer')), 0);
  t.equal(defaultValue(scalar('real')), 0);
  t.equal(defaultValue(scalar('boolean')), false);
  t.equal(defaultValue(scalar('string')), '');
  t.equal(defaultValue(scalar('uuid')), '00000000-0000-0000-0000-000000000000');
  t.equal(defaultValue(scalar('string', 0)), undefined);
  t.same(defaultValue(set('uuid')), []);
  t.same(defaultValue(stringMap), new Map());
});

t.test('update2 diffs', async (t) => {
  t.equal(applyDiff(scalar('string'), 'a', 'b', 'c'), 'b', 'a scalar takes the new value');
  t.equal(applyDiff(scalar('integer', 0), 1, ['set', []], 'c'), undefined, 'an optional value is replaced, not toggled');
  t.equal(applyDiff(scalar('integer', 0), undefined, 5, 'c'), 5);
  t.same(applyDiff(set('uuid'), [U1], ['set', [['uuid', U1], ['uuid', U2]]], 'c'), [U2], 'a set toggles elements');
  // However many toggles (a few are searched for, more go through a Set), each in turn.
  const members = Array.from({ length: 40 }, (_, i) => `m${i}`);
  const toggleEach = (before: readonly string[], toggles: readonly string[]) => {
    const result = new Set(before);
    for (const m of toggles) if (!result.delete(m)) result.add(m);
    return [...result];
  };
  for (const toggles of [[], ['m3'], ['new'], ['m0', 'new', 'm39'], ['m5', 'm5'], ['m5', 'x', 'm5', 'x'], members.slice(10, 30), [...members.slice(0, 5), 'a', 'b', 'c', 'd', 'e']]) {
    t.same(applyDiff(set('string'), members, ['set', toggles], 'c'), toggleEach(members, toggles), `toggles ${toggles.join(',') || 'none'}`);
  }
  const old = new Map([
    ['keep', '1'],
    ['drop', '2'],
    ['change', '3'],
  ]);
  const diff = ['map', [['drop', '2'], ['change', '4'], ['add', '5']]];
  t.same(
    applyDiff(stringMap, old, diff, 'c'),
    new Map([
      ['keep', '1'],
      ['change', '4'],
      ['add', '5'],
    ]),
    'a map drops, replaces and adds keys',
  );
  t.same(old.get('drop'), '2', 'the old value is not modified');
});

t.test('value equality', async (t) => {
  t.ok(valuesEqual([U1, U2], [U1, U2]));
  t.notOk(valuesEqual([U1, U2], [U1]));
  t.ok(valuesEqual(new Map([['a', '1']]), new Map([['a', '1']])));
  t.notOk(valuesEqual(new Map([['a', '1']]), new Map([['a', '2']])));
  t.notOk(valuesEqual(new Map([['a', '1']]), ['a']));
  t.ok(valuesEqual(undefined, undefined));
  t.notOk(valuesEqual('a', 'b'));
});

t.test('rows against the Open_vSwitch schema', async (t) => {
  const bridge = getTable(await loadSchema(VSWITCH_SCHEMA), 'Bridge');
  const row = { name: 'br-int', ports: [namedUuid('p0')], external_ids: new Map([['owner', 'me']]), fail_mode: 'secure' };
  const wire = encodeRow(bridge, row);
  t.same(wire, {
    name: 'br-int',
    ports: ['set', [['named-uuid', 'p0']]],
    external_ids: ['map', [['owner', 'me']]],
    fail_mode: 'secure',
  });
  t.same(decodeRow(bridge, { name: 'br-int', ports: ['uuid', U1], datapath_type: '' }), {
    name: 'br-int',
    ports: [U1],
    datapath_type: '',
  });
  t.throws(() => encodeRow(bridge, { nope: 1 }), OvsdbSchemaError);
  t.throws(() => decodeRow(bridge, ['name']), OvsdbProtocolError);
});
