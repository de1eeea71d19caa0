/**
 * Where a native addon is loaded from. From source it is a file in the tree; inside the single
 * executable (Node SEA) it is an asset of the blob, written once to a content-addressed file and
 * loaded from there, since a SEA cannot `require()` a native addon from inside itself.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeAddonError } from '../errors.ts';

const require = createRequire(import.meta.url);

interface SeaModule {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

function sea(): SeaModule | undefined {
  try {
    const mod = require('node:sea') as SeaModule;
    return mod.isSea() ? mod : undefined;
  } catch {
    return undefined;
  }
}

/** Where extracted addons go: root-only, under the runtime dir when writable. */
function extractDir(): string {
  const candidates = [process.env['OVN_MULTINET_ADDON_DIR'], '/run/ovn-multinet/addons', join(tmpdir(), 'ovn-multinet-addons')].filter((dir) => dir !== undefined);
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    } catch {
      // try the next candidate
    }
  }
  throw new NativeAddonError(candidates.join(', '), { details: 'no writable directory for native addons' });
}

function extractAsset(mod: SeaModule, asset: string): string {
  const bytes = Buffer.from(mod.getRawAsset(asset));
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dot = asset.lastIndexOf('.');
  const path = join(extractDir(), `${asset.slice(0, dot)}-${digest}${asset.slice(dot)}`);
  if (!existsSync(path)) {
    const partial = `${path}.${process.pid}.tmp`;
    writeFileSync(partial, bytes, { mode: 0o500 });
    renameSync(partial, path);
  }
  return path;
}

/** The file to load a native addon from: the extracted SEA asset `asset`, or `devPath` from source. */
export function addonPath(asset: string, devPath: string): string {
  const mod = sea();
  return mod === undefined ? devPath : extractAsset(mod, asset);
}
