/**
 * `ovn-multinetd gc --node NAME`: for an admin without Kubernetes (or a controller), releases the
 * attachments of a node that is gone, as the controller does for a deleted Node object. Prints a
 * line per logical switch port removed, then the count; over many ports, a progress line on
 * stderr when it is a terminal (or with --progress).
 */
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../lib/log.ts';
import { flagReader, logLevelFlag, nbFlags, type NbFlags } from '../lib/flags.ts';
import { releaseNode, type ReleasedPort } from '../attachments/release-node.ts';
import { GcFailedError, FlagError } from '../errors.ts';
import { progressLine } from './output.ts';

export interface GcOptions extends NbFlags {
  node: string;
  timeoutMs: number;
  logLevel: LevelWithSilent;
  /** --progress: the progress line on stderr even when it is not a terminal. */
  progress: boolean;
}

export function parseGcFlags(flags: Record<string, unknown>): GcOptions {
  const { str, num } = flagReader(flags);
  const node = str('node');
  if (node.trim() === '') throw new FlagError('--node must name a node');
  return { ...nbFlags(flags), node, timeoutMs: num('timeout'), logLevel: logLevelFlag(flags), progress: flags['progress'] === true };
}

/** One line per port: name, switch, addresses, container (and pod). */
export function describeReleased(p: ReleasedPort): string {
  const owner = [p.containerId === undefined ? undefined : `container ${p.containerId}`, p.pod === undefined ? undefined : `pod ${p.pod}`].filter((s) => s !== undefined);
  return `removed ${p.name} from ${p.switchName}: ${p.entry === '' ? 'no address' : p.entry}${owner.length === 0 ? '' : ` (${owner.join(', ')})`}`;
}

/** Releases the node's ports and prints them; throws GcFailedError naming what went wrong. */
export async function runGc(options: GcOptions, out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  const log = createLogger(options.logLevel);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let released: ReleasedPort[];
  try {
    const tty = process.stderr.isTTY;
    const progress = tty || options.progress ? progressLine((text) => process.stderr.write(text), tty, `releasing the ports of node ${options.node}`) : undefined;
    released = await releaseNode(options, options.node, log, signal, progress);
  } catch (err) {
    const why = signal.aborted ? `not done within ${options.timeoutMs} ms (is the NB at ${options.nbDb.join(',')} reachable?)` : err instanceof Error ? err.message : String(err);
    throw new GcFailedError(`gc --node ${options.node}: ${why}`, { cause: err });
  }
  for (const p of released) out(describeReleased(p));
  out(`${released.length} logical switch port${released.length === 1 ? '' : 's'} of node ${options.node} removed`);
  return released.length;
}
