/**
 * Releases the attachments of dead nodes (node-plan.ts decides which): a node whose Node object
 * has been gone for `--dead-node-grace` gets every logical switch port ovn-multinet made for it
 * removed, its addresses freed (daemon/attachments/release-node.ts), once a GET of the Node answers
 * 404. Passes run when a Node appears or goes, when a grace period ends, and every resync; each
 * asks the NB which nodes without a Node object own ports (one select; the NB's other ports never
 * come back). Node status updates (heartbeats) trigger nothing.
 */
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import type { NbFlags } from '../lib/flags.ts';
import type { ControllerNbClient } from '../ovn/exposed.ts';
import { nodesWithPorts } from '../ovn/node-ports.ts';
import { nodesWithLayer3Switches } from '../ovn/layer3-release.ts';
import { releaseNode, type ReleasedPort } from '../attachments/release-node.ts';
import { withSignal } from '../k8s/signal.ts';
import { WatchedCache } from '../k8s/watch.ts';
import { statusCode } from './api.ts';
import { planDeadNodes } from './node-plan.ts';
import type { LeaderContext, LeaderLoop } from './context.ts';
import { Trigger, type PassResult } from './trigger.ts';

/** The NB side: which nodes own ports, and how to release them. */
export interface NodeAttachments {
  readonly ready: boolean;
  /** Nodes owning ports, besides those of `except`. */
  owners(except: ReadonlySet<string>, signal: AbortSignal): Promise<Set<string>>;
  release(node: string, signal: AbortSignal): Promise<ReleasedPort[]>;
}

/** The attachments in the NB `nb` is connected to; releases go through a client of their own. */
export function nbNodeAttachments(nb: ControllerNbClient, flags: NbFlags, log: Logger): NodeAttachments {
  return {
    get ready() {
      return nb.connected;
    },
    // A node's layer3 switch stays after its last pod: a dead node with one is released too.
    owners: async (except, signal) => new Set([...(await nodesWithPorts(nb, except, signal)), ...(await nodesWithLayer3Switches(nb, except, signal))]),
    release: (node, signal) => releaseNode(flags, node, log, signal),
  };
}

const nameOf = (o: KubernetesObject): string | undefined => o.metadata?.name;

export class DeadNodeReleaser implements LeaderLoop {
  readonly name = 'dead-node-release';
  readonly #ctx: LeaderContext;
  readonly #store: NodeAttachments;
  readonly #graceMs: number;
  readonly #api: CoreV1Api;
  readonly #log: Logger;
  readonly #trigger: Trigger;
  #nodes: WatchedCache<KubernetesObject> | undefined;
  #off: (() => void) | undefined;
  /** When each node was first found with ports and no Node object, this term. */
  #missingSince = new Map<string, number>();
  #due: NodeJS.Timeout | undefined;

  constructor(ctx: LeaderContext, store: NodeAttachments, graceMs: number) {
    this.#ctx = ctx;
    this.#store = store;
    this.#graceMs = graceMs;
    this.#api = ctx.kubeConfig.makeApiClient(CoreV1Api);
    this.#log = ctx.log.child({ loop: this.name });
    this.#trigger = new Trigger({ name: this.name, pass: (signal) => this.#pass(signal), resyncMs: ctx.resyncMs, log: this.#log });
  }

  start(signal: AbortSignal): void {
    const nodes = new WatchedCache({ kubeConfig: this.#ctx.kubeConfig, path: '/api/v1/nodes', list: () => this.#api.listNode(), log: this.#log, retryMs: 1000 });
    this.#nodes = nodes;
    nodes.start();
    let seen = '';
    this.#off = nodes.onChange(() => {
      const names = nodes.list().flatMap((o) => nameOf(o) ?? []).sort().join('\n');
      if (names === seen && nodes.synced) return;
      seen = names;
      this.#trigger.schedule();
    });
    this.#trigger.start(signal);
  }

  async stop(): Promise<void> {
    this.#off?.();
    this.#off = undefined;
    clearTimeout(this.#due);
    this.#due = undefined;
    await this.#trigger.stop();
    await this.#nodes?.stop();
    this.#nodes = undefined;
    this.#missingSince = new Map();
  }

  async #exists(node: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#api.readNode({ name: node }, withSignal(signal));
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  async #pass(signal: AbortSignal): Promise<PassResult> {
    const cache = this.#nodes;
    if (cache === undefined || !cache.synced || !this.#store.ready) return 'retry';
    const nodes = cache.list();
    const owners = await this.#store.owners(new Set(nodes.flatMap((o) => nameOf(o) ?? [])), signal);
    const plan = planDeadNodes({ owners, nodes, missingSince: this.#missingSince, now: Date.now(), graceMs: this.#graceMs });
    this.#missingSince = plan.missingSince;
    for (const [node, since] of plan.missingSince) {
      if (!plan.dead.includes(node)) this.#log.debug({ node, missingSince: new Date(since).toISOString() }, 'node has attachments and no Node object: waiting out the grace period');
    }
    for (const node of plan.dead) {
      if (await this.#exists(node, signal)) continue;
      const released = await this.#store.release(node, signal);
      this.#ctx.metrics.portsReleased(released.length);
      for (const p of released) this.#log.info({ node, port: p.name, switch: p.switchName, addresses: p.entry, containerId: p.containerId, pod: p.pod }, 'dead node: logical switch port released');
      this.#log.info({ node, released: released.length }, 'Node deleted: its attachments are released');
      this.#missingSince.delete(node);
    }
    this.#wakeAt(plan.nextDueMs);
    return 'done';
  }

  /** A pass when the next grace period ends (after this pass: a schedule during one repeats it at once). */
  #wakeAt(dueMs: number | undefined): void {
    clearTimeout(this.#due);
    this.#due = dueMs === undefined ? undefined : setTimeout(() => this.#trigger.schedule(0), dueMs + 10);
  }
}
