// The OVSDB schemas the daemon is written against, as checked in at daemon/ovsdb/schemas/ (byte
// copies of OVS's vswitch.ovsschema and OVN's ovn-nb.ovsschema). Unit tests read these, never the
// installed ones (test/helpers/ovsdb-server.ts creates real servers from those), so the unit tier
// runs without OVS or OVN installed.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseSchema, type DatabaseSchema } from '../../daemon/ovsdb/schema.ts';

export const VSWITCH_SCHEMA = fileURLToPath(new URL('../../daemon/ovsdb/schemas/vswitch.ovsschema', import.meta.url));
export const NB_SCHEMA = fileURLToPath(new URL('../../daemon/ovsdb/schemas/ovn-nb.ovsschema', import.meta.url));

/** A schema file as the client holds it after `get_schema`. */
export async function loadSchema(path: string): Promise<DatabaseSchema> {
  return parseSchema(JSON.parse(await readFile(path, 'utf8')));
}
