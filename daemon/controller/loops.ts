/**
 * Leader-only work: a list of loops that run while this replica holds the Lease and stop the
 * moment it does not. Each loop is a LeaderLoop (context.ts); `leaderLoops` is the list. To add a loop, write
 * a class implementing LeaderLoop (a pass-per-event loop extends ReconcileLoop from trigger.ts,
 * as sync.ts does) and add one line to `leaderLoops` below. Loops are restarted on every new
 * leadership term: anything a loop starts in start() it must be able to start again after stop().
 */
import type { Logger } from '../lib/log.ts';
import type { LeaderContext, LeaderLoop } from './context.ts';
import { NetworkSync } from './sync.ts';
import { TenantNetworkSync } from './tenant-sync.ts';
import { AddressAlerts } from './address-events.ts';
import { SwitchExposer } from './expose.ts';
import { ClaimReleaser, nbReservations } from './claims.ts';
import { DeadNodeReleaser, nbNodeAttachments } from './dead-nodes.ts';
import { PolicyEnforcer, type PolicySources, type PolicySteps } from './policies.ts';
import { PolicyReporter } from './policy-status.ts';
import { IpPoolReporter } from './ippool-status.ts';
import { parsePolicy } from '../policy/parse.ts';
import { planPolicies } from '../policy/plan.ts';
import { nadTargetOf } from '../policy/nad-target.ts';
import { PolicySpecError } from '../errors.ts';

/** The policy loop's view of the caches, and its parse, plan and report steps. */
function policyEnforcer(ctx: LeaderContext): PolicyEnforcer {
  const { caches } = ctx;
  const sources: PolicySources = {
    get synced() {
      return caches.synced && caches.policy.synced;
    },
    policies: () => caches.policy.policies(),
    pods: () => caches.policy.pods(),
    namespaces: () => caches.namespaces(),
    nadTarget: (ref) => {
      const nad = caches.nad(ref.namespace, ref.name);
      return nad === undefined ? { kind: 'missing' } : nadTargetOf(nad.config);
    },
    onChange: (listener) => caches.policy.onChange(listener),
  };
  const reporter = new PolicyReporter(ctx.kubeConfig, ctx.log, (namespace, name) => caches.policy.policy(namespace, name), ctx.events);
  const steps: PolicySteps = {
    parse: parsePolicy,
    isSpecError: (err) => err instanceof PolicySpecError,
    plan: planPolicies,
    report: (reports, signal) => reporter.report(reports, signal),
  };
  return new PolicyEnforcer(ctx, sources, steps);
}

/** The leader-only loops, in start order. One line per loop. */
export function leaderLoops(ctx: LeaderContext): LeaderLoop[] {
  return [
    new NetworkSync(ctx),
    new TenantNetworkSync(ctx),
    new SwitchExposer(ctx),
    new ClaimReleaser(ctx, nbReservations(ctx.nbClient)),
    new DeadNodeReleaser(ctx, nbNodeAttachments(ctx.nbClient, ctx.nbFlags, ctx.log), ctx.deadNodeGraceMs),
    policyEnforcer(ctx),
    new AddressAlerts(ctx),
    new IpPoolReporter(ctx),
  ];
}

/** Starts every loop on leadership, stops them all on its loss (a loop that throws is logged, the others go on). */
export class LoopRunner {
  readonly #loops: readonly LeaderLoop[];
  readonly #log: Logger;
  #abort: AbortController | undefined;

  constructor(loops: readonly LeaderLoop[], log: Logger) {
    this.#loops = loops;
    this.#log = log;
  }

  get running(): boolean {
    return this.#abort !== undefined;
  }

  start(): void {
    if (this.#abort !== undefined) return;
    this.#abort = new AbortController();
    for (const loop of this.#loops) {
      try {
        loop.start(this.#abort.signal);
        this.#log.info({ loop: loop.name }, 'leader loop started');
      } catch (err) {
        this.#log.error({ err, loop: loop.name }, 'leader loop did not start');
      }
    }
  }

  async stop(): Promise<void> {
    if (this.#abort === undefined) return;
    this.#abort.abort();
    this.#abort = undefined;
    await Promise.all(
      this.#loops.map(async (loop) => {
        try {
          await loop.stop();
          this.#log.info({ loop: loop.name }, 'leader loop stopped');
        } catch (err) {
          this.#log.error({ err, loop: loop.name }, 'leader loop did not stop cleanly');
        }
      }),
    );
  }
}
