// Throwaway network namespaces for tests, as in containernetworking/plugins
// pkg/testutils/netns_linux.go: each test gets its own, removed by teardown.
import { existsSync } from 'node:fs';
import { execa } from 'execa';

/** What startSandbox/createNetns need from a tap Test: a place to register cleanup. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ExecOptions {
  /** Extra environment variables (added to the test process's own). */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to the command's stdin. */
  readonly input?: string;
  readonly signal?: AbortSignal;
  /** Milliseconds; default 30 000. */
  readonly timeout?: number;
}

export interface Netns {
  /** Name under /var/run/netns, usable as `ip -n NAME` and `ip netns exec NAME`. */
  readonly name: string;
  /** The bind-mounted namespace file, e.g. for CNI_NETNS. */
  readonly path: string;
  /** Runs `ip netns exec NAME ...args` and resolves with its stdout (final newline removed). */
  exec(args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** Deletes the namespace (and so every veth end inside it). Idempotent. */
  remove(): Promise<void>;
}

const NETNS_DIR = '/var/run/netns';
let counter = 0;

/**
 * Why namespace tests cannot run here, or false when they can: they need root and iproute2.
 * Use as `t.test(name, { skip: rootSkipReason() }, ...)`.
 */
export function rootSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (!existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip') && !existsSync('/usr/bin/ip')) {
    return 'needs iproute2 (ip)';
  }
  return false;
}

/**
 * A unique, short name: prefix, pid and a counter, e.g. "omt-1a2b-3". Also usable as the
 * stem of interface names (keep prefix short: ifnames have at most 15 characters).
 */
export function uniqueName(prefix = 'omt'): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${counter.toString(36)}`;
}

/** Runs a command with an argument array; resolves with stdout, rejects with stderr in the message. */
export async function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const result = await execa(file, args, {
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    ...(opts.signal === undefined ? {} : { cancelSignal: opts.signal }),
    timeout: opts.timeout ?? 30_000,
    stripFinalNewline: true,
  });
  return result.stdout;
}

/**
 * Creates a new network namespace with lo up. With `t`, it is removed at teardown.
 */
export async function createNetns(t?: Teardown, prefix = 'omt'): Promise<Netns> {
  const name = uniqueName(prefix);
  const path = `${NETNS_DIR}/${name}`;
  await run('ip', ['netns', 'add', name]);
  let removed: Promise<void> | undefined;
  const ns: Netns = {
    name,
    path,
    exec: (args, opts) => run('ip', ['netns', 'exec', name, ...args], opts),
    remove: () => {
      removed ??= removeNetns(name);
      return removed;
    },
  };
  t?.teardown(() => ns.remove());
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await ns.remove();
    throw err;
  }
  return ns;
}

async function removeNetns(name: string): Promise<void> {
  if (!existsSync(`${NETNS_DIR}/${name}`)) return;
  try {
    await run('ip', ['netns', 'delete', name]);
  } catch (err) {
    // Gone meanwhile is fine; anything else is a leak worth failing on.
    if (existsSync(`${NETNS_DIR}/${name}`)) throw err;
  }
}
