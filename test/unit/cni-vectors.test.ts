// Facts the Go executable and the TypeScript daemon must agree on live in one data file that both
// test suites read (cni/testdata/vectors.json; the Go side is cni/names_test.go): the host veth
// name (DEL without a daemon looks for it), the supported versions (VERSION is answered by
// both) and the socket paths the executable may connect to (the daemon validates `socket` the same way).
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { hostVethName, isHostVethName, logicalPortName } from '../../daemon/cni-spec/names.ts';
import { SUPPORTED_VERSIONS } from '../../daemon/cni-spec/version.ts';
import { isObject } from '../../daemon/cni-spec/json.ts';
import { validateSocket } from '../../daemon/netconf/fields.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { expectCniError } from '../helpers/cni-error.ts';

interface NameVector {
  containerId: string;
  ifName: string;
  hostVeth: string;
  logicalPort: string;
}

function nameVector(value: unknown): NameVector {
  if (!isObject(value)) throw new Error('a name vector must be an object');
  const { containerId, ifName, hostVeth, logicalPort } = value;
  if (typeof containerId !== 'string' || typeof ifName !== 'string' || typeof hostVeth !== 'string' || typeof logicalPort !== 'string') {
    throw new Error(`bad name vector ${JSON.stringify(value)}`);
  }
  return { containerId, ifName, hostVeth, logicalPort };
}

t.test('shared vectors', async (t) => {
  const vectors: unknown = JSON.parse(await readFile(new URL('../../cni/testdata/vectors.json', import.meta.url), 'utf8'));
  if (!isObject(vectors) || !Array.isArray(vectors['names'])) throw new Error('vectors.json: no names list');
  t.same(vectors['supportedVersions'], SUPPORTED_VERSIONS, 'supported versions');
  const names = vectors['names'].map(nameVector);
  t.ok(names.length >= 5, `${names.length} name vectors`);
  for (const v of names) {
    t.equal(hostVethName(v.containerId, v.ifName), v.hostVeth, `host veth of ${v.containerId}/${v.ifName}`);
    t.equal(logicalPortName(v.containerId, v.ifName), v.logicalPort, `logical port of ${v.containerId}/${v.ifName}`);
    t.ok(isHostVethName(v.hostVeth));
    t.ok(Buffer.byteLength(v.hostVeth) <= 15, 'fits IFNAMSIZ');
  }
});

t.test('shared socket path vectors', async (t) => {
  const vectors: unknown = JSON.parse(await readFile(new URL('../../cni/testdata/vectors.json', import.meta.url), 'utf8'));
  if (!isObject(vectors) || !Array.isArray(vectors['socketPaths'])) throw new Error('vectors.json: no socketPaths list');
  const paths: unknown[] = vectors['socketPaths'];
  t.ok(paths.length >= 10, `${paths.length} socket path vectors`);
  for (const v of paths) {
    if (!isObject(v) || typeof v['path'] !== 'string' || typeof v['ok'] !== 'boolean') throw new Error(`bad socket vector ${JSON.stringify(v)}`);
    const path = v['path'];
    if (v['ok']) t.equal(validateSocket(path), path, `${JSON.stringify(path)} accepted`);
    else expectCniError(t, () => validateSocket(path), ErrorCode.InvalidConfig, 'socket');
  }
});
