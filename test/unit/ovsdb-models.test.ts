// The generated models (daemon/ovsdb/models/) against the checked-in schemas they come from: the
// files are what scripts/gen-models.ts makes now (run it after changing a schema or the table
// list), and modelMismatches tells a server's schema that does not fit a model from one that does.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { generateModels, MODEL_FILES } from '../../scripts/gen-models.ts';
import { modelMismatches } from '../../daemon/ovsdb/model.ts';
import { planMonitor } from '../../daemon/ovsdb/monitor.ts';
import { parseSchema } from '../../daemon/ovsdb/schema.ts';
import { nbModel, NbTable } from '../../daemon/ovsdb/models/nb.ts';
import { ovsModel, OvsTable } from '../../daemon/ovsdb/models/vswitch.ts';

t.test('the generated files are up to date (node scripts/gen-models.ts)', async (t) => {
  for (const { path, text } of generateModels()) {
    t.equal(readFileSync(path, 'utf8'), text, `${relative(process.cwd(), path)} is what the generator makes of its schema`);
  }
});

const schemaOf = (index: number): unknown => JSON.parse(readFileSync(MODEL_FILES[index]?.schema ?? '', 'utf8'));

t.test('each model fits the schema it was generated from, every table and column', async (t) => {
  t.same(modelMismatches(parseSchema(schemaOf(0)), nbModel), []);
  t.same(modelMismatches(parseSchema(schemaOf(1)), ovsModel), []);
  t.same(Object.keys(nbModel.tables), Object.values(NbTable), 'a table name constant per table');
  t.same(Object.keys(ovsModel.tables), Object.values(OvsTable));
});

t.test('a schema that does not fit', async (t) => {
  const json = schemaOf(0) as { tables: Record<string, { columns: Record<string, unknown> }> };
  const lsp = json.tables['Logical_Switch_Port']!.columns;
  lsp['addresses'] = { type: 'string' };
  lsp['tag'] = { type: { key: 'integer' } };
  delete lsp['up'];
  lsp['external_ids'] = { type: { key: 'string', value: 'string', min: 0, max: 10 } };
  delete json.tables['DHCP_Options'];
  const schema = parseSchema(json);
  t.same(modelMismatches(schema, nbModel), [
    "column Logical_Switch_Port.tag is integer [1, 1], the model's is integer [0, 1]",
    "column Logical_Switch_Port.addresses is string [1, 1], the model's is string [0, Infinity]",
    'column Logical_Switch_Port.up is missing',
    'table DHCP_Options is missing',
  ], 'another type, a missing column, a missing table; the bounds of a map do not matter');
  const plan = planMonitor(schema, { Logical_Switch_Port: ['name', 'tag'], Logical_Switch: [] });
  t.same(modelMismatches(schema, nbModel, plan), ["column Logical_Switch_Port.tag is integer [1, 1], the model's is integer [0, 1]"], 'with a plan, only the monitored columns count');
  t.same(modelMismatches(parseSchema(schemaOf(1)), nbModel), ["the server's database is Open_vSwitch, the model's OVN_Northbound"]);
});
