/**
 * The daemon's NB monitor selection after 1,000 ADDs naming logical switches that do not exist,
 * in-process with the daemon's own NbScope and NB client against the sandbox's NB: each ADD
 * holds its name and serves it, as the handler and the ADD's switch lookup do (the lookup then
 * finds no switch: code 7). Baseline, in the same run: the same scope with shrinking off, which
 * keeps every name ever asked for (the daemon before it shrank its selection). The figure is the
 * number of clauses in the monitor conditions the NB holds for this node, before and after.
 */
import { modelClient } from '../daemon/ovsdb/client.ts';
import { nbModel } from '../daemon/ovsdb/models/nb.ts';
import { NB_MONITOR } from '../daemon/ovn/nb.ts';
import { NbScope, type ScopeOptions } from '../daemon/ovn/scope.ts';
import type { Teardown } from '../test/helpers/netns.ts';
import { sleep } from './clock.ts';

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

/** ADDs naming missing switches, and how many run at once. */
export const MISSING_SWITCHES = 1000;
const AT_ONCE = 100;
/** How long the candidate may take to shrink back (its sweep runs every second). */
const SHRINK_LIMIT_MS = 5000;

export interface SelectionRun {
  /** Clauses before the ADDs (this node's own port clauses). */
  base: number;
  /** Clauses once the ADDs are done and `settledMs` has passed. */
  after: number;
  /** From the last ADD's end to `after`. */
  settledMs: number;
}

export interface SelectionFigures {
  baseline: SelectionRun;
  candidate: SelectionRun;
}

/** A scope of its own (a node name no port has), `MISSING_SWITCHES` ADDs, then its size once settled. */
async function selectionRun(cleanup: Teardown, remote: string, options: ScopeOptions, settle: (scope: NbScope, base: number) => Promise<void>): Promise<SelectionRun> {
  const scope = new NbScope(`omb-selection-${options.shrink === false ? 'kept' : 'shrunk'}`, undefined, options);
  const nb = modelClient(nbModel, NB_MONITOR, { remotes: [remote], conditions: scope.conditions });
  scope.attach(nb);
  nb.start();
  cleanup.teardown(() => nb.close());
  await nb.waitConnected(signal());
  const base = scope.size;
  const names = Array.from({ length: MISSING_SWITCHES }, (_, i) => `omb-missing-${i}`);
  for (let i = 0; i < names.length; i += AT_ONCE) {
    await Promise.all(names.slice(i, i + AT_ONCE).map((name) => scope.holding(name, () => scope.serve(name, signal()))));
  }
  const done = performance.now();
  await settle(scope, base);
  const settledMs = performance.now() - done;
  await nb.close();
  return { base, after: scope.size, settledMs };
}

/** The candidate first (until it is back to its base size, at most SHRINK_LIMIT_MS), then the baseline given as long. */
export async function selectionBench(cleanup: Teardown, remote: string): Promise<SelectionFigures> {
  const candidate = await selectionRun(cleanup, remote, {}, async (scope, base) => {
    const until = performance.now() + SHRINK_LIMIT_MS;
    while (performance.now() < until && scope.size !== base) await sleep(20);
  });
  return { candidate, baseline: await selectionRun(cleanup, remote, { shrink: false }, () => sleep(candidate.settledMs)) };
}
