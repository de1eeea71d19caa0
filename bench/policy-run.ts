/**
 * The policy bench's steps, shared by bench/policy.ts and its reduced test: the small scenario
 * (NB rows and memory only), then the large one, where the changes are timed on the wire.
 */
import type { Teardown } from '../test/helpers/netns.ts';
import { createCleanup } from './cleanup.ts';
import { footprint, startPolicyCluster } from './policy-cluster.ts';
import { createChanger, KINDS, PATHS, type ChangeSample, type Direction } from './policy-changes.ts';
import type { PolicyConfig } from './policy-config.ts';
import { timePass } from './policy-pass.ts';
import { startProber } from './policy-probe.ts';
import type { PolicyFigures } from './policy-report.ts';

export async function runPolicyBench(t: Teardown, cfg: PolicyConfig, progress: (msg: string) => void): Promise<PolicyFigures> {
  // The small scenario in its own sandbox, gone before the large one starts.
  const scoped = createCleanup();
  let errors: Error[] = [];
  let small;
  try {
    progress(`small scenario: ${cfg.smallPolicies} policies × ${cfg.smallPods} pods`);
    const c = await startPolicyCluster(scoped, { pods: cfg.smallPods, policies: cfg.smallPolicies, probes: true, progress });
    small = { footprint: await footprint(c), settleMs: c.settleMs };
  } finally {
    errors = await scoped.run();
  }
  if (errors.length > 0) throw new Error(`cleanup of the small scenario: ${errors.map((e) => e.message).join('; ')}`);

  progress(`large scenario: ${cfg.policies} policies × ${cfg.pods} pods`);
  const c = await startPolicyCluster(t, { pods: cfg.pods, policies: cfg.policies, probes: true, progress });
  const large = await footprint(c);
  const pass = await timePass(t, c, 20);
  progress(`one pass without its writes, in-process: p50 ${pass.pass.p50.toFixed(1)} ms (${pass.portGroups} port groups, ${pass.addressSets} address sets)`);
  if (c.server === undefined || c.client === undefined) throw new Error('no probe pods');
  const prober = await startProber(t, c.server, c.client, cfg.intervalMs);
  // Denied to begin with: no policy allows the client.
  const start = await prober.denied(Date.now(), cfg.quietMs, cfg.timeoutMs);
  if (start === undefined) throw new Error(`traffic passes before any change (${prober.received} datagrams arrived)`);
  const changer = await createChanger(c, prober, cfg);
  const samples: ChangeSample[] = [];
  const rounds = Math.ceil(cfg.changes / 2);
  const failures: string[] = [];
  rounds: for (let round = 0; round < rounds; round++) {
    for (const kind of KINDS) {
      // The paths take turns going first, so a change of load falls on both.
      const paths = round % 2 === 0 ? PATHS : [...PATHS].reverse();
      for (const path of paths) {
        for (const direction of ['allow', 'deny'] as const satisfies readonly Direction[]) {
          if (direction === 'deny' && 2 * round + 1 >= cfg.changes) continue;
          const sample = await changer.run(kind, path, direction);
          samples.push(sample);
          if (sample.ms === undefined) {
            // The state is unknown from here on: the changes stop, what was measured is reported.
            failures.push(`round ${round + 1}: ${kind} by ${path}: ${direction} not seen on the wire within ${cfg.timeoutMs} ms`);
            break rounds;
          }
        }
      }
    }
    const last = samples.slice(-2 * KINDS.length * PATHS.length).map((s) => `${s.kind}/${s.path}/${s.direction} ${s.ms?.toFixed(0) ?? '–'}`);
    progress(`round ${round + 1}/${rounds}: ${last.join(', ')} ms`);
  }
  return { samples, failures, pass, large, small: small.footprint, largeSettleMs: c.settleMs, smallSettleMs: small.settleMs };
}
