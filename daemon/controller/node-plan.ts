/**
 * Which nodes are dead, as a pure function of what the controller knows: a node is dead when it
 * owns attachments in the NB and has had no Node object for the whole grace period. A Node object
 * that exists, Ready or not, keeps its node alive (a NotReady node may come back with its pods
 * running). The grace period runs from when the controller first found the node's attachments
 * without a Node object (a node it never saw counts from then too); a restarted controller, or a
 * new leader, starts the clock again, which only ever waits longer.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

export interface DeadNodeInput {
  /** Nodes that own ovn-multinet logical switch ports in the NB. */
  owners: ReadonlySet<string>;
  /** The Node objects that exist (any status). */
  nodes: readonly KubernetesObject[];
  /** From the previous plan: when each node was first found with ports and no Node object. */
  missingSince: ReadonlyMap<string, number>;
  now: number;
  graceMs: number;
}

export interface DeadNodePlan {
  /** Dead: their attachments are to be released (once a GET of the Node confirms 404). Sorted. */
  dead: string[];
  /** For the next plan. Nodes back, or without ports any more, are dropped. */
  missingSince: Map<string, number>;
  /** Milliseconds until the first node still in its grace period is due; undefined when none. */
  nextDueMs: number | undefined;
}

export function planDeadNodes(input: DeadNodeInput): DeadNodePlan {
  const existing = new Set(input.nodes.flatMap((n) => (n.metadata?.name === undefined ? [] : [n.metadata.name])));
  const missingSince = new Map<string, number>();
  const dead: string[] = [];
  let nextDueMs: number | undefined;
  for (const node of input.owners) {
    if (existing.has(node)) continue;
    const since = input.missingSince.get(node) ?? input.now;
    missingSince.set(node, since);
    const dueIn = since + input.graceMs - input.now;
    if (dueIn <= 0) dead.push(node);
    else nextDueMs = Math.min(nextDueMs ?? dueIn, dueIn);
  }
  return { dead: dead.sort(), missingSince, nextDueMs };
}
