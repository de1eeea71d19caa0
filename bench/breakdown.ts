/**
 * Where the time of one ovn-multinet ADD/DEL goes, by lining up on one wall clock: the bench's
 * spawn/exit stamps, the commit times of the NB and Open_vSwitch transactions (database logs,
 * ms resolution) and the daemon's log lines (pino `time`, ms). For the CLI script, the per-command
 * times measured directly.
 */
import { hostVethName, logicalPortName } from '../daemon/cni-spec/names.ts';
import { firstChange, type DbRecord } from './ovsdb-log.ts';
import type { Sample } from './method.ts';
import { summarize, type Summary } from './stats.ts';

export interface Segment {
  readonly label: string;
  readonly summary: Summary;
}

export type DaemonLog = Readonly<Record<string, unknown>>;

function logTime(logs: readonly DaemonLog[], msg: string, command: string, containerId: string): number | undefined {
  for (const entry of logs) {
    if (entry['msg'] === msg && entry['command'] === command && entry['containerId'] === containerId) {
      const t = entry['time'];
      if (typeof t === 'number') return t;
    }
  }
  return undefined;
}

/** Segments from chosen pairs of timestamps [label, from, to]; a sample missing any timestamp is left out. */
function spans(pairs: ReadonlyArray<readonly [string, number, number]>, rows: ReadonlyArray<ReadonlyArray<number | undefined>>): Segment[] {
  const complete = rows.filter((r): r is number[] => r.every((x) => x !== undefined));
  return pairs.map(([label, from, to]) => ({ label, summary: summarize(complete.map((r) => (r[to] ?? 0) - (r[from] ?? 0))) }));
}

export interface Sources {
  readonly nb: readonly DbRecord[];
  readonly ovs: readonly DbRecord[];
  readonly daemon: readonly DaemonLog[];
}

/**
 * A fresh ADD commits its logical switch port and makes its veth and OVS port at the same time,
 * so both commits are measured from the spawn; OVN's binding from the LSP commit.
 */
export const ADD_SEGMENTS = [
  'spawn → LSP committed in NB (ip netns exec, Go executable start, request to daemon, NB transaction)',
  'spawn → OVS port committed (the same, then the veth pair and the OVS transaction, beside the NB one)',
  'LSP committed → ovn-installed written (ovn-northd and ovn-controller: OVN\'s share)',
  'ovn-installed written → daemon logs "attached" (monitor update; the pod end was configured meanwhile)',
  '"attached" → executable exits (reply over the socket, print result, exit)',
] as const;

/** Index in addBreakdown()'s result of OVN's share (LSP committed → ovn-installed). */
export const OVN_BINDING_SEGMENT = 2;

export function addBreakdown(samples: readonly Sample[], src: Sources): Segment[] {
  const rows = samples
    .filter((s) => s.ok && s.pod !== undefined)
    .map((s) => {
      const pod = s.pod;
      if (pod === undefined) return [];
      const lsp = logicalPortName(pod.containerId, pod.ifName);
      const veth = hostVethName(pod.containerId, pod.ifName);
      const tLsp = firstChange(src.nb, (c) => c.table === 'Logical_Switch_Port' && c.kind === 'insert' && c.row === lsp);
      const tIface = firstChange(src.ovs, (c) => c.table === 'Interface' && c.kind === 'insert' && c.row === veth);
      const tInstalled =
        tIface === undefined
          ? undefined
          : firstChange(src.ovs, (c) => c.table === 'Interface' && c.row === veth && c.columns.some((col) => col.includes('ovn-installed="true"')), tIface);
      const tAttached = logTime(src.daemon, 'attached', 'ADD', pod.containerId);
      return [s.start.wallMs, tLsp, tIface, tInstalled, tAttached, s.end.wallMs];
    });
  const [spawnLsp, spawnIface, binding, installedAttached, attachedExit] = ADD_SEGMENTS;
  return spans(
    [
      [spawnLsp, 0, 1],
      [spawnIface, 0, 2],
      [binding, 1, 3],
      [installedAttached, 3, 4],
      [attachedExit, 4, 5],
    ],
    rows,
  );
}

/**
 * The daemon deletes the OVS port and the LSP at the same time, answers once both are committed,
 * and destroys the veth after answering ("detached" is logged when the veth is gone). So the two
 * commits are each measured from the spawn, and "detached" from the later commit.
 */
export const DEL_SEGMENTS = [
  'spawn → OVS port deleted (ip netns exec, Go executable start, request to daemon, OVS transaction)',
  'spawn → LSP deleted in NB (the same, NB transaction; at the same time as the OVS one)',
  'later of the two commits → executable exits (reply over the socket, exit)',
  'later of the two commits → daemon logs "detached" (veth destroyed; the answer does not wait for it)',
] as const;

export function delBreakdown(samples: readonly Sample[], src: Sources): Segment[] {
  const rows = samples
    .filter((s) => s.ok && s.pod !== undefined)
    .map((s) => {
      const pod = s.pod;
      if (pod === undefined) return [];
      const lsp = logicalPortName(pod.containerId, pod.ifName);
      const veth = hostVethName(pod.containerId, pod.ifName);
      const tIface = firstChange(src.ovs, (c) => c.table === 'Interface' && c.kind === 'delete' && c.row === veth);
      const tLsp = firstChange(src.nb, (c) => c.table === 'Logical_Switch_Port' && c.kind === 'delete' && c.row === lsp);
      const tCommitted = tIface === undefined || tLsp === undefined ? undefined : Math.max(tIface, tLsp);
      const tDetached = logTime(src.daemon, 'detached', 'DEL', pod.containerId);
      return [s.start.wallMs, tIface, tLsp, tCommitted, s.end.wallMs, tDetached];
    });
  const [spawnIface, spawnLsp, committedExit, committedDetached] = DEL_SEGMENTS;
  return spans(
    [
      [spawnIface, 0, 1],
      [spawnLsp, 0, 2],
      [committedExit, 3, 4],
      [committedDetached, 3, 5],
    ],
    rows,
  );
}

/** Per-command times of a multi-step method, in the order the commands first appear. */
export function stepBreakdown(samples: readonly Sample[]): Segment[] {
  const byLabel = new Map<string, number[]>();
  for (const s of samples) {
    if (!s.ok) continue;
    for (const step of s.steps) {
      const list = byLabel.get(step.label) ?? [];
      list.push(step.ms);
      byLabel.set(step.label, list);
    }
  }
  return [...byLabel].map(([label, ms]) => ({ label, summary: summarize(ms) }));
}
