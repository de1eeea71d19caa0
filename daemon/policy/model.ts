/**
 * MultiNetworkPolicy enforcement, the shapes its three steps hand each other:
 *
 *   parse.ts   a MultiNetworkPolicy object (k8s.cni.cncf.io) → Policy (validated, normalised)
 *   plan.ts    Policies + pods + namespaces + the NB's attachments → PolicyPlan (pure: wanted NB rows)
 *   nb-sync.ts PolicyPlan → NB transaction against what ovn-multinet owns there (Port_Group,
 *              Address_Set, ACL rows marked in external_ids), nothing else touched
 *
 * The controller's leader loop (daemon/controller/policies.ts) feeds plan.ts from its caches and
 * writes the plan and the reports (status conditions, Events).
 */
import type { LabelSelector } from '../k8s/labels.ts';

export type PolicyDirection = 'ingress' | 'egress';
export const POLICY_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type PolicyProtocol = (typeof POLICY_PROTOCOLS)[number];

export function isPolicyProtocol(value: unknown): value is PolicyProtocol {
  return typeof value === 'string' && (POLICY_PROTOCOLS as readonly string[]).includes(value);
}

/** A NetworkAttachmentDefinition named by `k8s.v1.cni.cncf.io/policy-for` (a bare name is in the policy's namespace). */
export interface NadRef {
  namespace: string;
  name: string;
}

export interface IpBlock {
  /** A CIDR as written (IPv4 or IPv6), validated. */
  cidr: string;
  /** CIDRs inside `cidr`, validated, same family. */
  except: readonly string[];
}

/** One element of a rule's `from`/`to`: exactly the NetworkPolicyPeer forms. */
export type PolicyPeer =
  /** podSelector alone: pods of the policy's namespace. */
  | { kind: 'pods'; podSelector: LabelSelector }
  /** namespaceSelector alone: every pod of the matching namespaces. */
  | { kind: 'namespaces'; namespaceSelector: LabelSelector }
  /** both: pods matching podSelector in namespaces matching namespaceSelector. */
  | { kind: 'pods-in-namespaces'; podSelector: LabelSelector; namespaceSelector: LabelSelector }
  | { kind: 'ipBlock'; ipBlock: IpBlock };

export interface PolicyPort {
  protocol: PolicyProtocol;
  /** undefined: every port of `protocol`; a number 1-65535; a string: a container port name (IANA_SVC_NAME). */
  port: number | string | undefined;
  /** Only with a numeric `port`: the range's end, >= port. */
  endPort: number | undefined;
}

export interface PolicyRule {
  /** 'any': `from`/`to` absent or empty (every peer). */
  peers: readonly PolicyPeer[] | 'any';
  /** 'any': `ports` absent or empty (every port and protocol). */
  ports: readonly PolicyPort[] | 'any';
}

export interface Policy {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** The networks it applies to, from `policy-for`, in order, without duplicates. */
  networks: readonly NadRef[];
  /** spec.podSelector, in the policy's namespace (`{}` selects every pod there). */
  podSelector: LabelSelector;
  /** As NetworkPolicy: Ingress always, Egress when written or when egress rules exist, unless spec.policyTypes says. */
  policyTypes: readonly PolicyDirection[];
  ingress: readonly PolicyRule[];
  egress: readonly PolicyRule[];
}

/** A pod as the plan needs it (from the controller's pod cache). */
export interface PolicyPod {
  namespace: string;
  name: string;
  uid: string;
  labels: ReadonlyMap<string, string>;
  /** Named container ports: name → protocol and number (spec.containers[].ports[] with a name). */
  namedPorts: ReadonlyMap<string, { protocol: PolicyProtocol; port: number }>;
}

export interface PolicyNamespace {
  name: string;
  labels: ReadonlyMap<string, string>;
}

/** The pod identity an attachment records in the NB (ids.ts OwnerKeys pod-namespace/pod-name/pod-uid). */
export interface PodIdentity {
  namespace: string;
  name: string;
  uid: string;
}

/** One ovn-multinet logical switch port, as the NB holds it. */
export interface PolicyAttachment {
  /** The logical switch port's name (Port_Group.ports are resolved from it by nb-sync.ts). */
  port: string;
  switchName: string;
  /** The owner pod, then the migration target's pod while a live migration runs (both select the port). */
  pods: readonly PodIdentity[];
  /** The port's IPs (no prefix length): what address sets hold. Empty for a network without addresses. */
  ips: readonly string[];
  /** An IPAM-mode record (another plugin's interface): its traffic never crosses OVN. */
  ipamOnly: boolean;
}

/** What a NAD named by `policy-for` is, for policies (resolved by the controller from its NAD cache). */
export type NadTarget =
  | { kind: 'switch'; switchName: string }
  /** An ovn-multinet NAD in IPAM mode (`"ipam": {"type": "ovn-multinet"}` under another plugin). */
  | { kind: 'ipam-mode'; switchName: string }
  /** Another plugin's network: the policy is left alone for it. */
  | { kind: 'not-ours' }
  | { kind: 'missing' }
  | { kind: 'invalid'; why: string };

export type AclDirection = 'from-lport' | 'to-lport';
export type AclAction = 'allow' | 'allow-related' | 'drop';

/** An ACL the plan wants on a port group. `key` is unique within its port group and kept in external_ids. */
export interface WantedAcl {
  key: string;
  direction: AclDirection;
  priority: number;
  match: string;
  action: AclAction;
}

export interface WantedPortGroup {
  /** A valid OVN port group name (`@name` in matches): [a-zA-Z_][a-zA-Z0-9_]*. */
  name: string;
  /** Logical switch port names. */
  ports: readonly string[];
  acls: readonly WantedAcl[];
  /** Besides the owner mark nb-sync.ts adds: the policy (ns/name) and the switch. */
  externalIds: ReadonlyMap<string, string>;
}

export interface WantedAddressSet {
  /** A valid OVN address set name (`$name` in matches). */
  name: string;
  addresses: readonly string[];
  externalIds: ReadonlyMap<string, string>;
}

/** What the controller says of one policy: on its status (condition Enforced) and as Events. */
export interface PolicyReport {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** True when every network it names is ovn-multinet's and fully enforced; false with problems. */
  enforced: boolean;
  /** One sentence each, naming the network and why (IPAM mode, no addresses, missing NAD, invalid spec). */
  problems: readonly string[];
}

export interface PolicyPlan {
  portGroups: ReadonlyMap<string, WantedPortGroup>;
  addressSets: ReadonlyMap<string, WantedAddressSet>;
  reports: readonly PolicyReport[];
}

/** plan.ts's input: `planPolicies(input: PlanInput): PolicyPlan`. */
export interface PlanInput {
  /** The policies that parsed (parse.ts); an invalid one is reported by the loop, not planned. */
  policies: readonly Policy[];
  pods: readonly PolicyPod[];
  namespaces: readonly PolicyNamespace[];
  /** Every ovn-multinet logical switch port with a pod identity, on any switch. */
  attachments: readonly PolicyAttachment[];
  nadTarget: (ref: NadRef) => NadTarget;
}
