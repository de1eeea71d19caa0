/**
 * external_ids keys that mark what ovn-multinet owns, in the NB (logical switch ports) and in the
 * local Open_vSwitch DB (ports and interfaces on br-int). Prefixed so no other owner collides
 * (cf. ovn-kubernetes db_object_ids.go).
 */
const PREFIX = 'ovn-multinet/';

export const OwnerKeys = {
  owner: `${PREFIX}owner`,
  containerId: `${PREFIX}container-id`,
  ifName: `${PREFIX}ifname`,
  netns: `${PREFIX}netns`,
  node: `${PREFIX}node`,
  /**
   * The node's boot (/proc/sys/kernel/random/boot_id) when the attachment was made: under
   * another boot its pod is gone for sure (a reboot takes every network namespace).
   */
  bootId: `${PREFIX}boot-id`,
  network: `${PREFIX}network`,
  podNamespace: `${PREFIX}pod-namespace`,
  podName: `${PREFIX}pod-name`,
  podUid: `${PREFIX}pod-uid`,
  /** On ports attached for an IPAMClaim: its namespace/name (the addresses belong to the claim). */
  ipamClaim: `${PREFIX}ipam-claim`,
  /** On ports whose addresses came from an IPPool (daemon/k8s/ippools.ts): its name. */
  ipPool: `${PREFIX}ip-pool`,
  /**
   * The OVN chassis of the node (its Open_vSwitch external_ids:system-id) when the attachment
   * was made: what a live migration's `requested-chassis` names for it.
   */
  chassis: `${PREFIX}chassis`,
  /**
   * On the record of an IPAM-only attachment (another plugin's `"ipam": {"type": "ovn-multinet"}`,
   * daemon/attachments/ipam-add.ts): the IPs it holds, space-separated. Such a port has no
   * `addresses`, no port security and `enabled=false`, so OVN builds no ARP/ND responder and no
   * L2 lookup for it and leaves it out of the flood groups: forwarding on the switch is unchanged.
   */
  ipamOnly: `${PREFIX}ipam-only`,
  /**
   * On an IPAM-only record: the identity (`<st_dev>:<st_ino>` of the nsfs file) of the network
   * namespace CNI_NETNS named at ADD, so that a new namespace at a reused path (/proc/<pid>/ns/net
   * of a reused pid) does not pass for the pod's (daemon/attachments/liveness.ts).
   */
  netnsId: `${PREFIX}netns-id`,
  /** On logical switches ovn-multinet created: the network name, its definition and its hash. */
  managedNetwork: `${PREFIX}managed-network`,
  networkDefinition: `${PREFIX}network-definition`,
  networkHash: `${PREFIX}network-hash`,
} as const;

export const OWNER_VALUE = 'ovn-multinet';

/**
 * On the NB rows that enforce MultiNetworkPolicies (Port_Group, Address_Set, ACL; daemon/policy/),
 * beside `OwnerKeys.owner`: what each row is for, so a starting leader finds and reconciles them.
 */
export const PolicyKeys = {
  /** On port groups and their ACLs: the policy, `<namespace>/<name>`. */
  policy: `${PREFIX}policy`,
  /** On port groups and address sets: the logical switch they are about. */
  switchName: `${PREFIX}switch`,
  /** On ACLs: the ACL's key, unique within its port group (WantedAcl.key). */
  acl: `${PREFIX}acl`,
  /** On address sets: the peer they hold, in the plan's own words (one set per peer, network and family). */
  peer: `${PREFIX}peer`,
} as const;

/**
 * Addressing keys in a logical switch's external_ids (daemon/ipam/). The per-address keys hold who
 * has the address: `port:<logical switch port name>` or `ipam-claim:<namespace>/<name>`.
 */
export const IpamKeys = {
  /** `addr:<IP or MAC>` = its holder: the per-address guard (daemon/ipam/guards.ts). */
  address: `${PREFIX}addr:`,
  /** `ipam-claim:<namespace>/<name>` = "<mac> <ip> [<ip>]": what an IPAMClaim holds on the switch. */
  reservation: `${PREFIX}ipam-claim:`,
  /**
   * `lost:<logical switch port name>` = the node whose live attachment's port is lost and could
   * not be made again (its addresses are taken: daemon/attachments/restore.ts): its guard keys
   * are kept, by every daemon, until that attachment goes (del.ts frees both).
   */
  lost: `${PREFIX}lost:`,
  /** On switches ovn-multinet manages: all subnets, excluded subnets and gateways, comma-separated. */
  subnets: `${PREFIX}subnets`,
  excludeSubnets: `${PREFIX}exclude-subnets`,
  gateways: `${PREFIX}gateways`,
} as const;

/**
 * A layer3 network's NB rows (daemon/ovn/layer3.ts): its logical router and, per node, a logical
 * switch joined to it.
 */
export const Layer3Keys = {
  /** On a node's switch: "layer3" (what a dead node's release selects by). */
  topology: `${PREFIX}topology`,
  /** On a node's switch: the node it serves. */
  node: `${PREFIX}layer3-node`,
  /** On a node's switch: its network's router. */
  router: `${PREFIX}layer3-router`,
  /** On the router, `node-subnet:<cidr>` = the node whose switch has that subnet: the node subnet guard. */
  nodeSubnet: `${PREFIX}node-subnet:`,
} as const;

/** On a logical switch: the key under which its first DHCP_Options row for a subnet was made (dhcp.ts). */
export const DhcpKeys = {
  /** `dhcp:<cidr>` = the token of the daemon that made it. */
  firstRow: `${PREFIX}dhcp:`,
} as const;

/**
 * What the node records of an attachment's logical switch port, on its br-int Interface (beside
 * the owner ids and `iface-id`), written by ADD once the port is known: enough to make the port
 * again, with the same name, addresses and MAC, should it vanish from the NB (a restored backup,
 * an admin's `lsp-del`: daemon/attachments/restore.ts). Interfaces of older daemons lack them
 * and get them from their port while it exists.
 */
export const RecordKeys = {
  /** The logical switch's name. */
  logicalSwitch: `${PREFIX}logical-switch`,
  /** The port's address entry, "<mac> <ip> [<ip>...]". */
  addresses: `${PREFIX}addresses`,
  /** "true" when the port has port security (its entry), "false" otherwise. */
  portSecurity: `${PREFIX}port-security`,
} as const;

/** What the daemons' NB monitor conditions select by (scope.ts). */
export const ScopeKeys = {
  /** On every logical switch port and DHCP_Options row ovn-multinet makes: its switch's uuid. */
  switch: `${PREFIX}switch`,
} as const;

export interface AttachmentIdentity {
  containerId: string;
  ifName: string;
  netns: string;
  node: string;
  bootId: string;
  network: string;
  /** The node's OVN chassis name, when its Open_vSwitch row has a system-id. */
  chassis?: string;
  /** From CNI_ARGS K8S_POD_NAMESPACE / K8S_POD_NAME / K8S_POD_UID, when a runtime passes them. */
  pod?: { namespace?: string; name?: string; uid?: string };
}

export function ownerExternalIds(id: AttachmentIdentity): Map<string, string> {
  const ids = new Map<string, string>([
    [OwnerKeys.owner, OWNER_VALUE],
    [OwnerKeys.containerId, id.containerId],
    [OwnerKeys.ifName, id.ifName],
    [OwnerKeys.netns, id.netns],
    [OwnerKeys.node, id.node],
    [OwnerKeys.bootId, id.bootId],
    [OwnerKeys.network, id.network],
  ]);
  if (id.chassis !== undefined) ids.set(OwnerKeys.chassis, id.chassis);
  if (id.pod?.namespace !== undefined) ids.set(OwnerKeys.podNamespace, id.pod.namespace);
  if (id.pod?.name !== undefined) ids.set(OwnerKeys.podName, id.pod.name);
  if (id.pod?.uid !== undefined) ids.set(OwnerKeys.podUid, id.pod.uid);
  return ids;
}

/** Does this external_ids map belong to the attachment (container ID + ifname)? */
export function ownedBy(externalIds: ReadonlyMap<string, string>, containerId: string, ifName: string): boolean {
  return (
    externalIds.get(OwnerKeys.owner) === OWNER_VALUE &&
    externalIds.get(OwnerKeys.containerId) === containerId &&
    externalIds.get(OwnerKeys.ifName) === ifName
  );
}

/**
 * The second owner of an IPAMClaim's logical switch port during a live migration (the target
 * pod's attachment, on any node): its owner keys, each under this prefix
 * (`ovn-multinet/migration-target/node`, ...), beside the source's own.
 */
const TARGET_PREFIX = `${PREFIX}migration-target/`;

/** The key under which a migration target records owner key `key`. */
export function targetKey(key: string): string {
  return `${TARGET_PREFIX}${key.slice(PREFIX.length)}`;
}

export const TargetKeys = {
  containerId: targetKey(OwnerKeys.containerId),
  ifName: targetKey(OwnerKeys.ifName),
  node: targetKey(OwnerKeys.node),
} as const;

/** The keys ownerExternalIds writes: an attachment's identity. */
export const IDENTITY_KEYS: readonly string[] = [
  OwnerKeys.owner, OwnerKeys.containerId, OwnerKeys.ifName, OwnerKeys.netns, OwnerKeys.node, OwnerKeys.bootId, OwnerKeys.network,
  OwnerKeys.chassis, OwnerKeys.podNamespace, OwnerKeys.podName, OwnerKeys.podUid,
];

/** Owner ids (ownerExternalIds) recorded as a migration target's. */
export function asTargetIds(owner: ReadonlyMap<string, string>): Map<string, string> {
  return new Map(IDENTITY_KEYS.flatMap((key) => {
    const value = owner.get(key);
    return value === undefined ? [] : [[targetKey(key), value] as const];
  }));
}

/** The migration target's owner ids recorded on a port, under the owner keys; empty without a target. */
export function targetIdsOf(externalIds: ReadonlyMap<string, string>): Map<string, string> {
  const ids = new Map<string, string>();
  for (const [key, value] of externalIds) if (key.startsWith(TARGET_PREFIX)) ids.set(`${PREFIX}${key.slice(TARGET_PREFIX.length)}`, value);
  return ids;
}

/** Whether a migration target shares the port. */
export function hasTarget(externalIds: ReadonlyMap<string, string>): boolean {
  return externalIds.has(TargetKeys.containerId);
}

/** Which of a port's attachments (container ID + ifname) this is: its owner, its migration target, or neither. */
export function roleOf(externalIds: ReadonlyMap<string, string>, containerId: string, ifName: string): 'owner' | 'target' | undefined {
  if (ownedBy(externalIds, containerId, ifName)) return 'owner';
  if (externalIds.get(OwnerKeys.owner) === OWNER_VALUE && externalIds.get(TargetKeys.containerId) === containerId && externalIds.get(TargetKeys.ifName) === ifName) return 'target';
  return undefined;
}

/** The chassis an attachment's owner ids name: the recorded one, else the node's name (OVN also matches a chassis by hostname). */
export function chassisOf(owner: ReadonlyMap<string, string>): string | undefined {
  return owner.get(OwnerKeys.chassis) ?? owner.get(OwnerKeys.node);
}

/**
 * On logical switches an admin marks to appear as Network objects (the controller's auto-expose,
 * daemon/controller/expose.ts).
 */
export const ExposeKeys = {
  /** "true": a Network named like the switch; any other value: the Network's name. */
  expose: `${PREFIX}expose`,
  /** The namespaces it selects: "key=value[,key=value...]" (matchLabels) or "*" (all); absent: none. */
  exposeNamespaces: `${PREFIX}expose-namespaces`,
} as const;

/** On the QoS rows that limit a port's bandwidth (daemon/ovn/qos.ts), beside `OwnerKeys.owner`. */
export const QosKeys = {
  /** The logical switch port whose traffic the row limits. */
  port: `${PREFIX}port`,
} as const;
