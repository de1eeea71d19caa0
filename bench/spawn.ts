/** Runs one process (argument array, no shell) and times it from spawn() to 'close'. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Teardown } from '../test/helpers/netns.ts';
import { elapsedMs, stamp, type Stamp } from './clock.ts';

export interface SpawnOptions {
  /** The whole environment of the child (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** Killed with SIGKILL after this long (default 60 s). */
  readonly timeoutMs?: number;
}

export interface Timed {
  readonly ms: number;
  readonly start: Stamp;
  readonly end: Stamp;
  /** null when the child was killed or never started. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why the child did not run to an exit code, if so. */
  readonly failure: string | undefined;
}

export function timedSpawn(file: string, args: readonly string[], opts: SpawnOptions): Promise<Timed> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failure: string | undefined;
    const start = stamp();
    const child = spawn(file, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      failure = `killed after ${opts.timeoutMs ?? 60_000} ms`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => {
      // The child may exit without reading stdin (EPIPE): its exit code tells the story.
    });
    child.stdin.end(opts.input ?? '');
    child.once('error', (e) => {
      failure = e.message;
    });
    child.once('close', (code) => {
      const end = stamp();
      clearTimeout(timer);
      resolve({
        ms: elapsedMs(start, end),
        start,
        end,
        exitCode: code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        failure,
      });
    });
  });
}

/** PATH for children: the bench's own (node_modules/.bin first, as npm sets it). */
export function basePath(): string {
  return process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin';
}

/**
 * A long-lived Node script in a network namespace (`ip netns exec NS node -e SCRIPT ARGS`), its
 * stdout piped to the bench, stderr inherited; killed at cleanup if it still runs.
 */
export function netnsScript(t: Teardown, ns: string, script: string, args: readonly string[]): ChildProcess {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  return proc;
}
