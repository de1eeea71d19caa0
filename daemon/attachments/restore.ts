/**
 * Lost ports come back. A live attachment (its host veth exists, so its pod's netns does) whose
 * logical switch port vanished from the NB (an NB restored from an older backup, an admin's
 * `ovn-nbctl lsp-del`) would leave its pod cut off without a word, and, once the guard keys are
 * freed, its addresses free for another pod. The node itself knows the port: ADD records the
 * switch, the address entry and port security on the attachment's br-int Interface, beside the
 * owner ids and iface-id (ids.ts RecordKeys; an older daemon's Interface gets them from its port
 * while the port exists). So the port is made again, with the same name, addresses and MAC,
 * as soon as the daemon's NB monitor shows it gone (it sees this node's ports), and on every
 * connection to either database for whatever went while it was away or down.
 *
 * Made again under the attachment's lock, after a last look (still lost, veth still there),
 * guarded like any port (daemon/ipam/allocate.ts recreateLogicalPort): the guard keys an
 * `lsp-del` left are the port's own; an older NB's missing ones are taken again; an IPAMClaim's
 * missing reservation is rebuilt from what the node recorded (the addresses the claim's status
 * got from the same ADD). An address another holder has now is never taken back: the pod stays
 * cut off, and an error says why.
 */
import { hostVethName, logicalPortName } from '../cni-spec/names.ts';
import { AddressInUseError, ClaimMismatchError, SwitchGoneError } from '../errors.ts';
import type { KeyedLock } from '../lib/keylock.ts';
import { findLink } from '../netlink/link.ts';
import type { RowChange } from '../ovsdb/cache.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { parsePortAddresses } from '../ovn/entries.ts';
import { OWNER_VALUE, OwnerKeys } from '../ovn/ids.ts';
import type { NbRows } from '../ovn/nb.ts';
import { findPort, portRecord, RECORD_KEYS, recordedPort, type RecordedPort } from '../ovn/ports.ts';
import { findSwitch, switchOfPort } from '../ovn/switches.ts';
import { deleteKeysOps } from '../ovn/switch-keys.ts';
import { guardPairs, lostKey } from '../ipam/guards.ts';
import { markLostOps } from '../ipam/stale-guards.ts';
import { bridgePortsWhere, findBridge, findBridgePort, findInterface, recordInterfaceOps, type BridgePort } from '../ovs/bridge.ts';
import { recreateLogicalPort } from '../ipam/allocate.ts';
import { CLEANUP_TIMEOUT_MS, type Attacher } from './context.ts';
import { attachmentKey } from './owned.ts';
import { presentQosRows, qosOps } from '../ovn/qos.ts';

/** When a restore failed for a passing reason (a database away, a conflict), the next try. */
const RETRY_MS = 1000;

const isOurs = (ids: ReadonlyMap<string, string>): boolean => ids.get(OwnerKeys.owner) === OWNER_VALUE;

export class PortRestorer {
  readonly #ctx: Attacher;
  readonly #lock: KeyedLock;
  /** Attachments whose port the monitor showed gone, or whose restore is retried, by attachmentKey. */
  readonly #pending = new Map<string, { containerId: string; ifName: string }>();
  /** Look at every attachment of the node on the next sweep (start, a reconnection). */
  #all = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #started = false;
  /** Ports that cannot be restored, with why: said once, not at every sweep. */
  readonly #refused = new Map<string, string>();

  constructor(ctx: Attacher, lock: KeyedLock) {
    this.#ctx = ctx;
    this.#lock = lock;
  }

  /** A sweep of every attachment now, then one on each port the monitor shows gone. */
  start(): void {
    this.#started = true;
    this.#ctx.nb.cache.on('change', this.#onChange);
    this.#ctx.nb.on('connected', this.#onConnected);
    this.#ctx.ovs.on('connected', this.#onConnected);
    this.#onConnected();
  }

  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#ctx.nb.cache.off('change', this.#onChange);
    this.#ctx.nb.off('connected', this.#onConnected);
    this.#ctx.ovs.off('connected', this.#onConnected);
    await this.#running;
  }

  readonly #onChange = (change: RowChange<NbRows>): void => {
    if (change.table !== NbTable.Logical_Switch_Port || change.new !== undefined || change.old === undefined) return;
    const ids = change.old.external_ids;
    const containerId = ids.get(OwnerKeys.containerId);
    const ifName = ids.get(OwnerKeys.ifName);
    if (!isOurs(ids) || ids.get(OwnerKeys.node) !== this.#ctx.node || ids.has(OwnerKeys.ipamOnly) || containerId === undefined || ifName === undefined) return;
    this.#pending.set(attachmentKey({ containerId, ifName }), { containerId, ifName });
    this.#schedule(0);
  };

  readonly #onConnected = (): void => {
    this.#all = true;
    this.#schedule(0);
  };

  #schedule(delayMs: number): void {
    if (!this.#started || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A sweep running: its end schedules the next.
      if (this.#running !== undefined) return;
      this.#running = this.#sweep()
        .catch((err: unknown) => this.#ctx.log.error({ err }, 'lost ports: sweep failed'))
        .finally(() => {
          this.#running = undefined;
          if (this.#all || this.#pending.size > 0) this.#schedule(RETRY_MS);
        });
    }, delayMs);
    this.#timer.unref();
  }

  /** Restores the pending attachments' ports (all of the node's, after a start or reconnection). */
  async #sweep(): Promise<void> {
    const { nb, ovs, log } = this.#ctx;
    // A database away: its reconnection sweeps everything.
    if (!nb.connected || !ovs.connected) {
      this.#pending.clear();
      this.#all = false;
      return;
    }
    const all = this.#all;
    const pending = [...this.#pending.values()];
    this.#all = false;
    this.#pending.clear();
    const bridge = findBridge(ovs, this.#ctx.bridge);
    if (bridge === undefined) return;
    const ports = all ? bridgePortsWhere(ovs, bridge, isOurs) : pending.flatMap((a) => findBridgePort(ovs, hostVethName(a.containerId, a.ifName)) ?? []);
    // Refusals of attachments that are gone are forgotten.
    if (all) for (const key of this.#refused.keys()) if (!ports.some((p) => attachmentKey({ containerId: p.externalIds.get(OwnerKeys.containerId) ?? '', ifName: p.externalIds.get(OwnerKeys.ifName) ?? '' }) === key)) this.#refused.delete(key);
    for (const port of ports) {
      const containerId = port.externalIds.get(OwnerKeys.containerId);
      const ifName = port.externalIds.get(OwnerKeys.ifName);
      if (!isOurs(port.externalIds) || containerId === undefined || ifName === undefined) continue;
      const key = attachmentKey({ containerId, ifName });
      try {
        if (!(await this.#look(port, containerId, ifName, key))) this.#pending.set(key, { containerId, ifName });
      } catch (err) {
        log.warn({ err, containerId, ifname: ifName }, 'could not restore the logical switch port of a live attachment; trying again');
        this.#pending.set(key, { containerId, ifName });
      }
    }
  }

  /**
   * One attachment: its port is in the NB (an older daemon's Interface then gets its record), or
   * restored under the lock. False: try again soon (a request holds the attachment).
   */
  async #look(port: BridgePort, containerId: string, ifName: string, key: string): Promise<boolean> {
    const { nb, ovs } = this.#ctx;
    const name = logicalPortName(containerId, ifName);
    const iface = findInterface(ovs, port.name);
    // A live migration's target names the claim's port, not its own: the port's owner restores it.
    if (iface === undefined || iface.externalIds.get('iface-id') !== name) return true;
    const inNb = findPort(nb, name);
    if (inNb !== undefined) {
      this.#refused.delete(key);
      const sw = recordedPort(iface.externalIds) === undefined ? switchOfPort(nb, inNb.uuid) : undefined;
      if (sw !== undefined) await ovs.transact(recordInterfaceOps(port.name, portRecord(inNb, sw.name), RECORD_KEYS), AbortSignal.timeout(CLEANUP_TIMEOUT_MS));
      return true;
    }
    if (this.#lock.busy(key)) return false;
    return this.#lock.run(key, () => this.#restore(port, containerId, ifName, key));
  }

  async #restore(port: BridgePort, containerId: string, ifName: string, key: string): Promise<boolean> {
    const { nb, ovs } = this.#ctx;
    const log = this.#ctx.log.child({ containerId, ifname: ifName });
    const name = logicalPortName(containerId, ifName);
    const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    // A last look under the lock: a DEL or the reconciler may have been first.
    const iface = findInterface(ovs, port.name);
    if (!nb.connected || iface?.externalIds.get('iface-id') !== name || findPort(nb, name) !== undefined) return true;
    if ((await findLink(hostVethName(containerId, ifName), signal)) === undefined) return true;
    const refuse = (reason: string, details: Record<string, unknown> = {}): boolean => {
      if (this.#refused.get(key) !== reason) log.error({ lsp: name, ...details }, `cannot restore the lost logical switch port of a live attachment: ${reason}; its pod stays cut off`);
      this.#refused.set(key, reason);
      return true;
    };
    const record = recordedPort(iface.externalIds);
    if (record === undefined) return refuse('its br-int interface records no port (made by an older daemon, the port was lost before it was recorded)');
    const { mac, ips } = parsePortAddresses(record.entry);
    if (mac === undefined) return refuse('its recorded addresses have no MAC', { addresses: record.entry });
    // The switch, and every port on it, in view: who uses the addresses now.
    await this.#ctx.scope.serve(record.switchName, signal);
    // What the loss brought (a port of another NB client that came with it) is in the cache too.
    await this.#ctx.scope.refresh(signal);
    try {
      const made = await recreateLogicalPort(nb, { switchName: record.switchName, name, mac, ips, portSecurity: record.portSecurity, externalIds: port.externalIds, ipamClaim: record.ipamClaim }, signal);
      this.#refused.delete(key);
      const sw = findSwitch(nb, record.switchName);
      const mark = sw?.externalIds.get(lostKey(name));
      if (sw !== undefined && mark !== undefined) await nb.transact(deleteKeysOps(sw.uuid, new Map([[lostKey(name), mark]])), signal);
      this.#ctx.metrics.portRestored();
      log.warn({ lsp: made.name, addresses: made.addresses, switch: record.switchName, ...(record.ipamClaim === undefined ? {} : { ipamClaim: record.ipamClaim }) }, 'restored the lost logical switch port of a live attachment');
      return true;
    } catch (err) {
      if (!(err instanceof AddressInUseError || err instanceof ClaimMismatchError || err instanceof SwitchGoneError)) throw err;
      // Its guard keys stay while it lives: marked, no daemon frees them (stale-guards.ts).
      const sw = findSwitch(nb, record.switchName);
      if (sw !== undefined && !sw.externalIds.has(lostKey(name))) await nb.transact(markLostOps(sw.uuid, name, this.#ctx.node), signal);
      return refuse(err.message, { switch: record.switchName, addresses: record.entry });
    }
  }
}

/**
 * The record of an attachment's lost port, read before DEL removes its br-int port; undefined
 * when it has none.
 */
export function lostPortRecord(ctx: Attacher, containerId: string, ifName: string): RecordedPort | undefined {
  const ids = findInterface(ctx.ovs, hostVethName(containerId, ifName))?.externalIds;
  return ids === undefined ? undefined : recordedPort(ids);
}

/**
 * DEL of an attachment whose port is lost: frees the guard keys the port kept while the
 * attachment lived, and its mark. Whether there was anything to free.
 */
export async function releaseLostPort(ctx: Attacher, record: RecordedPort, name: string, signal: AbortSignal): Promise<boolean> {
  await ctx.scope.serve(record.switchName, signal);
  const sw = findSwitch(ctx.nb, record.switchName);
  if (sw === undefined) return false;
  const { mac, ips } = parsePortAddresses(record.entry);
  const pairs = new Map([...guardPairs(mac === undefined ? ips : [mac, ...ips], { port: name })].filter(([k, v]) => sw.externalIds.get(k) === v));
  const mark = sw.externalIds.get(lostKey(name));
  if (mark !== undefined) pairs.set(lostKey(name), mark);
  // Its bandwidth limits, should whoever deleted the port have left them on the switch.
  const qos = qosOps(sw.uuid, name, undefined, presentQosRows(ctx.nb, sw.uuid, name));
  if (pairs.size === 0 && qos.length === 0) return false;
  await ctx.nb.transact([...(pairs.size === 0 ? [] : deleteKeysOps(sw.uuid, pairs)), ...qos], signal);
  return true;
}
