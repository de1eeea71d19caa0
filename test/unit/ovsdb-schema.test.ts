import t from 'tap';
import { OvsdbProtocolError, OvsdbSchemaError } from '../../daemon/errors.ts';
import { getColumn, getTable, parseSchema } from '../../daemon/ovsdb/schema.ts';
import { loadSchema, NB_SCHEMA, VSWITCH_SCHEMA } from '../helpers/schemas.ts';

t.test('column types: atomic, optional, set, map, bounded', async (t) => {
  const schema = parseSchema({
    name: 'Test',
    version: '1.2.3',
    tables: {
      T: {
        columns: {
          name: { type: 'string' },
          tag: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 } },
          ports: { type: { key: { type: 'uuid', refTable: 'T' }, min: 0, max: 'unlimited' } },
          pair: { type: { key: 'real', min: 1, max: 2 } },
          options: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
          enabled: { type: { key: { type: 'boolean' } } },
        },
      },
    },
  });
  t.equal(schema.name, 'Test');
  t.equal(schema.version, '1.2.3');
  const table = getTable(schema, 'T');
  t.same(getColumn(table, 'name'), { key: 'string', min: 1, max: 1 });
  t.same(getColumn(table, 'tag'), { key: 'integer', min: 0, max: 1 });
  t.same(getColumn(table, 'ports'), { key: 'uuid', min: 0, max: Infinity });
  t.same(getColumn(table, 'pair'), { key: 'real', min: 1, max: 2 });
  t.same(getColumn(table, 'options'), { key: 'string', value: 'string', min: 0, max: Infinity });
  t.same(getColumn(table, 'enabled'), { key: 'boolean', min: 1, max: 1 });
  t.same(getColumn(table, '_uuid'), { key: 'uuid', min: 1, max: 1 }, 'implicit _uuid');
  t.same(getColumn(table, '_version'), { key: 'uuid', min: 1, max: 1 }, 'implicit _version');
  t.throws(() => getColumn(table, 'nope'), OvsdbSchemaError);
  t.throws(() => getTable(schema, 'Nope'), OvsdbSchemaError);
});

t.test('the installed Open_vSwitch and OVN_Northbound schemas', async (t) => {
  const vswitch = await loadSchema(VSWITCH_SCHEMA);
  t.equal(vswitch.name, 'Open_vSwitch');
  const bridge = getTable(vswitch, 'Bridge');
  t.same(getColumn(bridge, 'flow_tables'), { key: 'integer', value: 'uuid', min: 0, max: Infinity });
  t.same(getColumn(bridge, 'fail_mode'), { key: 'string', min: 0, max: 1 });
  const nb = await loadSchema(NB_SCHEMA);
  t.same(getColumn(getTable(nb, 'Logical_Switch_Port'), 'addresses'), { key: 'string', min: 0, max: Infinity });
});

const invalid: Array<[string, unknown]> = [
  ['not an object', 'schema'],
  ['no tables', { name: 'X' }],
  ['table without columns', { name: 'X', tables: { T: {} } }],
  ['unknown atomic type', { name: 'X', tables: { T: { columns: { c: { type: 'float' } } } } }],
  ['min 2', { name: 'X', tables: { T: { columns: { c: { type: { key: 'string', min: 2, max: 3 } } } } } }],
  ['max 0', { name: 'X', tables: { T: { columns: { c: { type: { key: 'string', min: 0, max: 0 } } } } } }],
  ['max "many"', { name: 'X', tables: { T: { columns: { c: { type: { key: 'string', max: 'many' } } } } } }],
  ['bad value type', { name: 'X', tables: { T: { columns: { c: { type: { key: 'string', value: {} } } } } } }],
];
for (const [name, json] of invalid) {
  t.test(`rejects a schema: ${name}`, async (t) => {
    t.throws(() => parseSchema(json), OvsdbProtocolError);
  });
}
