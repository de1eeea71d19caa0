/**
 * MultiNetworkPolicies → the NB rows that enforce them (pure: nb-sync.ts writes the result).
 *
 * Per policy and per logical switch its networks resolve to: one port group holding the selected
 * pods' ports on that switch, with the policy's ACLs on it; per peer selector and switch one
 * address set per family (shared by every policy with the same peer), holding only that switch's
 * addresses of the pods it selects; ipBlock peers inline. ACLs (priority band 2000-2003):
 *
 *   stateful     2000 to-lport  allow-related  never true: makes northd commit conntrack on the switch
 *   *-deny       2001           drop           default deny in each direction policyTypes name
 *   ingress-<i>  2002           allow-related  one per rule (egress-<i> likewise)
 *   always-*     2003           allow          ND, RS, RA both ways; DHCP requests out (replies: northd's own flows)
 *
 * A rule whose peers select nothing keeps its ACL (its address sets are empty), so pods that
 * appear later take effect by address-set updates alone. Everything comes out sorted, so the
 * plan of unchanged inputs is identical and nb-sync.ts diffs it cheaply.
 */
import { selectorMatches } from '../k8s/labels.ts';
import type { LabelSelector, SelectorRequirement } from '../k8s/labels.ts';
import { familyOf } from '../lib/ip.ts';
import { UnreachableError } from '../errors.ts';
import { PolicyKeys } from '../ovn/ids.ts';
import { hashOf } from '../ovn/managed.ts';
import { allOf, anyOf, inSet, ipBlockMatch, ipField, NOTHING, portRange, protocolName, quote } from './match.ts';
import type {
  NadRef,
  PlanInput,
  Policy,
  PolicyAttachment,
  PolicyDirection,
  PolicyPeer,
  PolicyPlan,
  PolicyPod,
  PolicyPort,
  PolicyProtocol,
  PolicyReport,
  PolicyRule,
  WantedAcl,
  WantedAddressSet,
  WantedPortGroup,
} from './model.ts';

/** The ACLs' priority band (stateful, default deny, allow rules, always allowed). */
export const POLICY_PRIORITY = { stateful: 2000, deny: 2001, allow: 2002, always: 2003 } as const;

/** At most this many problems are listed on a policy; the rest are counted ("and N more"). */
export const MAX_PROBLEMS = 10;

/** Port group of a policy on a switch: `omn_pg_<16 hex>`. */
export function portGroupName(namespace: string, name: string, switchName: string): string {
  return `omn_pg_${hashOf(`${namespace}/${name}/${switchName}`)}`;
}

/** Address set of a peer (its canonical key) on a switch, one per family: `omn_as_<16 hex>_v4`. */
export function addressSetName(peerKey: string, switchName: string, family: 4 | 6): string {
  return `omn_as_${hashOf(`${peerKey}\n${switchName}`)}_v${family}`;
}

/**
 * A selector in kubectl's words, canonical (sorted, values sorted and unique), wrapped in braces:
 * `{app=web,env in (a,b),!legacy,tier}`. Label keys and values hold no space, brace or comma, so
 * keys built from these are unambiguous.
 */
export function selectorKey(selector: LabelSelector): string {
  const parts = [...selector.matchLabels].map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions) parts.push(requirementKey(r));
  return `{${[...new Set(parts)].sort().join(',')}}`;
}

function requirementKey(r: SelectorRequirement): string {
  const values = [...new Set(r.values)].sort().join(',');
  switch (r.operator) {
    case 'In':
      return `${r.key} in (${values})`;
    case 'NotIn':
      return `${r.key} notin (${values})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    default: {
      const never: never = r.operator;
      throw new UnreachableError(`unknown operator ${JSON.stringify(never)}`);
    }
  }
}

type SelectorPeer = Exclude<PolicyPeer, { kind: 'ipBlock' }>;

/** The canonical key of a selector peer: identical peers of different policies share their address sets. */
export function peerKey(peer: SelectorPeer, policyNamespace: string): string {
  switch (peer.kind) {
    case 'pods':
      return `pods ns=${policyNamespace} ${selectorKey(peer.podSelector)}`;
    case 'namespaces':
      return `namespaces ${selectorKey(peer.namespaceSelector)}`;
    case 'pods-in-namespaces':
      return `pods-in-namespaces ${selectorKey(peer.namespaceSelector)} ${selectorKey(peer.podSelector)}`;
    default: {
      const never: never = peer;
      throw new UnreachableError(`unknown peer ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Into a selected pod, ND only: replies of OVN's own DHCP server pass by ovn-northd's flows on a
 * stateful switch (matched on the server's MAC and address), so a port pair allowed here would
 * only let any pod send to the pods' DHCP clients. Out of it, the DHCP requests, which meet the
 * ACLs before OVN's DHCP stage.
 */
const ALWAYS_IN = anyOf(['nd', 'nd_rs', 'nd_ra']);
const ALWAYS_OUT = anyOf(['nd', 'nd_rs', 'nd_ra', '(udp.src == 68 && udp.dst == 67)', '(udp.src == 546 && udp.dst == 547)']);

/** An attachment with the pods its identities name (uids checked), as the plan sees it. */
interface Port {
  attachment: PolicyAttachment;
  pods: readonly PolicyPod[];
}

const EMPTY_LABELS: ReadonlyMap<string, string> = new Map();

/** The input, indexed once for every policy. */
class Indexes {
  readonly #portsBySwitch = new Map<string, Port[]>();
  readonly #namespaceLabels = new Map<string, ReadonlyMap<string, string>>();
  readonly #peerPorts = new Map<string, readonly Port[]>();

  constructor(input: PlanInput) {
    const pods = new Map<string, PolicyPod>();
    for (const pod of input.pods) pods.set(`${pod.namespace}/${pod.name}`, pod);
    for (const ns of input.namespaces) this.#namespaceLabels.set(ns.name, ns.labels);
    for (const attachment of input.attachments) {
      const matched: PolicyPod[] = [];
      for (const id of attachment.pods) {
        const pod = pods.get(`${id.namespace}/${id.name}`);
        // A recreated pod of the same name is another pod: it does not inherit the old one's port.
        if (pod !== undefined && (id.uid === '' || id.uid === pod.uid) && !matched.includes(pod)) matched.push(pod);
      }
      if (matched.length === 0) continue;
      let list = this.#portsBySwitch.get(attachment.switchName);
      if (list === undefined) this.#portsBySwitch.set(attachment.switchName, (list = []));
      list.push({ attachment, pods: matched });
    }
    for (const list of this.#portsBySwitch.values()) list.sort((a, b) => compare(a.attachment.port, b.attachment.port));
  }

  namespaceLabels(namespace: string): ReadonlyMap<string, string> {
    return this.#namespaceLabels.get(namespace) ?? EMPTY_LABELS;
  }

  ports(switchName: string): readonly Port[] {
    return this.#portsBySwitch.get(switchName) ?? [];
  }

  /** The ports on `switchName` of the pods `peer` selects, sorted by port name; computed once per peer and switch. */
  peerPorts(peer: SelectorPeer, policyNamespace: string, switchName: string): readonly Port[] {
    const key = `${peerKey(peer, policyNamespace)}\n${switchName}`;
    let ports = this.#peerPorts.get(key);
    if (ports === undefined) {
      ports = this.ports(switchName).filter((p) => p.pods.some((pod) => this.#peerMatches(peer, policyNamespace, pod)));
      this.#peerPorts.set(key, ports);
    }
    return ports;
  }

  #peerMatches(peer: SelectorPeer, policyNamespace: string, pod: PolicyPod): boolean {
    switch (peer.kind) {
      case 'pods':
        return pod.namespace === policyNamespace && selectorMatches(peer.podSelector, pod.labels);
      case 'namespaces':
        return selectorMatches(peer.namespaceSelector, this.namespaceLabels(pod.namespace));
      case 'pods-in-namespaces':
        return selectorMatches(peer.namespaceSelector, this.namespaceLabels(pod.namespace)) && selectorMatches(peer.podSelector, pod.labels);
      default: {
        const never: never = peer;
        throw new UnreachableError(`unknown peer ${JSON.stringify(never)}`);
      }
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compare);
}

/** A port's usable IPs split by family (an IPAM-mode record's never cross OVN: none). */
function ipsByFamily(ports: Iterable<Port>): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const { attachment } of ports) {
    if (attachment.ipamOnly) continue;
    for (const ip of attachment.ips) {
      const family = familyOf(ip);
      if (family === 4) v4.push(ip);
      else if (family === 6) v6.push(ip);
    }
  }
  return { v4: sortedUnique(v4), v6: sortedUnique(v6) };
}

/** `ip4.dst == {...} || ip6.dst == {...}` of some ports as an atom (NOTHING without addresses). */
function addressesOf(ports: Iterable<Port>, side: 'src' | 'dst'): string {
  const { v4, v6 } = ipsByFamily(ports);
  return anyOf([inSet(ipField(4, side), v4), inSet(ipField(6, side), v6)].filter((atom) => atom !== NOTHING));
}

/** Whether `policy` selects `pod` (spec.podSelector, in the policy's namespace). */
function selects(policy: Policy, pod: PolicyPod): boolean {
  return pod.namespace === policy.namespace && selectorMatches(policy.podSelector, pod.labels);
}

/** Builds the plan of one (policy, switch) into the shared maps. */
class SwitchPlanner {
  readonly #idx: Indexes;
  readonly #addressSets: Map<string, WantedAddressSet>;
  readonly #policy: Policy;
  readonly #switchName: string;
  readonly #network: string;
  readonly #problems: string[];
  readonly #selected: readonly Port[];

  constructor(idx: Indexes, addressSets: Map<string, WantedAddressSet>, policy: Policy, switchName: string, network: string, problems: string[]) {
    this.#idx = idx;
    this.#addressSets = addressSets;
    this.#policy = policy;
    this.#switchName = switchName;
    this.#network = network;
    this.#problems = problems;
    this.#selected = idx.ports(switchName).filter((p) => p.pods.some((pod) => selects(policy, pod)));
  }

  portGroup(): WantedPortGroup {
    const policy = this.#policy;
    const name = portGroupName(policy.namespace, policy.name, this.#switchName);
    const ports: string[] = [];
    for (const { attachment, pods } of this.#selected) {
      const pod = pods.find((p) => selects(policy, p)) ?? pods[0];
      const who = `port ${attachment.port} of pod ${pod?.namespace ?? ''}/${pod?.name ?? ''} on network ${this.#network}`;
      if (attachment.ipamOnly) {
        this.#problems.push(`${who} is in IPAM mode: its traffic never crosses OVN`);
        continue;
      }
      if (attachment.ips.length === 0) this.#problems.push(`${who} has no addresses: only ipBlock peers apply`);
      ports.push(attachment.port);
    }
    const pg = `@${name}`;
    const acls: WantedAcl[] = [
      { key: 'stateful', direction: 'to-lport', priority: POLICY_PRIORITY.stateful, match: `outport == ${pg} && ip4 && ip6`, action: 'allow-related' },
    ];
    if (policy.policyTypes.includes('ingress')) {
      acls.push(
        { key: 'ingress-deny', direction: 'to-lport', priority: POLICY_PRIORITY.deny, match: `outport == ${pg} && ip`, action: 'drop' },
        { key: 'always-in', direction: 'to-lport', priority: POLICY_PRIORITY.always, match: `outport == ${pg} && ${ALWAYS_IN}`, action: 'allow' },
      );
      policy.ingress.forEach((rule, i) => acls.push(this.#ruleAcl('ingress', i, `outport == ${pg}`, rule)));
    }
    if (policy.policyTypes.includes('egress')) {
      acls.push(
        { key: 'egress-deny', direction: 'from-lport', priority: POLICY_PRIORITY.deny, match: `inport == ${pg} && ip`, action: 'drop' },
        { key: 'always-out', direction: 'from-lport', priority: POLICY_PRIORITY.always, match: `inport == ${pg} && ${ALWAYS_OUT}`, action: 'allow' },
      );
      policy.egress.forEach((rule, i) => acls.push(this.#ruleAcl('egress', i, `inport == ${pg}`, rule)));
    }
    acls.sort((a, b) => compare(a.key, b.key));
    return {
      name,
      ports: sortedUnique(ports),
      acls,
      externalIds: new Map([
        [PolicyKeys.policy, `${policy.namespace}/${policy.name}`],
        [PolicyKeys.switchName, this.#switchName],
      ]),
    };
  }

  #ruleAcl(direction: PolicyDirection, index: number, port: string, rule: PolicyRule): WantedAcl {
    const side = direction === 'ingress' ? 'src' : 'dst';
    const clauses = [port, 'ip'];
    if (rule.peers !== 'any') clauses.push(anyOf(rule.peers.map((peer) => this.#peerMatch(peer, side))));
    if (rule.ports !== 'any') {
      clauses.push(anyOf(rule.ports.flatMap((p) => this.#portMatches(direction, p, rule.peers)).filter((atom) => atom !== NOTHING)));
    }
    return {
      key: `${direction}-${index}`,
      direction: direction === 'ingress' ? 'to-lport' : 'from-lport',
      priority: POLICY_PRIORITY.allow,
      match: clauses.join(' && '),
      action: 'allow-related',
    };
  }

  #peerMatch(peer: PolicyPeer, side: 'src' | 'dst'): string {
    if (peer.kind === 'ipBlock') return ipBlockMatch(peer.ipBlock.cidr, peer.ipBlock.except, side);
    const [v4, v6] = this.#addressSetsOf(peer);
    return `(${ipField(4, side)} == $${v4} || ${ipField(6, side)} == $${v6})`;
  }

  /** The peer's two address sets on this switch (made once, shared by every policy naming the same peer). */
  #addressSetsOf(peer: SelectorPeer): [string, string] {
    const key = peerKey(peer, this.#policy.namespace);
    const v4 = addressSetName(key, this.#switchName, 4);
    const v6 = addressSetName(key, this.#switchName, 6);
    if (!this.#addressSets.has(v4)) {
      const { v4: ips4, v6: ips6 } = ipsByFamily(this.#idx.peerPorts(peer, this.#policy.namespace, this.#switchName));
      const externalIds = new Map([
        [PolicyKeys.peer, key],
        [PolicyKeys.switchName, this.#switchName],
      ]);
      this.#addressSets.set(v4, { name: v4, addresses: ips4, externalIds });
      this.#addressSets.set(v6, { name: v6, addresses: ips6, externalIds });
    }
    return [v4, v6];
  }

  /**
   * One entry of `ports` as atoms. A named port resolves per pod: on ingress against the selected
   * pods (their ports, by name), on egress against the peer pods (their addresses); a name that
   * no pod has gives nothing.
   */
  #portMatches(direction: PolicyDirection, p: PolicyPort, peers: PolicyRule['peers']): string[] {
    if (p.port === undefined) return [protocolName(p.protocol)];
    if (typeof p.port === 'number') return [portRange(p.protocol, p.port, p.endPort)];
    const name = p.port;
    if (direction === 'ingress') {
      const inGroup = this.#selected.filter((port) => !port.attachment.ipamOnly);
      return [...resolveNamed(inGroup, name, p.protocol)].map(([number, ports]) => allOf([
        inSet('outport', sortedUnique(ports.map((port) => port.attachment.port)).map(quote)),
        portRange(p.protocol, number, undefined),
      ]));
    }
    return [...resolveNamed(this.#egressCandidates(peers), name, p.protocol)].flatMap(([number, ports]) => {
      const addresses = addressesOf(ports, 'dst');
      return addresses === NOTHING ? [] : [allOf([addresses, portRange(p.protocol, number, undefined)])];
    });
  }

  /**
   * The pods an egress named port resolves against: the peer pods when every peer is a selector;
   * with 'any' or an ipBlock peer every pod on the switch (the peer clause beside it narrows).
   */
  #egressCandidates(peers: PolicyRule['peers']): readonly Port[] {
    const all = this.#idx.ports(this.#switchName);
    if (peers === 'any' || peers.some((peer) => peer.kind === 'ipBlock')) return all;
    const selected = new Set<Port>();
    for (const peer of peers) if (peer.kind !== 'ipBlock') for (const port of this.#idx.peerPorts(peer, this.#policy.namespace, this.#switchName)) selected.add(port);
    return all.filter((port) => selected.has(port));
  }
}

/** Ports grouped by the number their pods' container port `name` of `protocol` resolves to, by number. */
function resolveNamed(ports: readonly Port[], name: string, protocol: PolicyProtocol): Map<number, Port[]> {
  const byNumber = new Map<number, Port[]>();
  for (const port of ports) {
    const numbers = new Set<number>();
    for (const pod of port.pods) {
      const named = pod.namedPorts.get(name);
      if (named?.protocol === protocol) numbers.add(named.port);
    }
    for (const number of numbers) {
      let list = byNumber.get(number);
      if (list === undefined) byNumber.set(number, (list = []));
      list.push(port);
    }
  }
  return new Map([...byNumber].sort(([a], [b]) => a - b));
}

function networkName(ref: NadRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Sorted, at most MAX_PROBLEMS listed and the rest counted. */
function boundedProblems(problems: readonly string[]): string[] {
  const sorted = sortedUnique(problems);
  if (sorted.length <= MAX_PROBLEMS) return sorted;
  return [...sorted.slice(0, MAX_PROBLEMS), `and ${sorted.length - MAX_PROBLEMS} more`];
}

export function planPolicies(input: PlanInput): PolicyPlan {
  const idx = new Indexes(input);
  const portGroups = new Map<string, WantedPortGroup>();
  const addressSets = new Map<string, WantedAddressSet>();
  const reports: PolicyReport[] = [];
  const policies = [...input.policies].sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
  for (const policy of policies) {
    const problems: string[] = [];
    const switches = new Set<string>();
    // A policy that names only other plugins' networks (or none) is left alone: no report either.
    let ours = false;
    for (const ref of policy.networks) {
      const network = networkName(ref);
      const target = input.nadTarget(ref);
      ours ||= target.kind !== 'not-ours';
      switch (target.kind) {
        case 'switch': {
          // Two names for one switch (ns/nad and a bare nad): one port group.
          if (switches.has(target.switchName)) break;
          switches.add(target.switchName);
          const pg = new SwitchPlanner(idx, addressSets, policy, target.switchName, network, problems).portGroup();
          portGroups.set(pg.name, pg);
          break;
        }
        case 'ipam-mode':
          problems.push(`network ${network}: IPAM-mode attachments are not enforced: their traffic never crosses OVN`);
          break;
        case 'missing':
          problems.push(`network ${network}: no such NetworkAttachmentDefinition`);
          break;
        case 'invalid':
          problems.push(`network ${network}: ${target.why}`);
          break;
        case 'not-ours':
          break;
        default: {
          const never: never = target;
          throw new UnreachableError(`unknown NAD target ${JSON.stringify(never)}`);
        }
      }
    }
    if (!ours) continue;
    const listed = boundedProblems(problems);
    reports.push({
      namespace: policy.namespace,
      name: policy.name,
      uid: policy.uid,
      generation: policy.generation,
      enforced: listed.length === 0,
      problems: listed,
    });
  }
  return {
    portGroups: new Map([...portGroups].sort(([a], [b]) => compare(a, b))),
    addressSets: new Map([...addressSets].sort(([a], [b]) => compare(a, b))),
    reports,
  };
}
