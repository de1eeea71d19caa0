/**
 * The controller's policy pass without its writes, in the bench's own process: what one pass
 * costs the controller's CPU at the bench's size. A client with the controller's own NB monitor
 * (daemon/ovn/exposed.ts: ovn-multinet's ports and policy rows) and the API server's pods and
 * MultiNetworkPolicies as listed; each repetition reads the attachments from that cache
 * (attachmentsFromNb) and runs the loop's pure step (planPass: parse every policy, plan every
 * row), as PolicyEnforcer.pass does before it diffs and writes.
 */
import { modelClient } from '../daemon/ovsdb/client.ts';
import { nbModel } from '../daemon/ovsdb/models/nb.ts';
import { CONTROLLER_NB_MONITOR, CONTROLLER_NB_SELECTION, type ControllerNbClient } from '../daemon/ovn/exposed.ts';
import { attachmentsFromNb } from '../daemon/policy/attachments.ts';
import { planPass } from '../daemon/controller/policies.ts';
import { toPolicyPod } from '../daemon/controller/policy-caches.ts';
import { parsePolicy } from '../daemon/policy/parse.ts';
import { planPolicies } from '../daemon/policy/plan.ts';
import { PolicySpecError } from '../daemon/errors.ts';
import type { PolicyPod } from '../daemon/policy/model.ts';
import type { Teardown } from '../test/helpers/netns.ts';
import { NAMESPACE, SWITCH, type PolicyCluster } from './policy-cluster.ts';
import { elapsedMs, stamp } from './clock.ts';
import { summarize, type Summary } from './stats.ts';

export interface PassFigures {
  /** attachmentsFromNb + planPass, ms. */
  readonly pass: Summary;
  /** Rows the plan holds (a check that it is the plan the controller wrote). */
  readonly portGroups: number;
  readonly addressSets: number;
}

export async function timePass(t: Teardown, c: PolicyCluster, repetitions: number): Promise<PassFigures> {
  const nb: ControllerNbClient = modelClient(nbModel, CONTROLLER_NB_MONITOR, { remotes: [c.node.env.NB_DB], ...CONTROLLER_NB_SELECTION });
  t.teardown(() => nb.close());
  nb.start();
  await nb.waitConnected(AbortSignal.timeout(60_000));
  const raw = await c.api.list('multi-networkpolicies');
  const pods = (await c.api.list('pods')).map(toPolicyPod).filter((p): p is PolicyPod => p !== undefined);
  const steps = { parse: parsePolicy, isSpecError: (err: unknown) => err instanceof PolicySpecError, plan: planPolicies };
  const ms: number[] = [];
  let last;
  for (let i = 0; i < repetitions; i++) {
    const start = stamp();
    last = planPass({ raw, pods, namespaces: [{ name: NAMESPACE, labels: new Map() }], attachments: attachmentsFromNb(nb), nadTarget: () => ({ kind: 'switch', switchName: SWITCH }) }, steps);
    ms.push(elapsedMs(start, stamp()));
  }
  return { pass: summarize(ms), portGroups: last?.plan.portGroups.size ?? 0, addressSets: last?.plan.addressSets.size ?? 0 };
}
