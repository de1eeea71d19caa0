/**
 * What one node's daemon holds of the shared NB, made as the daemon makes it: the NB client whose
 * monitor follows the node's scope (scope.ts), with the scope attached and the cache's indexes
 * registered. Not started. The daemon uses it, and so does the many-nodes bench, whose simulated
 * nodes must ask the NB exactly what a daemon asks.
 */
import type { NbFlags } from '../lib/flags.ts';
import type { Logger } from '../lib/log.ts';
import { indexNb } from './indexes.ts';
import { nbClient, NB_MONITOR, type NbClient } from './nb.ts';
import { NbScope } from './scope.ts';

export interface NodeNbView {
  readonly nb: NbClient;
  readonly scope: NbScope;
}

export function nodeNbView(flags: NbFlags, node: string, log: Logger): NodeNbView {
  // Only what this node needs of the shared NB: its own ports, and the switches it serves.
  const scope = new NbScope(node, log);
  const nb = nbClient(flags, NB_MONITOR, log, scope.selection);
  scope.attach(nb);
  // Indexed as rows arrive, so the first ADD finds them built.
  indexNb(nb);
  return { nb, scope };
}
