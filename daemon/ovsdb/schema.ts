// Column types from a `get_schema` reply (RFC 7047 section 3.2), reduced to what
// encoding and decoding need: the atomic types of key and value, and min/max.

import { OvsdbProtocolError, OvsdbSchemaError } from '../errors.ts';
import { isJsonObject } from './json.ts';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface ColumnType {
  readonly key: AtomicType;
  /** Present for map columns only. */
  readonly value?: AtomicType;
  readonly min: 0 | 1;
  /** `Infinity` for "unlimited". */
  readonly max: number;
}

export interface TableSchema {
  readonly name: string;
  readonly columns: ReadonlyMap<string, ColumnType>;
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

const atomicTypes: ReadonlySet<string> = new Set<AtomicType>(['integer', 'real', 'boolean', 'string', 'uuid']);

// Every table has these two, though no schema lists them.
const uuidColumn: ColumnType = { key: 'uuid', min: 1, max: 1 };
const implicitColumns: ReadonlyMap<string, ColumnType> = new Map([
  ['_uuid', uuidColumn],
  ['_version', uuidColumn],
]);

export function parseSchema(json: unknown): DatabaseSchema {
  if (!isJsonObject(json) || typeof json['name'] !== 'string' || !isJsonObject(json['tables'])) {
    throw new OvsdbProtocolError('schema: expected an object with "name" and "tables"');
  }
  const tables = new Map<string, TableSchema>();
  for (const [tableName, table] of Object.entries(json['tables'])) {
    if (!isJsonObject(table) || !isJsonObject(table['columns'])) {
      throw new OvsdbProtocolError(`schema: table ${tableName} has no "columns"`);
    }
    const columns = new Map<string, ColumnType>();
    for (const [columnName, column] of Object.entries(table['columns'])) {
      if (!isJsonObject(column)) throw new OvsdbProtocolError(`schema: ${tableName}.${columnName} is not an object`);
      columns.set(columnName, parseColumnType(column['type'], `${tableName}.${columnName}`));
    }
    tables.set(tableName, { name: tableName, columns });
  }
  const version = typeof json['version'] === 'string' ? json['version'] : '';
  return { name: json['name'], version, tables };
}

export function getTable(schema: DatabaseSchema, name: string): TableSchema {
  const table = schema.tables.get(name);
  if (table === undefined) throw new OvsdbSchemaError(`${schema.name} has no table ${name}`);
  return table;
}

/** The type of a column, including the implicit `_uuid` and `_version`. */
export function getColumn(table: TableSchema, name: string): ColumnType {
  const column = table.columns.get(name) ?? implicitColumns.get(name);
  if (column === undefined) throw new OvsdbSchemaError(`table ${table.name} has no column ${name}`);
  return column;
}

function parseColumnType(json: unknown, label: string): ColumnType {
  if (typeof json === 'string') return { key: parseBaseType(json, label), min: 1, max: 1 };
  if (!isJsonObject(json)) throw new OvsdbProtocolError(`schema: ${label} has an invalid type`);
  const key = parseBaseType(json['key'], label);
  const min = json['min'] ?? 1;
  const max = json['max'] ?? 1;
  if (min !== 0 && min !== 1) throw new OvsdbProtocolError(`schema: ${label} has an invalid min`);
  if (max !== 'unlimited' && !(typeof max === 'number' && Number.isInteger(max) && max >= 1 && max >= min)) {
    throw new OvsdbProtocolError(`schema: ${label} has an invalid max`);
  }
  const type = { key, min, max: max === 'unlimited' ? Infinity : max } as const;
  return json['value'] === undefined ? type : { ...type, value: parseBaseType(json['value'], label) };
}

function parseBaseType(json: unknown, label: string): AtomicType {
  const name = isJsonObject(json) ? json['type'] : json;
  if (typeof name !== 'string' || !atomicTypes.has(name)) {
    throw new OvsdbProtocolError(`schema: ${label} has an invalid base type`);
  }
  return name as AtomicType;
}
