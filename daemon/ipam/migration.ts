/**
 * Live migration of a VM with an IPAMClaim (OVN multi-chassis binding). The claim has one logical
 * switch port; a second pod of the claim (the migration target, on any node) does not get a port
 * of its own but joins that one: its OVS interface gets iface-id = the port's name, its identity
 * goes into the port's external_ids under the migration-target keys (ids.ts), and the port's
 * options become
 *
 *   requested-chassis   = "<source chassis>,<target chassis>"
 *   activation-strategy = "rarp"
 *
 * so OVN binds the port on both chassis, sends the VM's traffic to both, and lets the target's
 * through (both ways) once ovn-controller there sees the VM's first RARP (QEMU announces a
 * migrated VM with RARPs). Traffic follows the VM at once, not when the source pod is deleted.
 *
 * The source's DEL hands the port over: the target's identity becomes the owner's, the
 * requested chassis the target's only, activation-strategy goes. The target's DEL (a failed or
 * cancelled migration, or the undo of its ADD) leaves the source as it was: only its chassis,
 * no activation-strategy, no target keys.
 *
 * Every change of a shared port is guarded by the port row itself: a `wait` selects it by `_uuid`
 * (a direct look-up) and commits only while its external_ids and options are exactly those the
 * daemon read, so two writers (the source's DEL and the target's ADD, on two nodes) never both
 * commit on the same state.
 */
import { valuesEqual, type Uuid } from '../ovsdb/notation.ts';
import { isGuardConflict, SameChassisError, ChassisUnknownError } from '../errors.ts';
import { eq, type Operation } from '../ovsdb/ops.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { asTargetIds, chassisOf, hasTarget, IDENTITY_KEYS, OwnerKeys, roleOf, targetIdsOf, targetKey } from '../ovn/ids.ts';
import { deletePortOps, findAttachmentPort, type LogicalPort } from '../ovn/ports.ts';
import { switchOfPort } from '../ovn/switches.ts';
import { type NbClient, type PortRow, nbOps } from '../ovn/nb.ts';
import { catchUp } from './catch-up.ts';

export const REQUESTED_CHASSIS = 'requested-chassis';
export const ACTIVATION_STRATEGY = 'activation-strategy';

const MAX_ATTEMPTS = 50;

/** A port as this daemon made or changed it, with its switch: what the cache may not show yet. */
export interface KnownPort {
  port: LogicalPort;
  switchUuid: Uuid;
}

/** Commits only while the port's external_ids and options are exactly as read. */
export function portGuard(port: LogicalPort): Operation {
  return nbOps.wait(NbTable.Logical_Switch_Port, [eq('_uuid', port.uuid)], ['external_ids', 'options'], '==', [{ external_ids: port.externalIds, options: port.options ?? new Map<string, string>() }], 0);
}

function rewrite(port: LogicalPort, externalIds: ReadonlyMap<string, string>, options: ReadonlyMap<string, string>): Operation[] {
  return [portGuard(port), nbOps.update(NbTable.Logical_Switch_Port, [eq('_uuid', port.uuid)], { external_ids: externalIds, options })];
}

/** The port's options with requested-chassis `chassis` and activation-strategy as given (absent: removed). */
function withChassis(port: LogicalPort, chassis: string | undefined, activation: string | undefined): Map<string, string> {
  const options = new Map(port.options);
  for (const [key, value] of [[REQUESTED_CHASSIS, chassis], [ACTIVATION_STRATEGY, activation]] as const) {
    if (value === undefined) options.delete(key);
    else options.set(key, value);
  }
  return options;
}

/** The port's external_ids without either attachment's identity. */
function withoutIdentities(ids: ReadonlyMap<string, string>): Map<string, string> {
  const rest = new Map(ids);
  for (const key of IDENTITY_KEYS) {
    rest.delete(key);
    rest.delete(targetKey(key));
  }
  return rest;
}

/**
 * The migration target `target` (its owner ids, with its chassis) joins the claim's port: two
 * operations, the first the guard; and the port as they leave it.
 */
export function joinOps(port: LogicalPort, target: ReadonlyMap<string, string>): { ops: Operation[]; port: LogicalPort } {
  const source = chassisOf(port.externalIds);
  const dest = target.get(OwnerKeys.chassis);
  if (dest === undefined) throw new ChassisUnknownError('the target has no chassis');
  if (source === dest || port.externalIds.get(OwnerKeys.node) === target.get(OwnerKeys.node)) {
    throw new SameChassisError(`the claim's port ${port.name} is bound to this node's chassis ${dest} already`);
  }
  const chassis = source === undefined ? dest : `${source},${dest}`;
  const joined = { ...port, externalIds: new Map([...port.externalIds, ...asTargetIds(target)]), options: withChassis(port, chassis, 'rarp') };
  return { ops: rewrite(port, joined.externalIds, joined.options), port: joined };
}

/** The migration target leaves (its DEL, or its ADD undone): the source as it was. */
export function leaveOps(port: LogicalPort): Operation[] {
  const ids = new Map(port.externalIds);
  for (const key of IDENTITY_KEYS) ids.delete(targetKey(key));
  return rewrite(port, ids, withChassis(port, chassisOf(port.externalIds), undefined));
}

/** The source leaves while a target shares the port (the migration is over): the target owns it. */
export function handOverOps(port: LogicalPort): Operation[] {
  const target = targetIdsOf(port.externalIds);
  return rewrite(port, new Map([...withoutIdentities(port.externalIds), ...target]), withChassis(port, chassisOf(target), undefined));
}

/** Whether an attachment of the port (owner or target) is the other's partner in a migration. */
export function isShared(port: LogicalPort): boolean {
  return hasTarget(port.externalIds);
}

/**
 * Takes an IPAMClaim's port from the attachment (container ID + ifname): a target leaves, an
 * owner with a target hands the port over, an owner alone deletes it (the claim's reservation
 * stays on the switch). Each try reads the port from the cache, whose role may have changed
 * meanwhile (a target whose source was just deleted is the owner now); a guard that fails waits
 * for the cache to catch up and tries again. Resolves once the attachment has no port. `known`:
 * the port as this daemon just made or joined it, for a first try before the cache shows it.
 */
export async function detachClaimPort(nb: NbClient, who: { containerId: string; ifName: string }, signal: AbortSignal, known?: KnownPort): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const found = findAttachmentPort(nb, who.containerId, who.ifName);
    const switchUuid = found === undefined ? undefined : switchOfPort(nb, found.port.uuid)?.uuid;
    const guess = attempt === 0 && found === undefined && known !== undefined ? known : undefined;
    const role = found?.role ?? (guess === undefined ? undefined : roleOf(guess.port.externalIds, who.containerId, who.ifName));
    const port = found?.port ?? guess?.port;
    const sw = switchUuid ?? guess?.switchUuid;
    if (port === undefined || sw === undefined || role === undefined) return;
    const ops = role === 'target' ? leaveOps(port) : isShared(port) ? handOverOps(port) : [portGuard(port), ...deletePortOps(sw, port)];
    try {
      await nb.transact(ops, signal);
      return;
    } catch (err) {
      if (!isGuardConflict(err, 1) || attempt + 1 >= MAX_ATTEMPTS) throw err;
      await portCatchUp(nb, port, signal);
    }
  }
}

/** Waits until the cache shows the port other than `port`, or gone. */
export function portCatchUp(nb: NbClient, port: LogicalPort, signal: AbortSignal): Promise<void> {
  const changed = (r: PortRow): boolean =>
    !valuesEqual(r.external_ids, port.externalIds) || !valuesEqual(r.options, port.options ?? new Map<string, string>());
  return catchUp(nb, NbTable.Logical_Switch_Port, port.uuid, changed, signal);
}
