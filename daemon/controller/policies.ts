/**
 * The MultiNetworkPolicy loop (leader only): on every change of policies, pods, namespaces or NADs
 * (the controller's caches), of ovn-multinet's ports or of its own policy rows in the NB, and
 * every resync, one pass:
 *
 *   parse every policy (an invalid one is reported, not planned)
 *   → plan the NB rows (daemon/policy/plan.ts, pure) from the policies, pods, namespaces, the NADs
 *     they name and the ports the NB holds (daemon/policy/attachments.ts)
 *   → write the differences (daemon/policy/nb-sync.ts)
 *   → hand every policy's report to the status/Events writer.
 *
 * A starting leader's first pass reconciles whatever it finds: rows of deleted policies go. Nothing
 * is written before every cache has its first list and the NB has been read (a late list must not
 * look like a deleted policy). A port a plan names that the NB does not hold yet makes the pass
 * retry; its arrival (a monitored change) wakes it sooner.
 *
 * The parse, plan and report steps and the policy caches come in through PolicySteps and
 * PolicySources, so the pass itself (`planPass`, pure) is tested without them.
 */
import { isObject } from '../cni-spec/json.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { attachmentsFromNb } from '../policy/attachments.ts';
import type { NadRef, NadTarget, PlanInput, Policy, PolicyAttachment, PolicyNamespace, PolicyPlan, PolicyPod, PolicyReport } from '../policy/model.ts';
import { syncPolicyRows } from '../policy/nb-sync.ts';
import type { LeaderContext } from './context.ts';
import { ReconcileLoop, type PassResult } from './trigger.ts';

/** What the loop reads of the cluster (the controller's caches). */
export interface PolicySources {
  /** Whether every cache the pass reads has its first list. */
  readonly synced: boolean;
  /** The MultiNetworkPolicy objects, as listed. */
  policies(): readonly unknown[];
  pods(): readonly PolicyPod[];
  namespaces(): readonly PolicyNamespace[];
  /** What a NAD named by `policy-for` is (from the NAD cache). */
  nadTarget(ref: NadRef): NadTarget;
  /** Calls `listener` when policies or pods change (namespaces and NADs wake every loop already); returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** The steps of a pass that other modules own. */
export interface PolicySteps {
  /** parse.ts parsePolicy: throws (an error `isSpecError` accepts) for an invalid policy. */
  parse(raw: unknown): Policy;
  isSpecError(err: unknown): boolean;
  /** plan.ts planPolicies. */
  plan(input: PlanInput): PolicyPlan;
  /** policy-status.ts PolicyReporter.report: status conditions and Events. */
  report(reports: readonly PolicyReport[], signal: AbortSignal): Promise<unknown>;
}

/** The tables whose changes wake the loop: ovn-multinet's ports and its own policy rows. */
const WATCHED: ReadonlySet<string> = new Set([NbTable.Logical_Switch_Port, NbTable.Port_Group, NbTable.Address_Set, NbTable.ACL]);

/** The report of a policy that does not parse: its identity from the raw object's metadata. */
function invalidReport(raw: unknown, err: unknown): PolicyReport {
  const meta = isObject(raw) && isObject(raw['metadata']) ? raw['metadata'] : {};
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const generation = meta['generation'];
  return {
    namespace: text(meta['namespace']),
    name: text(meta['name']),
    uid: text(meta['uid']),
    generation: typeof generation === 'number' ? generation : 0,
    enforced: false,
    problems: [`invalid spec: ${err instanceof Error ? err.message : String(err)}`],
  };
}

export interface PassInput {
  raw: readonly unknown[];
  pods: readonly PolicyPod[];
  namespaces: readonly PolicyNamespace[];
  attachments: readonly PolicyAttachment[];
  nadTarget: (ref: NadRef) => NadTarget;
}

/**
 * One pass's plan (pure): the policies parsed, an invalid one reported and left out of the plan
 * (so its rows go, as a deleted policy's), every report in one list. An error the parse step does
 * not call a spec error is a bug and is thrown.
 */
export function planPass(input: PassInput, steps: Pick<PolicySteps, 'parse' | 'isSpecError' | 'plan'>): { plan: PolicyPlan; reports: PolicyReport[] } {
  const policies: Policy[] = [];
  const invalid: PolicyReport[] = [];
  for (const raw of input.raw) {
    try {
      policies.push(steps.parse(raw));
    } catch (err) {
      if (!steps.isSpecError(err)) throw err;
      invalid.push(invalidReport(raw, err));
    }
  }
  const plan = steps.plan({ policies, pods: input.pods, namespaces: input.namespaces, attachments: input.attachments, nadTarget: input.nadTarget });
  return { plan, reports: [...invalid, ...plan.reports] };
}

export class PolicyEnforcer extends ReconcileLoop {
  readonly #sources: PolicySources;
  readonly #steps: PolicySteps;
  #offs: Array<() => void> = [];

  constructor(ctx: LeaderContext, sources: PolicySources, steps: PolicySteps) {
    super(ctx, 'policy-enforce');
    this.#sources = sources;
    this.#steps = steps;
  }

  override start(signal: AbortSignal): void {
    const cache = this.ctx.nbClient.cache;
    const onRow = (change: { table: string }): void => {
      if (WATCHED.has(change.table)) this.schedule();
    };
    cache.on('change', onRow);
    this.#offs = [() => cache.off('change', onRow), this.#sources.onChange(() => this.schedule())];
    super.start(signal);
  }

  override async stop(): Promise<void> {
    for (const off of this.#offs) off();
    this.#offs = [];
    await super.stop();
  }

  protected async pass(signal: AbortSignal): Promise<PassResult> {
    const { nb, nbClient } = this.ctx;
    // The first lists and the NB's (re)connection wake the trigger again.
    if (!this.#sources.synced || !nb.ready || !nbClient.connected) return 'done';
    const sources = this.#sources;
    const { plan, reports } = planPass(
      { raw: sources.policies(), pods: sources.pods(), namespaces: sources.namespaces(), attachments: attachmentsFromNb(nbClient), nadTarget: (ref) => sources.nadTarget(ref) },
      this.#steps,
    );
    const synced = await syncPolicyRows(nbClient, plan, signal);
    if (synced.operations > 0) this.log.info({ transactions: synced.transactions, operations: synced.operations, portGroups: plan.portGroups.size, addressSets: plan.addressSets.size }, 'policy rows written');
    for (const failure of synced.failures) this.log.warn({ failure }, 'policy rows refused by the NB');
    if (synced.missingPorts.length > 0) this.log.debug({ missingPorts: synced.missingPorts.slice(0, 10), count: synced.missingPorts.length }, 'ports not in the NB yet');
    await this.#steps.report(reports, signal);
    return synced.retry ? 'retry' : 'done';
  }
}
