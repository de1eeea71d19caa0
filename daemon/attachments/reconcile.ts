/**
 * The reconciler: removes this node's attachments whose container is gone without a DEL (netns
 * deleted, task killed, node rebooted, DEL that could not reach a database). An attachment is
 * alive while its host veth exists: the kernel destroys a veth pair when the netns of one end
 * goes away, and the veth's name is derived from container ID + ifname, never reused by another
 * attachment. A dead one is removed only after a grace period, never while a request for it is
 * in flight, and after a last look under the attachment's lock.
 *
 * The other way round, a host veth of ours (named like one) that no database records is an
 * orphan: a DEL that removed the database parts and died before the veth, with a container whose
 * netns outlives it. ADD always records the logical switch port before it makes the veth, so a
 * veth without a record for a whole grace period, while both databases are connected, is
 * deleted (its pod end goes with it).
 *
 * An IPAM-only attachment (another plugin's interface, ipam-add.ts) has no host veth: it is alive
 * while the netns recorded at ADD is still that namespace and holds its interface (liveness.ts).
 *
 * Some attachments are known dead before they look it for a grace period: those a DEL could not
 * finish (a database away), those of an ADD that failed after a transaction of it went out (it
 * may still commit, on a database that was hung; an ADD refused before that left nothing), those
 * recorded under another boot of this node (a reboot took their pods), and, in the daemon's first
 * pass, those of this boot whose host veth and netns are both gone (their pods were deleted while
 * the daemon was down: the runtime's DEL succeeds without it when the veth is gone). They are
 * removed as soon as both databases are connected: a pass runs on every reconnection, and every
 * second while any is left. A suspect whose host veth exists is alive after all (a retried ADD
 * succeeded) and is left alone.
 *
 * Last, guard keys whose port is gone from its switch (another NB client deleted a port of ours)
 * would keep their addresses taken for ever: once they have looked so for a grace period, they
 * are freed (daemon/ipam/stale-guards.ts); never those of a port of a live attachment of this
 * node (its port is lost, not gone: restore.ts makes it again).
 */
import { HOST_VETH_PREFIX, hostVethName, isHostVethName, logicalPortName } from '../cni-spec/names.ts';
import type { KeyedLock } from '../lib/keylock.ts';
import { deleteLink, findLink, listHostLinks } from '../netlink/link.ts';
import { deleteAttachment } from './del.ts';
import { withDeadline } from '../lib/deadline.ts';
import { attachmentKey, ownedAttachments, type OwnedAttachment } from './owned.ts';
import { CLEANUP_TIMEOUT_MS, type Attacher } from './context.ts';
import { freeStaleOps, staleGuardKeys, staleKey } from '../ipam/stale-guards.ts';
import { ipamPodAlive, netnsGone } from './liveness.ts';
import type { RemovalReason } from '../metrics/hooks.ts';

/** Each reason of a removal as the log says it. */
const REMOVAL_TEXT: Record<RemovalReason, string> = {
  other_boot: 'recorded under another boot of this node',
  gone_at_start: 'its veth and netns were gone at the daemon\'s start',
  left_by_request: 'its DEL or failed ADD left it',
  container_gone: 'container gone without DEL',
  cni_gc: 'not in cni.dev/valid-attachments',
  orphan_veth: 'no database records it',
  stale_guard: 'its logical switch port is gone',
};

/** The logical switch ports of this node's attachments whose host veth lives: never freed. */
function livePorts(owned: ReadonlyMap<string, OwnedAttachment>, live: ReadonlySet<string>): Set<string> {
  const ports = new Set<string>();
  for (const a of owned.values()) if (a.ipam === undefined && live.has(hostVethName(a.containerId, a.ifName))) ports.add(logicalPortName(a.containerId, a.ifName));
  return ports;
}

export interface ReconcilerOptions {
  /** How long an attachment must look dead before it is removed. */
  graceMs: number;
  /** Time between passes. */
  intervalMs: number;
}

/** Time between passes while suspects are left. */
const SUSPECT_RETRY_MS = 1000;

/**
 * The most suspects kept: DELs of made-up attachments while a database is away each add one.
 * Far above a node's attachments; one more is not kept (logged), and if it is dead after all
 * the grace period removes it.
 */
export const MAX_SUSPECTS = 10_000;

export class Reconciler {
  readonly #ctx: Attacher;
  readonly #lock: KeyedLock;
  readonly #options: ReconcilerOptions;
  readonly #deadSince = new Map<string, number>();
  /** Host veths no database records, by name: since when. */
  readonly #orphanSince = new Map<string, number>();
  /** Guard keys whose port is gone, by staleKey: since when. */
  readonly #staleSince = new Map<string, number>();
  /**
   * When guard keys were last looked over: every key of every served switch (40,000 on a switch
   * of 20,000 ports), for a rare event that waits a grace period anyway, so at most twice per
   * grace period, not on every pass (passes come every second while suspects are left).
   */
  #staleScanAt = -Infinity;
  /** Attachments known or suspected dead, by attachmentKey: since when. */
  readonly #suspects = new Map<string, { attachment: OwnedAttachment; since: number }>();
  /** Suspects not kept since the last pass, the set being full. */
  #unkept = 0;
  #retry: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<OwnedAttachment[]> | undefined;
  /** Until a pass with both databases connected: attachments found dead then may be gone for sure. */
  #atStart = true;
  #passes = 0;
  #lastPass: { at: number; removed: number } | undefined;
  #removedTotal = 0;

  constructor(ctx: Attacher, lock: KeyedLock, options: ReconcilerOptions) {
    this.#ctx = ctx;
    this.#lock = lock;
    this.#options = options;
  }

  /** First pass now, then one every intervalMs, and one whenever a database connection is back. */
  start(): void {
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
    this.#timer.unref();
    this.#ctx.nb.on('connected', this.#onConnected);
    this.#ctx.ovs.on('connected', this.#onConnected);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#ctx.nb.off('connected', this.#onConnected);
    this.#ctx.ovs.off('connected', this.#onConnected);
    await this.#running?.catch(() => undefined);
  }

  /**
   * An attachment that is dead or may be: a DEL that left a database part undone, an ADD that
   * failed. It is removed without the grace period once both databases are connected.
   */
  suspect(attachment: OwnedAttachment, now = Date.now()): void {
    const key = attachmentKey(attachment);
    if (!this.#suspects.has(key)) {
      if (this.#suspects.size >= MAX_SUSPECTS) {
        this.#unkept++;
        return;
      }
      this.#suspects.set(key, { attachment, since: now });
      this.#ctx.log.debug({ containerId: attachment.containerId, ifname: attachment.ifName, network: attachment.network }, 'kept as a suspect');
    }
    this.#retrySoon();
  }

  /** How many suspects are kept. */
  get suspects(): number {
    return this.#suspects.size;
  }

  /** Passes finished since the start (`ovn-multinetd status`). */
  get passes(): number {
    return this.#passes;
  }

  /** When the last pass finished (ms since the epoch) and how many attachments it removed. */
  get lastPass(): { at: number; removed: number } | undefined {
    return this.#lastPass;
  }

  /** Attachments removed by every pass since the start. */
  get removedTotal(): number {
    return this.#removedTotal;
  }

  readonly #onConnected = (): void => {
    if (this.#timer !== undefined) this.#tick();
  };

  #tick(): void {
    this.runOnce().catch((err: unknown) => this.#ctx.log.error({ err }, 'reconciler pass failed'));
  }

  #retrySoon(): void {
    if (this.#retry !== undefined || this.#timer === undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#tick();
    }, SUSPECT_RETRY_MS);
    this.#retry.unref();
  }

  /** One pass; resolves with what it removed. Passes never overlap. */
  runOnce(now = Date.now()): Promise<OwnedAttachment[]> {
    this.#running ??= this.#pass(now)
      .then((removed) => {
        this.#passes++;
        this.#lastPass = { at: Date.now(), removed: removed.length };
        this.#removedTotal += removed.length;
        return removed;
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  #pass(now: number): Promise<OwnedAttachment[]> {
    return withDeadline(CLEANUP_TIMEOUT_MS * 6, 'reconciler pass', (signal) => this.#passWithin(now, signal));
  }

  async #passWithin(now: number, signal: AbortSignal): Promise<OwnedAttachment[]> {
    const started = performance.now();
    const owned = ownedAttachments(this.#ctx);
    const live = new Set(await listHostLinks(HOST_VETH_PREFIX, signal));
    const removed: OwnedAttachment[] = [];
    for (const key of this.#deadSince.keys()) if (!owned.has(key)) this.#deadSince.delete(key);
    const connected = this.#ctx.nb.connected && this.#ctx.ovs.connected;
    for (const [key, attachment] of owned) {
      if (this.#lock.busy(key) || (await this.#alive(attachment, live, signal))) {
        this.#deadSince.delete(key);
        if (!this.#lock.busy(key)) this.#suspects.delete(key);
        continue;
      }
      const since = this.#deadSince.get(key) ?? now;
      this.#deadSince.set(key, since);
      const otherBoot = attachment.bootId !== undefined && attachment.bootId !== this.#ctx.bootId;
      // At start, one whose veth and netns are both gone went while the daemon was down.
      const goneAtStart = !otherBoot && connected && this.#atStart && (await this.#podGone(attachment));
      if (goneAtStart) this.suspect(attachment, now);
      const known = otherBoot || this.#suspects.has(key);
      if (!(known && connected) && now - since < this.#options.graceMs) continue;
      const reason: RemovalReason = otherBoot ? 'other_boot' : goneAtStart ? 'gone_at_start' : known ? 'left_by_request' : 'container_gone';
      if (await this.remove(attachment, reason, signal)) {
        removed.push(attachment);
        this.#suspects.delete(key);
      }
    }
    if (connected) this.#atStart = false;
    this.#forgetSuspects(owned, live, now);
    await this.#removeOrphanVeths(live, owned, now, signal);
    await this.#freeStaleGuards(now, signal, livePorts(owned, live));
    this.#ctx.metrics.reconcilerPass((performance.now() - started) / 1000);
    return removed;
  }

  /**
   * An attachment is alive while its host veth exists; an IPAM-only one, which has none, while
   * its pod's netns and interface do (liveness.ts). `live`: the host veths listed for this pass,
   * or undefined to look the veth up now.
   */
  async #alive(attachment: OwnedAttachment, live: ReadonlySet<string> | undefined, signal: AbortSignal): Promise<boolean> {
    if (attachment.ipam !== undefined) return ipamPodAlive(attachment.ipam, this.#ctx.log, signal);
    const veth = hostVethName(attachment.containerId, attachment.ifName);
    return live === undefined ? (await findLink(veth, signal)) !== undefined : live.has(veth);
  }

  /**
   * Whether a dead attachment's pod is gone for sure: its netns too (an IPAM-only one, which has
   * no veth: its netns). A veth gone with its netns alive, or the reverse, is not.
   */
  #podGone(attachment: OwnedAttachment): Promise<boolean> {
    if (attachment.ipam !== undefined) return netnsGone(attachment.ipam.netns, attachment.ipam.netnsId);
    return attachment.netns === undefined ? Promise.resolve(false) : netnsGone(attachment.netns, undefined);
  }

  /**
   * Frees guard keys whose port has been gone from their switch for a whole grace period (so
   * within one and a half: they are looked for every half grace period).
   */
  async #freeStaleGuards(now: number, signal: AbortSignal, keep: ReadonlySet<string>): Promise<void> {
    if (!this.#ctx.nb.connected) {
      this.#staleSince.clear();
      return;
    }
    if (now - this.#staleScanAt < this.#options.graceMs / 2) return;
    this.#staleScanAt = now;
    const stale = staleGuardKeys(this.#ctx.nb, (uuid) => this.#ctx.scope.seesAllPortsOf(uuid));
    const seen = new Set(stale.map(staleKey));
    for (const key of this.#staleSince.keys()) if (!seen.has(key)) this.#staleSince.delete(key);
    for (const keys of stale) {
      // A port of a live attachment here: lost, not gone (restore.ts makes it again).
      if (keep.has(keys.port)) {
        this.#staleSince.delete(staleKey(keys));
        continue;
      }
      const key = staleKey(keys);
      const since = this.#staleSince.get(key) ?? now;
      this.#staleSince.set(key, since);
      if (now - since < this.#options.graceMs) continue;
      try {
        await this.#ctx.nb.transact(freeStaleOps(keys), signal);
        this.#ctx.metrics.removed('stale_guard');
        this.#ctx.log.info({ port: keys.port, addresses: [...keys.pairs.keys()] }, 'reconciler freed the guard keys of a port that is gone');
      } catch (err) {
        // A port of that name exists again (its keys are its own), or the NB is away: next pass.
        this.#ctx.log.debug({ err, port: keys.port }, 'stale guard keys not freed');
      }
      this.#staleSince.delete(key);
    }
  }

  /**
   * Drops suspects that need nothing more: alive (their veth exists), or with no record in
   * either database for a whole grace period (a failed ADD's transaction that never committed).
   * While any is left, another pass comes soon.
   */
  #forgetSuspects(owned: ReadonlyMap<string, OwnedAttachment>, live: ReadonlySet<string>, now: number): void {
    if (this.#unkept > 0) {
      this.#ctx.log.warn({ unkept: this.#unkept, max: MAX_SUSPECTS }, 'suspects not kept, the set being full: those that are dead go after the grace period');
      this.#unkept = 0;
    }
    for (const [key, { attachment, since }] of this.#suspects) {
      if (this.#lock.busy(key)) continue;
      const alive = live.has(hostVethName(attachment.containerId, attachment.ifName));
      const settled = !owned.has(key) && this.#ctx.nb.connected && this.#ctx.ovs.connected && now - since >= this.#options.graceMs;
      if (alive || settled) this.#suspects.delete(key);
    }
    if (this.#suspects.size > 0) this.#retrySoon();
  }

  /** Deletes host veths that no database has recorded for a whole grace period. */
  async #removeOrphanVeths(live: ReadonlySet<string>, owned: ReadonlyMap<string, OwnedAttachment>, now: number, signal: AbortSignal): Promise<void> {
    // Without both databases (or before their first contents) nothing can be called an orphan.
    if (!this.#ctx.nb.connected || !this.#ctx.ovs.connected) {
      this.#orphanSince.clear();
      return;
    }
    const recorded = new Set([...owned.values()].map((a) => hostVethName(a.containerId, a.ifName)));
    for (const name of this.#orphanSince.keys()) if (!live.has(name) || recorded.has(name)) this.#orphanSince.delete(name);
    for (const name of live) {
      if (recorded.has(name) || !isHostVethName(name)) continue;
      const since = this.#orphanSince.get(name) ?? now;
      this.#orphanSince.set(name, since);
      if (now - since < this.#options.graceMs) continue;
      // A last look: recorded meanwhile (an ADD that began after this pass read the databases)?
      const again = ownedAttachments(this.#ctx);
      if ([...again.values()].some((a) => hostVethName(a.containerId, a.ifName) === name)) continue;
      await deleteLink(name, signal);
      this.#orphanSince.delete(name);
      this.#ctx.metrics.removed('orphan_veth');
      this.#ctx.log.info({ veth: name, reason: REMOVAL_TEXT.orphan_veth }, 'reconciler removed orphan veth');
    }
  }

  /**
   * Removes one attachment under its lock, after checking once more that its veth is still gone.
   * Returns false when it turned out to be alive or a database part had to be deferred again.
   */
  async remove(attachment: OwnedAttachment, reason: RemovalReason, signal: AbortSignal, checkAlive = true): Promise<boolean> {
    const key = attachmentKey(attachment);
    const log = this.#ctx.log.child({ containerId: attachment.containerId, ifname: attachment.ifName, network: attachment.network });
    return this.#lock.run(key, async () => {
      if (checkAlive && (await this.#alive(attachment, undefined, signal))) return false;
      const { ovsPort, logicalPort, veth } = await deleteAttachment(this.#ctx, attachment, log, signal);
      await veth;
      this.#deadSince.delete(key);
      const done = logicalPort !== 'deferred' && ovsPort !== 'deferred';
      if (done) this.#ctx.metrics.removed(reason);
      log.info({ reason: REMOVAL_TEXT[reason], ovsPort, logicalPort }, 'reconciler removed attachment');
      // A CNI GC is the runtime's own request; anything else was left behind.
      if (attachment.pod !== undefined) this.#ctx.events?.attachmentRemoved(attachment.pod, attachment.network, attachment.ifName, REMOVAL_TEXT[reason], reason === 'cni_gc' ? 'Normal' : 'Warning');
      return done;
    });
  }
}
