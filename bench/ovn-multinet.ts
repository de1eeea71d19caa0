/** The candidate: dist/ovn-multinet as a CNI plugin, talking to the node's daemon. */
import type { TestNode } from '../test/helpers/node.ts';
import { CNI_BINARY } from '../test/helpers/node.ts';
import { execCni, execCniPeakRss, type CniExecutable, type PeakRssProbes } from './cni-exec.ts';
import type { AttachMethod, Sample } from './method.ts';

/** The bench's logical switch (the config's name): every ovn-multinet phase attaches to it. */
export const NETWORK = 'omb';
const NETWORK_SUBNET = '10.98.0.0/16';

export async function addNetwork(node: TestNode): Promise<void> {
  await node.sandbox.nbctl(['ls-add', NETWORK, '--', 'set', 'logical_switch', NETWORK, `other_config:subnet=${NETWORK_SUBNET}`]);
}

export interface OvnMultinet extends AttachMethod {
  /** CNI_COMMAND=VERSION: answered by the executable alone, the floor of any call (no daemon). */
  version(): Promise<Sample>;
  /** The same calls under GNU time, for the CNI process's own peak RSS. */
  readonly peakRss: PeakRssProbes;
}

/**
 * The logical switch `network` must exist on the node's NB (the config name is the switch name).
 * `socket`: the daemon the calls go to (the config's `socket` field), by default the node's.
 */
export function ovnMultinet(node: TestNode, network: string, socket = node.daemon.socket): OvnMultinet {
  const exe: CniExecutable = { nodeNetns: node.env.SANDBOX_NETNS, binary: CNI_BINARY, cniPath: '/opt/cni/bin' };
  const config = node.config(network, { socket });
  const versionConfig = { cniVersion: '1.1.0' };
  return {
    name: 'ovn-multinet',
    add: (pod) => execCni(exe, 'ADD', pod, config),
    del: (pod) => execCni(exe, 'DEL', pod, config),
    version: () => execCni(exe, 'VERSION', undefined, versionConfig),
    peakRss: {
      add: (pod) => execCniPeakRss(exe, 'ADD', pod, config),
      del: (pod) => execCniPeakRss(exe, 'DEL', pod, config),
      version: () => execCniPeakRss(exe, 'VERSION', undefined, versionConfig),
    },
  };
}
