/**
 * Reads an OVSDB standalone database file as its transaction log (`ovsdb-tool show-log -mm`):
 * ovsdb-server appends one record per committed transaction, stamped with the commit time (ms,
 * printed in UTC) and the transaction's "comment" operations. ovn-northd and ovn-controller
 * comment their transactions; ovn-nbctl/ovs-vsctl comment theirs with their command line;
 * ovn-multinet's daemon sends none. ovsdb-server compacts a file no sooner than ~10 minutes after
 * it starts, far beyond this bench; shrinking record numbers are still detected.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { basePath } from './spawn.ts';

const execFileAsync = promisify(execFile);

export type ChangeKind = 'insert' | 'modify' | 'delete';

export interface Change {
  readonly table: string;
  /** The row's name for tables with one (Interface, Logical_Switch_Port...), else its short uuid. */
  readonly row: string;
  readonly kind: ChangeKind;
  /** The column lines of the diff, trimmed. */
  readonly columns: readonly string[];
}

export interface DbRecord {
  readonly index: number;
  /** Commit time, ms since the epoch. */
  readonly timeMs: number;
  /** First line of the transaction's comment up to ':', e.g. "ovn-northd", "ovn-nbctl"; undefined without a comment. */
  readonly writer: string | undefined;
  readonly changes: readonly Change[];
}

const RECORD = /^record (\d+): (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(.*)$/;
const CHANGE = /^ {2}table (\S+) (insert row|row) (?:"((?:[^"\\]|\\.)*)"|([0-9a-f]{8}))/;

interface Building {
  index: number;
  timeMs: number;
  comment: string[] | undefined;
  commentOpen: boolean;
  changes: Array<{ table: string; row: string; kind: ChangeKind; columns: string[] }>;
}

function writerOf(comment: readonly string[] | undefined): string | undefined {
  const first = comment?.[0];
  if (first === undefined) return undefined;
  const name = first.split(':')[0]?.trim() ?? '';
  return name === '' ? first : name;
}

function finish(b: Building): DbRecord {
  return { index: b.index, timeMs: b.timeMs, writer: writerOf(b.comment), changes: b.changes.map((c) => ({ ...c })) };
}

/** Parses `ovsdb-tool show-log -mm` output (run with TZ=UTC). Record 0 (the schema) has no time and is skipped. */
export function parseShowLog(text: string): DbRecord[] {
  const records: DbRecord[] = [];
  let cur: Building | undefined;
  for (const line of text.split('\n')) {
    const head = RECORD.exec(line);
    if (head !== null) {
      if (cur !== undefined) records.push(finish(cur));
      const [, index = '', date = '', time = '', rest = ''] = head;
      const timeMs = Date.parse(`${date}T${time}Z`);
      cur = { index: Number(index), timeMs, comment: undefined, commentOpen: false, changes: [] };
      const trimmed = rest.trim();
      if (trimmed.startsWith('"')) {
        const body = trimmed.slice(1);
        const closed = body.endsWith('"');
        cur.comment = [closed ? body.slice(0, -1) : body];
        cur.commentOpen = !closed;
      }
      if (Number.isNaN(timeMs)) cur = undefined;
      continue;
    }
    if (cur === undefined) continue;
    const change = CHANGE.exec(line);
    if (change !== null) {
      cur.commentOpen = false;
      const [, table = '', how = '', named, uuid] = change;
      cur.changes.push({ table, row: named ?? uuid ?? '', kind: how === 'insert row' ? 'insert' : 'modify', columns: [] });
      continue;
    }
    if (cur.commentOpen) {
      const closed = line.endsWith('"');
      cur.comment?.push(closed ? line.slice(0, -1) : line);
      cur.commentOpen = !closed;
      continue;
    }
    const last = cur.changes[cur.changes.length - 1];
    if (last !== undefined && line.startsWith('    ')) {
      const col = line.trim();
      if (col === 'delete row') last.kind = 'delete';
      else last.columns.push(col);
    }
  }
  if (cur !== undefined) records.push(finish(cur));
  return records;
}

export async function readDbLog(file: string): Promise<DbRecord[]> {
  const { stdout } = await execFileAsync('ovsdb-tool', ['show-log', '-mm', file], {
    env: { PATH: basePath(), TZ: 'UTC' },
    maxBuffer: 512 * 1024 * 1024,
    timeout: 60_000,
  });
  return parseShowLog(stdout);
}

/** Index of the newest record (0 for a fresh file). */
export function lastIndex(records: readonly DbRecord[]): number {
  return records.reduce((max, r) => Math.max(max, r.index), 0);
}

/** Records with after < index <= through, counted per writer ("(no comment)" for none). */
export function countByWriter(records: readonly DbRecord[], after: number, through: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    if (r.index <= after || r.index > through) continue;
    const w = r.writer ?? NO_COMMENT;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

export const NO_COMMENT = '(no comment)';

/** Commit time of the first record with a change matching `match`, at or after `notBefore` ms. */
export function firstChange(records: readonly DbRecord[], match: (c: Change, r: DbRecord) => boolean, notBefore = -Infinity): number | undefined {
  for (const r of records) {
    if (r.timeMs < notBefore) continue;
    if (r.changes.some((c) => match(c, r))) return r.timeMs;
  }
  return undefined;
}
