// The pure parts of the policy loop (daemon/controller/policies.ts planPass) and of reading
// attachments from the NB (daemon/policy/attachments.ts toAttachment): invalid policies reported
// and left out of the plan, any other parse failure thrown; a port's pods, IPs and mode.
import t from 'tap';
import { planPass, type PolicySteps } from '../../daemon/controller/policies.ts';
import { toAttachment } from '../../daemon/policy/attachments.ts';
import { asTargetIds, OWNER_VALUE, OwnerKeys } from '../../daemon/ovn/ids.ts';
import type { PlanInput, Policy } from '../../daemon/policy/model.ts';

/** Stands for parse.ts's PolicySpecError. */
class InvalidSpec extends Error {}

const policy = (name: string): Policy => ({ namespace: 'ns', name, uid: `uid-${name}`, generation: 2, networks: [], podSelector: { matchLabels: new Map(), matchExpressions: [] }, policyTypes: ['ingress'], ingress: [], egress: [] });

t.test('planPass', async (t) => {
  const planned: PlanInput[] = [];
  const steps: Pick<PolicySteps, 'parse' | 'isSpecError' | 'plan'> = {
    parse: (raw) => {
      if (typeof raw !== 'object') throw new InvalidSpec('metadata: missing');
      const name = (raw as { metadata: { name: string } }).metadata.name;
      if (name === 'bad') throw new InvalidSpec('spec.ingress[0].ports[0].port: 0 is not a port');
      if (name === 'bug') throw new TypeError('a bug');
      return policy(name);
    },
    isSpecError: (err) => err instanceof InvalidSpec,
    plan: (input) => {
      planned.push(input);
      return { portGroups: new Map(), addressSets: new Map(), reports: input.policies.map((p) => ({ namespace: p.namespace, name: p.name, uid: p.uid, generation: p.generation, enforced: true, problems: [] })) };
    },
  };
  const input = { pods: [], namespaces: [], attachments: [], nadTarget: () => ({ kind: 'missing' }) as const };
  const { reports } = planPass({ ...input, raw: [{ metadata: { name: 'good' } }, { metadata: { namespace: 'ns', name: 'bad', uid: 'u-bad', generation: 7 } }, 'not an object'] }, steps);
  t.same(planned.at(-1)?.policies.map((p) => p.name), ['good'], 'only the valid policy is planned');
  t.same(reports, [
    { namespace: 'ns', name: 'bad', uid: 'u-bad', generation: 7, enforced: false, problems: ['invalid spec: spec.ingress[0].ports[0].port: 0 is not a port'] },
    { namespace: '', name: '', uid: '', generation: 0, enforced: false, problems: ['invalid spec: metadata: missing'] },
    { namespace: 'ns', name: 'good', uid: 'uid-good', generation: 2, enforced: true, problems: [] },
  ], "the invalid ones reported with what identity they have and why, then the plan's reports");
  t.throws(() => planPass({ ...input, raw: [{ metadata: { name: 'bug' } }] }, steps), TypeError, 'an error that is not a spec error is thrown');
});

t.test('toAttachment', async (t) => {
  const owner = new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.podNamespace, 'ns'], [OwnerKeys.podName, 'p'], [OwnerKeys.podUid, 'u']]);
  t.same(toAttachment('lsp', 'blue', ['0a:58:0a:00:00:01 10.0.0.1 fd00::1/64 10.0.0.1'], owner), { port: 'lsp', switchName: 'blue', pods: [{ namespace: 'ns', name: 'p', uid: 'u' }], ips: ['10.0.0.1', 'fd00::1'], ipamOnly: false }, 'IPs without prefix length, once each');
  t.equal(toAttachment('lsp', 'blue', [], new Map([...owner, [OwnerKeys.owner, 'someone']])), undefined, 'not ours: none');
  t.equal(toAttachment('lsp', 'blue', [], new Map([[OwnerKeys.owner, OWNER_VALUE]])), undefined, 'no pod recorded: none');
  const noUid = new Map(owner);
  noUid.delete(OwnerKeys.podUid);
  t.same(toAttachment('lsp', 'blue', [], noUid)?.pods, [{ namespace: 'ns', name: 'p', uid: '' }], 'no uid recorded: matched by namespace and name');
  t.same(toAttachment('lsp', 'blue', [], new Map([...owner, ...asTargetIds(owner)]))?.pods.length, 1, 'a target that is the same pod: once');
  const target = asTargetIds(new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.podNamespace, 'ns'], [OwnerKeys.podName, 'q'], [OwnerKeys.podUid, 'v']]));
  t.same(toAttachment('lsp', 'blue', [], new Map([...owner, ...target]))?.pods, [{ namespace: 'ns', name: 'p', uid: 'u' }, { namespace: 'ns', name: 'q', uid: 'v' }], 'a migration target: both pods');
  t.same(toAttachment('lsp', 'blue', ['0a:58:0a:00:00:01 10.0.0.9'], new Map([...owner, [OwnerKeys.ipamOnly, '10.0.0.2 fd00::2']])), { port: 'lsp', switchName: 'blue', pods: [{ namespace: 'ns', name: 'p', uid: 'u' }], ips: ['10.0.0.2', 'fd00::2'], ipamOnly: true }, 'IPAM mode: the IPs its record holds');
});
