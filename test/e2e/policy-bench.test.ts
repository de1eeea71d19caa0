// The policy enforcement bench (npm run bench:policy, bench/policy.ts) in small: 40 pods and 10
// policies (2 policies × 20 pods for the comparison), 2 changes of each kind by each path, timed
// on the wire between the two real pods. Every change flips the traffic, the controller's rows
// are the shape's (a port group with 4 ACLs per policy, 2 address sets per peer, every selected
// pod a member), and every figure of the report is there. Speeds are printed, never asserted.
import t from 'tap';
import { e2eSkipReason } from '../helpers/node.ts';
import { POLICY_DEFAULTS, type PolicyConfig } from '../../bench/policy-config.ts';
import { expectedMembers } from '../../bench/policy-cluster.ts';
import { KINDS, PATHS } from '../../bench/policy-changes.ts';
import { renderPolicyReport } from '../../bench/policy-report.ts';
import { runPolicyBench } from '../../bench/policy-run.ts';

const skip = e2eSkipReason();
const cfg: PolicyConfig = { ...POLICY_DEFAULTS, pods: 40, policies: 10, changes: 2, smallPods: 20, smallPolicies: 2 };

t.test('bench:policy, reduced: 40 pods, 10 policies, 2 changes of each kind by each path', { skip }, async (t) => {
  const figures = await runPolicyBench(t, cfg, (msg) => t.comment(msg));
  t.same(figures.failures, [], 'every change flipped the traffic in time');
  t.equal(figures.samples.length, KINDS.length * PATHS.length * cfg.changes, 'one sample per kind, path and change');
  for (const kind of KINDS) {
    for (const path of PATHS) {
      const samples = figures.samples.filter((s) => s.kind === kind && s.path === path);
      t.same(samples.map((s) => s.direction), ['allow', 'deny'], `${kind} by ${path}: allowed, then denied`);
      t.ok(samples.every((s) => s.ms !== undefined && Number.isFinite(s.ms) && s.ms >= 0 && s.ms < cfg.timeoutMs), `${kind} by ${path}: timed`);
      if (path === 'controller') t.ok(samples.every((s) => s.rowsWrittenMs !== undefined && (s.operations ?? 0) > 0), `${kind}: the controller wrote rows for each change`);
      else t.ok(samples.every((s) => s.nbCommitMs !== undefined), `${kind}: the bench's NB transaction timed`);
    }
  }
  for (const [size, pods, policies] of [[figures.small, cfg.smallPods, cfg.smallPolicies], [figures.large, cfg.pods, cfg.policies]] as const) {
    t.same(
      { portGroups: size.nb.portGroups, addressSets: size.nb.addressSets, acls: size.nb.acls, members: size.nb.members, addresses: size.nb.addresses },
      { portGroups: policies, addressSets: 2 * policies, acls: 4 * policies, members: expectedMembers(pods, policies, true), addresses: pods - 2 },
      `${policies} policies × ${pods} pods: the NB rows of the shape`,
    );
    t.ok(size.rssKiB > 0 && size.apiPodBytes > 0 && size.apiPolicyBytes > 0, 'memory and API sizes read');
  }
  t.equal(figures.pass.pass.n, 20, 'the pass timed 20 times');
  t.same([figures.pass.portGroups, figures.pass.addressSets], [cfg.policies, 2 * cfg.policies], 'the in-process plan is the one the controller wrote');
  const report = renderPolicyReport({ cfg, startedAt: new Date().toISOString(), seconds: 1, loadBefore: [0, 0, 0], loadAfter: [0, 0, 0], build: 'test', figures, failures: [] });
  t.match(report, /\| policy change .*\| 2\/2 \|.*\| 2\/2 \|/, 'the report holds the policy changes of both paths');
  t.match(report, /\| Port_Group rows \| 2 \| 10 \| 5\.00× \|/, 'and the row counts with their ratio');
  t.comment(report);
});
