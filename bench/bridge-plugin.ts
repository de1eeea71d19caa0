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
import { execCni, execCniPeakRss, type CniExecutable, type PeakRssProbes, type RssSample } from './cni-exec.ts';
import type { AttachMethod, Sample } from './method.ts';

export const REFERENCE_PLUGINS = '/usr/lib/cni';
export const BRIDGE_NAME = 'ombench0';
export const BRIDGE_SUBNET = '10.99.0.0/16';

export interface BridgePlugin extends AttachMethod {
  /** Deletes the Linux bridge the plugin created (DEL leaves it). Idempotent. */
  removeBridge(): Promise<void>;
  /**
   * The same calls under GNU time. Its figure is the bridge process alone: host-local, which
   * bridge runs as its own child, is not in it.
   */
  readonly peakRss: PeakRssProbes;
}

const bridgeExecutable = (nodeNetns: string): CniExecutable => ({ nodeNetns, binary: join(REFERENCE_PLUGINS, 'bridge'), cniPath: REFERENCE_PLUGINS });
const VERSION_CONFIG = { cniVersion: '1.0.0' };

/** CNI_COMMAND=VERSION of the reference bridge plugin (needs no bridge, IPAM or state). */
export function bridgeVersion(nodeNetns: string): Promise<Sample> {
  return execCni(bridgeExecutable(nodeNetns), 'VERSION', undefined, VERSION_CONFIG);
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
  const exe = bridgeExecutable(nodeNetns);
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
    peakRss: {
      add: (pod): Promise<RssSample> => execCniPeakRss(exe, 'ADD', pod, config),
      del: (pod): Promise<RssSample> => execCniPeakRss(exe, 'DEL', pod, config),
      version: (): Promise<RssSample> => execCniPeakRss(exe, 'VERSION', undefined, VERSION_CONFIG),
    },
  };
}
