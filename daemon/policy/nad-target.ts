/**
 * What a NetworkAttachmentDefinition named by `policy-for` is, for policies: its `spec.config`
 * (a plugin config or a conflist) read with the daemon's own config parser, so a policy's switch
 * is the switch the daemon attaches that NAD's pods to.
 *
 *   type ovn-multinet                      → the logical switch (logicalSwitch, default the name)
 *   ipam.type ovn-multinet (another plugin) → IPAM mode: addresses only, traffic never in OVN
 *   anything else                           → not ours: the policy is left alone for it
 */
import { isObject } from '../cni-spec/json.ts';
import { decodeConfig } from '../netconf/decode.ts';
import { PLUGIN_TYPE } from '../netconf/fields.ts';
import { parseConfig } from '../netconf/parse.ts';
import type { NadTarget } from './model.ts';

/** The plugin config that involves ovn-multinet: the config itself, or a conflist's entry (with the list's name and version). */
function ourPlugin(config: Record<string, unknown>): Record<string, unknown> | undefined {
  const involvesUs = (plugin: Record<string, unknown>): boolean => plugin['type'] === PLUGIN_TYPE || (isObject(plugin['ipam']) && plugin['ipam']['type'] === PLUGIN_TYPE);
  const plugins = config['plugins'];
  if (!Array.isArray(plugins)) return involvesUs(config) ? config : undefined;
  const plugin = plugins.find((p: unknown): p is Record<string, unknown> => isObject(p) && involvesUs(p));
  return plugin === undefined ? undefined : { ...plugin, name: config['name'], cniVersion: config['cniVersion'] };
}

/** `config` is the NAD's spec.config (undefined when it has none). */
export function nadTargetOf(config: string | undefined): NadTarget {
  if (config === undefined) return { kind: 'not-ours' };
  try {
    const plugin = ourPlugin(decodeConfig(config));
    if (plugin === undefined) return { kind: 'not-ours' };
    const conf = parseConfig(plugin);
    return conf.mode === 'ipam' ? { kind: 'ipam-mode', switchName: conf.logicalSwitch } : { kind: 'switch', switchName: conf.logicalSwitch };
  } catch (err) {
    return { kind: 'invalid', why: `its config is refused: ${err instanceof Error ? err.message : String(err)}` };
  }
}
