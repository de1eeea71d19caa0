/**
 * Baseline A: the reference `bridge` plugin with `host-local` IPAM from Debian's
 * containernetworking-plugins (/usr/lib/cni), run the same way as ovn-multinet (same
 * `ip netns exec` into the node namespace, so its Linux bridge lives there too).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Teardown } from '../test/helpers/netns.ts';
import { execCni, type CniExecutable } from './cni-exec.ts';
import type { AttachMethod } from './method.ts';

export const REFERENCE_PLUGINS = '/usr/lib/cni';
export const BRIDGE_NAME = 'ombench0';
export const BRIDGE_SUBNET = '10.99.0.0/16';

export interface BridgePlugin extends AttachMethod {
  /** Deletes the Linux bridge the plugin created (DEL leaves it). Idempotent. */
  removeBridge(): Promise<void>;
}

export function bridgePluginSkipReason(): string | false {
  for (const p of ['bridge', 'host-local']) {
    if (!existsSync(join(REFERENCE_PLUGINS, p))) return `needs ${join(REFERENCE_PLUGINS, p)} (apt-get install containernetworking-plugins)`;
  }
  return false;
}

export async function bridgePlugin(cleanup: Teardown, nodeNetns: string): Promise<BridgePlugin> {
  const dataDir = await mkdtemp(join(tmpdir(), 'omb-hostlocal-'));
  const removeBridge = async (): Promise<void> => {
    const links = await run('ip', ['-n', nodeNetns, '-o', 'link', 'show']).catch(() => '');
    if (links.includes(` ${BRIDGE_NAME}:`)) await run('ip', ['-n', nodeNetns, 'link', 'del', BRIDGE_NAME]);
  };
  cleanup.teardown(() => rm(dataDir, { recursive: true, force: true }));
  cleanup.teardown(removeBridge);
  const exe: CniExecutable = { nodeNetns, binary: join(REFERENCE_PLUGINS, 'bridge'), cniPath: REFERENCE_PLUGINS };
  const config = {
    cniVersion: '1.0.0',
    name: 'omb-bridge',
    type: 'bridge',
    bridge: BRIDGE_NAME,
    isGateway: false,
    ipMasq: false,
    ipam: { type: 'host-local', subnet: BRIDGE_SUBNET, dataDir },
  };
  return {
    name: 'bridge + host-local',
    add: (pod) => execCni(exe, 'ADD', pod, config),
    del: (pod) => execCni(exe, 'DEL', pod, config),
    removeBridge,
  };
}
