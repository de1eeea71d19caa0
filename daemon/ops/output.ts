/**
 * What every operator command (`networks`, `attachments`, `inspect`, `status`) prints, and how
 * it exits: a table by default (aligned columns, as kubectl prints them), `-o json` or
 * `-o yaml` (the same data, for scripts). Pure except `print`. docs/operations.md.
 */
import { Option } from 'commander';
import { FlagError, OpsNotFoundError, errorCodes } from '../errors.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The `-o, --output` option every operator command takes. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'table, json or yaml').choices(OUTPUT_FORMATS).default('table');
}

/** `-o` as commander hands it over (its choices already checked). */
export function outputFlag(flags: Record<string, unknown>): OutputFormat {
  const found = OUTPUT_FORMATS.find((f) => f === flags['output']);
  if (found === undefined) throw new FlagError(`--output must be one of ${OUTPUT_FORMATS.join(', ')}`);
  return found;
}

/** The exit codes of the operator commands, for scripts (docs/operations.md). */
export const ExitCode = {
  ok: 0,
  /** The command could not do its work: a database or the daemon not reachable, ... (stderr says). */
  failure: 1,
  /** The command line is wrong (commander's errors, bad flag values). */
  usage: 2,
  /** What was asked about does not exist (inspect: no attachment and no pod). */
  notFound: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of an error a command threw. */
export function exitCodeOf(err: unknown): ExitCode {
  const codes = errorCodes(err);
  if (codes.includes(OpsNotFoundError.code)) return ExitCode.notFound;
  if (codes.includes(FlagError.code)) return ExitCode.usage;
  return ExitCode.failure;
}

/**
 * A value of the databases or the API as it may be printed in a table cell: control characters
 * (a terminal's escape sequences among them) shown as escapes, an empty value as `-`. NB rows and
 * annotations are anyone's input.
 */
export function cell(value: string): string {
  if (value === '') return '-';
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Code-point order: the same on every machine, whatever its locale (rows sort by it). */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface Column<R> {
  header: string;
  value: (row: R) => string;
}

/** Rows as aligned columns (headers uppercase, three spaces apart, as kubectl prints them). */
export function renderTable<R>(rows: readonly R[], columns: ReadonlyArray<Column<R>>): string {
  const lines = [columns.map((c) => c.header.toUpperCase()), ...rows.map((row) => columns.map((c) => cell(c.value(row))))];
  const widths = columns.map((_, i) => Math.max(...lines.map((line) => (line[i] ?? '').length)));
  return lines.map((line) => line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i] ?? 0))).join('   ').trimEnd()).join('\n') + '\n';
}

/** Name-value pairs, one a line, the values aligned (as kubectl describe prints them). */
export function renderFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...fields.map(([name]) => name.length + 1));
  return fields.map(([name, value]) => `${`${name}:`.padEnd(width)}   ${cell(value)}`.trimEnd()).join('\n') + '\n';
}

/**
 * `data` as JSON (two-space indent) or YAML: a bigint becomes its decimal string, a field that is
 * undefined becomes null (every field is there for a script to read).
 */
export async function renderData(format: Exclude<OutputFormat, 'table'>, data: unknown): Promise<string> {
  const plain: unknown = JSON.parse(JSON.stringify(data, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value === undefined ? null : value)));
  if (format === 'json') return `${JSON.stringify(plain, null, 2)}\n`;
  const { dumpYaml } = await import('@kubernetes/client-node');
  return dumpYaml(plain);
}

/** What a command prints: the table, or the data in the format asked for. */
export async function render(format: OutputFormat, data: unknown, table: () => string): Promise<string> {
  return format === 'table' ? table() : renderData(format, data);
}

/**
 * A progress line for long work (`gc` over many ports): on a terminal, rewritten in place at most
 * every 100 ms; elsewhere (--progress into a file or pipe), a line at most every second. The last
 * call (done = total) always writes, and ends the line. Nothing for no work at all.
 */
export function progressLine(write: (text: string) => void, tty: boolean, label: string, now: () => number = () => performance.now()): (done: number, total: number) => void {
  const intervalMs = tty ? 100 : 1000;
  let last = -Infinity;
  return (done, total) => {
    const end = done >= total;
    if (total === 0 || (!end && now() - last < intervalMs)) return;
    last = now();
    const text = `${label}: ${done}/${total}`;
    write(tty ? `\r${text}${end ? '\n' : ''}` : `${text}\n`);
  };
}

/** Writes to stdout and resolves once it is flushed (a pipe: the process may exit right after). */
export function print(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err === undefined || err === null ? resolve() : reject(err))));
}
