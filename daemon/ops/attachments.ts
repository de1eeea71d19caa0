/**
 * `ovn-multinetd attachments [--node N] [--network X] [--pod NS/NAME]`: one row per attachment
 * the NB records (a logical switch port of ours; a port an IPAMClaim's live migration shares
 * gives its target a row too): pod, interface, addresses, MAC, port, node, and its state: `up`
 * of the port (the NB's word: ovn-controller bound it), and on the node the command runs on,
 * with --ovs-db, `ovn-installed` of its br-int interface and whether its host veth exists. The
 * NB records no creation time, so no age is shown. `attachmentRows` is pure.
 */
import { hostVethName } from '../cni-spec/names.ts';
import { shown } from '../cni-spec/errors.ts';
import { validateContainerId, validateIfName } from '../cni-spec/env.ts';
import { isDnsLabel, isDnsSubdomain } from '../k8s/names.ts';
import { flagReader, nbFlags, type NbFlags } from '../lib/flags.ts';
import { OWNER_VALUE, OwnerKeys, hasTarget, targetIdsOf } from '../ovn/ids.ts';
import { portAddresses } from '../ovn/indexes.ts';
import { FlagError } from '../errors.ts';
import { readNbSnapshot, type NbSnapshot, type OpsPortRow } from './nb-snapshot.ts';
import { localFlags, lookLocally, type LocalFlags, type LocalLook } from './local.ts';
import { byText, outputFlag, print, render, renderTable, type Column, type OutputFormat } from './output.ts';

export interface AttachmentRow {
  /** namespace/name, when the runtime passed the pod. */
  pod: string | undefined;
  podUid: string | undefined;
  interface: string;
  containerId: string;
  network: string;
  switch: string;
  port: string;
  node: string;
  /** owner, or the target of a live migration sharing the port. */
  role: 'owner' | 'migration-target';
  addresses: string[];
  mac: string | undefined;
  /** An IPAM-only record (another plugin's interface): no port of its own, no veth of ours. */
  ipamOnly: boolean;
  /** The IPAMClaim it was attached for. */
  ipamClaim: string | undefined;
  /** The port's `up` in the NB (undefined: not set yet). */
  up: boolean | undefined;
  /** On the node looked at (--ovs-db): its br-int interface's ovn-installed; undefined elsewhere. */
  ovnInstalled: boolean | undefined;
  /** On the node looked at: whether its host veth exists; undefined elsewhere. */
  veth: boolean | undefined;
  /** What is wrong with the row (malformed ids or addresses); empty when nothing. */
  invalid: string[];
}

export interface AttachmentFilter {
  node?: string | undefined;
  /** A network name or a switch name. */
  network?: string | undefined;
  /** namespace/name. */
  pod?: string | undefined;
}

/** What is wrong with an attachment's ids, one phrase each. */
function problems(ids: ReadonlyMap<string, string>, port: OpsPortRow, mac: string | undefined, ipamOnly: boolean): string[] {
  const found: string[] = [];
  const check = (key: string, ok: (value: string) => unknown): void => {
    const value = ids.get(key);
    if (value === undefined) {
      found.push(`no ${key}`);
      return;
    }
    try {
      if (ok(value) === false) found.push(`${key} ${shown(value)} is not valid`);
    } catch {
      found.push(`${key} ${shown(value)} is not valid`);
    }
  };
  check(OwnerKeys.containerId, validateContainerId);
  check(OwnerKeys.ifName, validateIfName);
  check(OwnerKeys.node, (v) => v !== '');
  if (ids.has(OwnerKeys.podNamespace)) check(OwnerKeys.podNamespace, isDnsLabel);
  if (ids.has(OwnerKeys.podName)) check(OwnerKeys.podName, isDnsSubdomain);
  if (!ipamOnly && mac === undefined) found.push(`addresses ${shown(port.addresses.join(' | '))} hold no "MAC IP..." entry`);
  return found;
}

function row(ids: ReadonlyMap<string, string>, port: OpsPortRow, switchName: string, role: AttachmentRow['role'], local: LocalLook | undefined): AttachmentRow {
  const { macs, ips } = portAddresses(port);
  const ipamOnly = port.external_ids.has(OwnerKeys.ipamOnly);
  const namespace = ids.get(OwnerKeys.podNamespace);
  const name = ids.get(OwnerKeys.podName);
  const containerId = ids.get(OwnerKeys.containerId) ?? '';
  const ifName = ids.get(OwnerKeys.ifName) ?? '';
  const node = ids.get(OwnerKeys.node) ?? '';
  const looked = local !== undefined && node === local.node && !ipamOnly;
  const veth = hostVethName(containerId, ifName);
  return {
    pod: namespace === undefined || name === undefined ? undefined : `${namespace}/${name}`,
    podUid: ids.get(OwnerKeys.podUid),
    interface: ifName,
    containerId,
    network: ids.get(OwnerKeys.network) ?? '',
    switch: switchName,
    port: port.name,
    node,
    role,
    addresses: ips,
    mac: macs[0],
    ipamOnly,
    ipamClaim: port.external_ids.get(OwnerKeys.ipamClaim),
    up: port.up,
    ovnInstalled: looked ? local.ovnInstalled(veth) : undefined,
    veth: looked ? local.veths.has(veth) : undefined,
    invalid: problems(ids, port, macs[0], ipamOnly),
  };
}

function matches(r: AttachmentRow, filter: AttachmentFilter): boolean {
  return (filter.node === undefined || r.node === filter.node) &&
    (filter.network === undefined || r.network === filter.network || r.switch === filter.network) &&
    (filter.pod === undefined || r.pod === filter.pod);
}

/** The attachments the snapshot records, filtered, by pod then interface then node. */
export function attachmentRows(snapshot: NbSnapshot, filter: AttachmentFilter = {}, local?: LocalLook): AttachmentRow[] {
  const rows: AttachmentRow[] = [];
  for (const sw of snapshot.switches) {
    for (const uuid of sw.ports) {
      const port = snapshot.ports.get(uuid);
      if (port?.external_ids.get(OwnerKeys.owner) !== OWNER_VALUE) continue;
      rows.push(row(port.external_ids, port, sw.name, 'owner', local));
      if (hasTarget(port.external_ids)) rows.push(row(targetIdsOf(port.external_ids), port, sw.name, 'migration-target', local));
    }
  }
  const key = (r: AttachmentRow): string => `${r.pod ?? '~'}\u0000${r.interface}\u0000${r.node}\u0000${r.port}`;
  return rows.filter((r) => matches(r, filter)).sort((a, b) => byText(key(a), key(b)));
}

const yesNo = (value: boolean | undefined): string => (value === undefined ? '-' : value ? 'yes' : 'no');

const ATTACHMENT_COLUMNS: ReadonlyArray<Column<AttachmentRow>> = [
  { header: 'pod', value: (r) => r.pod ?? '' },
  { header: 'interface', value: (r) => r.interface },
  { header: 'network', value: (r) => r.network },
  { header: 'addresses', value: (r) => r.addresses.join(',') },
  { header: 'mac', value: (r) => r.mac ?? '' },
  { header: 'port', value: (r) => r.port },
  { header: 'node', value: (r) => r.node },
  { header: 'up', value: (r) => (r.up === undefined ? '-' : String(r.up)) },
  { header: 'ovn-installed', value: (r) => yesNo(r.ovnInstalled) },
  { header: 'veth', value: (r) => (r.ipamOnly ? 'ipam-only' : yesNo(r.veth)) },
  { header: 'problems', value: (r) => (r.invalid.length === 0 ? '' : `invalid: ${r.invalid.join('; ')}`) },
];

export function attachmentsTable(rows: readonly AttachmentRow[]): string {
  return renderTable(rows, ATTACHMENT_COLUMNS);
}

/** namespace/name, checked. */
export function podFlag(value: string): { namespace: string; name: string } {
  const [namespace = '', name = '', ...rest] = value.split('/');
  if (rest.length > 0 || !isDnsLabel(namespace) || !isDnsSubdomain(name)) throw new FlagError(`${shown(value)} is not NAMESPACE/NAME`);
  return { namespace, name };
}

export interface AttachmentsOptions extends NbFlags, LocalFlags {
  timeoutMs: number;
  output: OutputFormat;
  filter: AttachmentFilter;
}

export function parseAttachmentsFlags(flags: Record<string, unknown>): AttachmentsOptions {
  const { optional, num } = flagReader(flags);
  const pod = optional('pod');
  if (pod !== undefined) podFlag(pod);
  return { ...nbFlags(flags), ...localFlags(flags), timeoutMs: num('timeout'), output: outputFlag(flags), filter: { node: optional('node'), network: optional('network'), pod } };
}

export async function runAttachments(options: AttachmentsOptions): Promise<void> {
  const snapshot = await readNbSnapshot(options, options.timeoutMs);
  const local = await lookLocally(options, options.timeoutMs);
  const rows = attachmentRows(snapshot, options.filter, local);
  await print(await render(options.output, { attachments: rows }, () => attachmentsTable(rows)));
}
