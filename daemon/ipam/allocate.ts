/**
 * Creates a logical switch port with an address chosen from the NB cache and committed by one
 * guarded transaction (guards.ts). When another writer took an address first, the guard fails,
 * the cache catches up, and the choice is made again from a random point of the pool. Deleting
 * a port frees its guard keys in the same transaction.
 */
import { isGuardConflict, OvsdbNotConnectedError, OvsdbTransactionError, PoolExhaustedError, SwitchGoneError, AddressInUseError, AddressNotAllowedError, ClaimMismatchError, MigrationInFlightError } from '../errors.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import type { Operation } from '../ovsdb/ops.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { OwnerKeys, roleOf, ScopeKeys, targetKey } from '../ovn/ids.ts';
import { addressEntry, parsePortAddresses } from '../ovn/entries.ts';
import { deletePortOps, findAttachmentPort, findPort, insertPortOps, ipamOnlyIps, portEntry, type LogicalPort } from '../ovn/ports.ts';
import { findSwitch, switchOfPort, type LogicalSwitch } from '../ovn/switches.ts';
import type { NbClient } from '../ovn/nb.ts';
import { allocateAddress, neverHandedOut, randomMac, type IpamSettings } from './pool.ts';
import { familyOf, macForIpv4 } from '../lib/ip.ts';
import { addressesInUse, ClaimReservation, describeUser, StaleGuard, usedByClaim, type AddressUser } from './in-use.ts';
import { guardPairs } from './guards.ts';
import { deleteKeysOps, takeKeysOps } from '../ovn/switch-keys.ts';
import { reservationGuard, reservationOf, reserveOps, type Reservation } from './reservations.ts';
import { detachClaimPort, isShared, joinOps, portCatchUp, type KnownPort } from './migration.ts';
import { catchUp } from './catch-up.ts';
import type { PortDhcp } from '../ovn/dhcp.ts';
import { qosOps } from '../ovn/qos.ts';
import type { Bandwidth } from '../netconf/bandwidth.ts';

const MAX_ATTEMPTS = 50;

/** Why a port's transaction is sent again: an address taken meanwhile, or the connection dropped before the answer. */
export const RETRY_REASONS = ['address_taken', 'reconnected'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

export interface PortRequest {
  switchName: string;
  settings: IpamSettings;
  name: string;
  portSecurity: boolean;
  externalIds: ReadonlyMap<string, string>;
  /** Called when the connection dropped mid-transaction; resolves once it is back (or throws). */
  reconnected: (signal: AbortSignal) => Promise<void>;
  /** Called as each transaction goes out (it may commit even if its answer is lost). */
  sent?: () => void;
  /** Called before a transaction is sent again, with why. */
  retried?: (reason: RetryReason) => void;
  /** The DHCP_Options rows the port answers DHCP with (the network's `dhcp`). */
  dhcp?: PortDhcp;
  /** Its bandwidth limits (runtimeConfig.bandwidth), as QoS rows made with the port. */
  bandwidth?: Bandwidth;
  /** Exactly these addresses (runtimeConfig ips), instead of allocating one. */
  staticIps?: readonly string[];
  /** Exactly this MAC (runtimeConfig mac). */
  staticMac?: string;
  /**
   * namespace/name of the IPAMClaim the addresses belong to: its reservation on the switch when
   * it has one, else addresses chosen as usual and reserved for it in the same transaction.
   */
  ipamClaim?: string;
  /**
   * Addresses only, for another plugin's interface (IPAM mode): IPs and no MAC (the calling
   * plugin's interface has its own, unknown here), recorded as an IPAM-only port (creationOps).
   */
  ipamOnly?: boolean;
}

/**
 * Where the last search on a subnet ended: the next one starts after it instead of walking every
 * used address from the bottom (a hint only; what is free always comes from the NB cache).
 */
const nextHint = new Map<string, string>();

type Used = ReturnType<typeof addressesInUse>;

/**
 * An address or MAC asked for (statically, or held by an IPAMClaim's reservation), checked
 * against its user on the switch: a router's is never requestable, anyone else's is in use
 * unless it is the claim's own. The settings' rule (neverHandedOut) is the caller's, before any
 * switch is made (attachments/network.ts), and the claim's here.
 */
function checkAsked(kind: 'ip' | 'mac', address: string, user: AddressUser | undefined, claim?: string): void {
  if (user === 'router') throw new AddressNotAllowedError(kind, address, 'the address of a logical router port on the switch');
  if (user !== undefined && (claim === undefined || !usedByClaim(user, claim))) throw new AddressInUseError(kind, address, describeUser(user));
}

/** The claim's reserved addresses, checked against what is asked for and against other users. */
function claimedAddresses(request: PortRequest & { ipamClaim: string }, sw: LogicalSwitch, used: Used): { mac: string; ips: string[]; plan: AddressPlan } | undefined {
  const reservation = reservationOf(sw, request.ipamClaim);
  if (reservation === undefined) return undefined;
  const holds = `IPAMClaim ${request.ipamClaim} holds`;
  if (request.staticIps !== undefined && !sameSet(request.staticIps, reservation.ips)) {
    throw new ClaimMismatchError('ip', `${request.staticIps.join(', ')} differ from what ${holds}: ${reservation.ips.join(', ') || 'no IP'}`);
  }
  if (request.staticMac !== undefined && request.staticMac !== reservation.mac) {
    throw new ClaimMismatchError('mac', `${request.staticMac} differs from what ${holds}: ${reservation.mac}`);
  }
  for (const ip of reservation.ips) {
    const reason = neverHandedOut(request.settings, ip);
    if (reason !== undefined) throw new AddressNotAllowedError('ip', ip, `IPAMClaim ${request.ipamClaim} holds it, but it is ${reason}`);
  }
  for (const [kind, address, user] of [['mac', reservation.mac, used.macs.get(reservation.mac)] as const, ...reservation.ips.map((ip) => ['ip', ip, used.ips.get(ip)] as const)]) {
    checkAsked(kind, address, user, request.ipamClaim);
  }
  // The claim's port on the switch, if a pod of the claim runs (a live migration's source).
  const holder = used.macs.get(reservation.mac);
  const activePort = holder !== undefined && holder !== 'router' && !(holder instanceof ClaimReservation) && !(holder instanceof StaleGuard) ? holder.name : undefined;
  return { mac: reservation.mac, ips: reservation.ips, plan: { kind: 'claim-existing', reservation, activePort } };
}

/** The addresses and MAC the port gets: the claim's, else the requested ones if free, else allocated ones. */
function chooseAddresses(request: PortRequest, used: Used, attempt: number, sw: LogicalSwitch): { mac: string | undefined; ips: string[]; plan: AddressPlan } {
  const { ipamClaim } = request;
  if (ipamClaim !== undefined) {
    const claimed = claimedAddresses({ ...request, ipamClaim }, sw, used);
    if (claimed !== undefined) return claimed;
  }
  let ips: string[];
  if (request.staticIps !== undefined) {
    for (const ip of request.staticIps) checkAsked('ip', ip, used.ips.get(ip));
    ips = [...request.staticIps];
  } else {
    ips = request.settings.subnets.map((subnet) => {
      const hintKey = `${sw.name}/${subnet.cidr}`;
      const ip = allocateAddress(subnet, request.settings.excluded, { inUse: used.ips, randomStart: attempt > 0, startAfter: nextHint.get(hintKey) });
      if (ip !== undefined) nextHint.set(hintKey, ip);
      if (ip === undefined) throw new PoolExhaustedError(`no free address left in ${subnet.cidr} on logical switch ${JSON.stringify(sw.name)}`);
      return ip;
    });
  }
  let mac: string | undefined;
  if (request.ipamOnly === true) {
    mac = undefined;
  } else if (request.staticMac !== undefined) {
    checkAsked('mac', request.staticMac, used.macs.get(request.staticMac));
    mac = request.staticMac;
  } else {
    const v4 = ips.find((ip) => familyOf(ip) === 4);
    mac = v4 === undefined ? randomMac() : macForIpv4(v4);
    while (used.macs.has(mac)) mac = randomMac();
  }
  if (mac === undefined) return { mac, ips, plan: { kind: 'ipam-only' } };
  const plan: AddressPlan = ipamClaim === undefined ? { kind: 'plain' } : { kind: 'claim-first', reservation: { claim: ipamClaim, mac, ips } };
  return { mac, ips, plan };
}

/**
 * How the port's addresses are guarded: ordinary ones are taken for the port (guards.ts); the
 * first port of an IPAMClaim takes them for the claim, with its reservation; a later port of the
 * claim only needs the reservation to be unchanged, since the addresses are the claim's. While
 * the claim has a port (`activePort`: a live migration's source), the new pod joins that port
 * instead (migration.ts).
 */
type AddressPlan =
  | { kind: 'plain' }
  | { kind: 'ipam-only' }
  | { kind: 'claim-first'; reservation: Reservation }
  | { kind: 'claim-existing'; reservation: Reservation; activePort: string | undefined };

export interface NewPort {
  name: string;
  /** undefined: an IPAM-only record. */
  mac: string | undefined;
  ips: string[];
  portSecurity: boolean;
  externalIds: ReadonlyMap<string, string>;
  dhcp?: PortDhcp;
  bandwidth?: Bandwidth;
}

/**
 * The transaction that creates the port: guards first (a failing one, op index < guards, means
 * "taken meanwhile"), then the insert, whose result holds the port's uuid.
 */
export function creationOps(sw: LogicalSwitch, port: NewPort, plan: AddressPlan = { kind: 'plain' }): { ops: Operation[]; guards: number; row: Omit<LogicalPort, 'uuid'> } {
  if (port.mac === undefined || plan.kind === 'ipam-only') return ipamOnlyCreationOps(sw, port);
  const entry = addressEntry(port.mac, port.ips);
  const addresses = [port.mac, ...port.ips];
  let guards: Operation[];
  switch (plan.kind) {
    case 'plain':
      guards = takeKeysOps(sw, guardPairs(addresses, { port: port.name }));
      break;
    case 'claim-first':
      guards = reserveOps(sw, plan.reservation);
      break;
    case 'claim-existing':
      guards = [reservationGuard(sw, plan.reservation)];
      break;
  }
  const row = { name: port.name, addresses: [entry], portSecurity: port.portSecurity ? [entry] : [], externalIds: port.externalIds };
  // The port's QoS rows last: the insert's result stays at index `guards`.
  return { guards: guards.length, row, ops: [...guards, ...insertPortOps(sw.uuid, row, port.dhcp), ...qosOps(sw.uuid, port.name, port.bandwidth)] };
}

/**
 * An IPAM-only record: the IPs are guarded like any port's (so they are taken cluster-wide), and
 * kept in external_ids (OwnerKeys.ipamOnly), not in `addresses`. The port has no `addresses`, no
 * port security and `enabled=false`; measured with OVN 23.03 (`ovn-sbctl lflow-list`), such a
 * port adds two logical flows that match only its own name as inport/outport (never bound, it
 * never is one) and is left out of `_MC_flood`/`_MC_flood_l2`. A "MAC IP" entry in `addresses`
 * instead, even with `enabled=false`, makes northd answer ARP for the IP with that MAC
 * (ls_in_arp_rsp) and add an L2 lookup for the MAC: the calling plugin's interface, whose MAC is
 * not known here, would be shadowed on a switch that also carries real ports.
 */
function ipamOnlyCreationOps(sw: LogicalSwitch, port: NewPort): { ops: Operation[]; guards: number; row: Omit<LogicalPort, 'uuid'> } {
  const guards = takeKeysOps(sw, guardPairs(port.ips, { port: port.name }));
  const externalIds = new Map([...port.externalIds, [OwnerKeys.ipamOnly, port.ips.join(' ')]]);
  const row = { name: port.name, addresses: [], portSecurity: [], externalIds, enabled: false };
  return { guards: guards.length, row, ops: [...guards, ...insertPortOps(sw.uuid, row)] };
}

/**
 * The attachment's port if a previous attempt committed it (a transaction whose reply was lost
 * with the connection may still have committed): made or joined by this attachment.
 */
function committedEarlier(nb: NbClient, request: PortRequest): { port: LogicalPort; switchUuid: Uuid } | undefined {
  const found = findAttachmentPort(nb, request.externalIds.get(OwnerKeys.containerId) ?? '', request.externalIds.get(OwnerKeys.ifName) ?? '');
  const sw = found === undefined ? undefined : switchOfPort(nb, found.port.uuid);
  return found !== undefined && sw !== undefined ? { port: found.port, switchUuid: sw.uuid } : undefined;
}

/**
 * A pod of the claim joins the claim's port `name` as a live migration's target (migration.ts),
 * guarded by the reservation and the port row as read. A port that already lists the request as
 * its target is returned as it is; one shared with another target refuses the request.
 */
function joinPlan(sw: LogicalSwitch, port: LogicalPort, reservation: Reservation, request: PortRequest, externalIds: ReadonlyMap<string, string>): { ops: Operation[]; port: LogicalPort } | LogicalPort {
  if (roleOf(port.externalIds, request.externalIds.get(OwnerKeys.containerId) ?? '', request.externalIds.get(OwnerKeys.ifName) ?? '') !== undefined) return port;
  if (isShared(port)) throw new MigrationInFlightError(describeMigration(request.ipamClaim ?? '', port.externalIds));
  const join = joinOps(port, externalIds);
  return { ops: [reservationGuard(sw, reservation), ...join.ops], port: join.port };
}

function describeMigration(claim: string, ids: ReadonlyMap<string, string>): string {
  const pod = (prefix: (k: string) => string): string => {
    const name = ids.get(prefix(OwnerKeys.podName));
    return `${name === undefined ? `container ${ids.get(prefix(OwnerKeys.containerId)) ?? '?'}` : `pod ${ids.get(prefix(OwnerKeys.podNamespace)) ?? ''}/${name}`} on ${ids.get(prefix(OwnerKeys.node)) ?? '?'}`;
  };
  return `IPAMClaim ${claim} is being migrated: its port is shared by ${pod((k) => k)} and ${pod(targetKey)}`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

/**
 * Waits until the cache shows the switch changed (its ports, or its external_ids: guard keys and
 * reservations). The cache gives a changed column a new value object, so identity tells.
 */
function switchCatchUp(nb: NbClient, sw: LogicalSwitch, signal: AbortSignal): Promise<void> {
  return catchUp(nb, NbTable.Logical_Switch, sw.uuid, (r) => r.ports !== sw.ports || r.external_ids !== sw.externalIds, signal);
}

/** The port made (or joined), its switch, and how long its NB transactions took (ms, retries included). */
export interface CreatedPort {
  port: LogicalPort;
  switchUuid: Uuid;
  nbMs: number;
}

export async function createLogicalPort(nb: NbClient, request: PortRequest, signal: AbortSignal): Promise<CreatedPort> {
  // A port of a claim says so: other pods of the claim may then share its addresses.
  const externalIds = request.ipamClaim === undefined ? request.externalIds : new Map([...request.externalIds, [OwnerKeys.ipamClaim, request.ipamClaim]]);
  let reconnected = false;
  let nbMs = 0;
  const timed = async <T>(commit: Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await commit;
    } finally {
      nbMs += performance.now() - start;
    }
  };
  for (let attempt = 0; ; attempt++) {
    // The caller has just looked for the port; only a transaction cut off by a lost connection
    // may have committed it since.
    const earlier = reconnected ? committedEarlier(nb, request) : undefined;
    if (earlier !== undefined) return { ...earlier, nbMs };
    const sw = findSwitch(nb, request.switchName);
    if (sw === undefined) throw new SwitchGoneError(`logical switch ${JSON.stringify(request.switchName)} was deleted`);
    const { mac, ips, plan } = chooseAddresses(request, addressesInUse(nb, sw), attempt, sw);
    let guards = 0;
    let joining: LogicalPort | undefined;
    try {
      const active = plan.kind === 'claim-existing' && plan.activePort !== undefined ? findPort(nb, plan.activePort) : undefined;
      if (plan.kind === 'claim-existing' && active !== undefined) {
        const join = joinPlan(sw, active, plan.reservation, request, externalIds);
        if (!('ops' in join)) return { port: join, switchUuid: sw.uuid, nbMs };
        joining = active;
        guards = 2;
        await timed(nb.transact(join.ops, signal, request.sent));
        return { port: join.port, switchUuid: sw.uuid, nbMs };
      }
      // The switch key lets every daemon serving the switch monitor the port (scope.ts).
      const ids = new Map([...externalIds, [ScopeKeys.switch, sw.uuid]]);
      const creation = creationOps(sw, { name: request.name, mac, ips, portSecurity: request.portSecurity, externalIds: ids, ...(request.dhcp === undefined ? {} : { dhcp: request.dhcp }), ...(request.bandwidth === undefined ? {} : { bandwidth: request.bandwidth }) }, plan);
      guards = creation.guards;
      const results = await timed(nb.transact(creation.ops, signal, request.sent));
      const uuid = results[guards]?.uuid;
      if (uuid === undefined) throw new OvsdbTransactionError(guards, 'insert', 'no uuid in insert result', undefined);
      const { row } = creation;
      const port: LogicalPort = { uuid, ...row };
      return { port, switchUuid: sw.uuid, nbMs };
    } catch (err) {
      if (attempt + 1 >= MAX_ATTEMPTS) throw err;
      if (err instanceof OvsdbNotConnectedError) {
        request.retried?.('reconnected');
        await request.reconnected(signal);
        reconnected = true;
        continue;
      }
      const conflict = isGuardConflict(err, guards);
      if (!conflict) throw err;
      request.retried?.('address_taken');
      // The join's second guard is the port's own row.
      if (joining !== undefined && err instanceof OvsdbTransactionError && err.opIndex === 1) await portCatchUp(nb, joining, signal);
      else await switchCatchUp(nb, sw, signal);
    }
  }
}

/** A lost port as the node recorded it (daemon/attachments/restore.ts): made again exactly so. */
export interface LostPort {
  switchName: string;
  name: string;
  mac: string;
  ips: string[];
  portSecurity: boolean;
  /** Its owner ids (ownerExternalIds). */
  externalIds: ReadonlyMap<string, string>;
  /** namespace/name of the IPAMClaim it was attached for. */
  ipamClaim: string | undefined;
}

/** How many times a lost port's guards may meet another writer before it gives up (next sweep). */
const RESTORE_ATTEMPTS = 5;

/**
 * Makes a lost port again with its name, addresses and MAC, guarded like any port: its guard
 * keys (still there after an `lsp-del`, gone with an older NB) are taken again, or its
 * IPAMClaim's reservation is checked, or rebuilt when the NB lacks it. An address that another
 * holder has now (an older NB gave it out again) is never taken: AddressInUseError, and a claim
 * that now holds other addresses: ClaimMismatchError.
 */
export async function recreateLogicalPort(nb: NbClient, lost: LostPort, signal: AbortSignal): Promise<LogicalPort> {
  const claim = lost.ipamClaim;
  // Its own guard keys left behind, or its claim's reservation.
  const ours = (user: AddressUser): boolean => (user instanceof StaleGuard && user.port === lost.name) || (user instanceof ClaimReservation && user.claim === claim);
  for (let attempt = 0; ; attempt++) {
    const sw = findSwitch(nb, lost.switchName);
    if (sw === undefined) throw new SwitchGoneError(`logical switch ${JSON.stringify(lost.switchName)} does not exist`);
    const used = addressesInUse(nb, sw);
    for (const [kind, address, user] of [['mac', lost.mac, used.macs.get(lost.mac)] as const, ...lost.ips.map((ip) => ['ip', ip, used.ips.get(ip)] as const)]) {
      if (user !== undefined && !ours(user)) throw new AddressInUseError(kind, address, describeUser(user));
    }
    let plan: AddressPlan = { kind: 'plain' };
    if (claim !== undefined) {
      const reservation = reservationOf(sw, claim);
      if (reservation === undefined) plan = { kind: 'claim-first', reservation: { claim, mac: lost.mac, ips: lost.ips } };
      else if (reservation.mac === lost.mac && sameSet(reservation.ips, lost.ips)) plan = { kind: 'claim-existing', reservation, activePort: undefined };
      else throw new ClaimMismatchError('ip', `IPAMClaim ${claim} now holds ${[reservation.mac, ...reservation.ips].join(' ')}, not ${[lost.mac, ...lost.ips].join(' ')}`);
    }
    const ids = new Map([...lost.externalIds, ...(claim === undefined ? [] : [[OwnerKeys.ipamClaim, claim] as const]), [ScopeKeys.switch, sw.uuid]]);
    const creation = creationOps(sw, { name: lost.name, mac: lost.mac, ips: lost.ips, portSecurity: lost.portSecurity, externalIds: ids }, plan);
    try {
      const results = await nb.transact(creation.ops, signal);
      const uuid = results[creation.guards]?.uuid;
      if (uuid === undefined) throw new OvsdbTransactionError(creation.guards, 'insert', 'no uuid in insert result', undefined);
      return { uuid, ...creation.row };
    } catch (err) {
      if (attempt + 1 >= RESTORE_ATTEMPTS || !isGuardConflict(err, creation.guards)) throw err;
      await switchCatchUp(nb, sw, signal);
    }
  }
}

/**
 * Takes the attachment (container ID + ifname) off its logical switch port. An ordinary port is
 * deleted with its guard keys, in one transaction. An IPAMClaim's port may be shared during a
 * live migration (migration.ts): the target leaves it, the owner hands it to the target, or
 * deletes it when alone. Nothing to do when the attachment has no port. `known`: the port as
 * this daemon just made or joined it (an ADD's undo), used when the cache does not show it yet.
 */
export async function deleteLogicalPort(nb: NbClient, who: { containerId: string; ifName: string }, signal: AbortSignal, known?: KnownPort): Promise<void> {
  const found = findAttachmentPort(nb, who.containerId, who.ifName);
  const inCache = found === undefined ? undefined : switchOfPort(nb, found.port.uuid);
  const port = found?.port ?? known?.port;
  const switchUuid = inCache?.uuid ?? (found === undefined ? known?.switchUuid : undefined);
  if (port === undefined || switchUuid === undefined) return;
  if (port.externalIds.has(OwnerKeys.ipamClaim)) {
    await detachClaimPort(nb, who, signal, known);
    return;
  }
  await nb.transact([...deletePortOps(switchUuid, port), ...deleteKeysOps(switchUuid, portGuards(port))], signal);
}

/**
 * The guard keys the port holds: those of its entry's addresses with the port as holder. Deleting
 * pairs needs no look at the switch (a key another holder has is left alone), so a cache that
 * has not seen the port's creation yet frees them all the same.
 */
function portGuards(port: LogicalPort): Map<string, string> {
  const held = ipamOnlyIps(port.externalIds);
  if (held !== undefined) return guardPairs(held, { port: port.name });
  const { mac, ips } = parsePortAddresses(portEntry(port));
  return guardPairs(mac === undefined ? ips : [mac, ...ips], { port: port.name });
}
