/**
 * The compiled controller (`dist/ovn-multinetd controller`) run inside a network namespace, as a
 * test starts it: with short lease timings, its JSON log kept, killed at teardown if still running,
 * and a wait for it to lead (its Lease held under its identity).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DAEMON_BINARY } from './node.ts';
import type { FakeApi } from './fake-apiserver.ts';
import type { Teardown } from './netns.ts';
import { until } from './until.ts';

export interface ControllerProcess {
  child: ChildProcess;
  /** What it logged so far. */
  logs(): string;
  /** Resolves once the process has exited. */
  exited: Promise<void>;
  /** The Lease's holderIdentity now (undefined when released). */
  holder(): Promise<unknown>;
  /** Resolves once the Lease names it as the holder; throws with its log tail otherwise. */
  leading(): Promise<void>;
}

export interface ControllerOptions {
  netns: string;
  kubeconfig: string;
  nbDb: string;
  api: FakeApi;
  identity?: string;
  resyncInterval?: string;
  extraArgs?: readonly string[];
}

export function startController(t: Teardown, opts: ControllerOptions): ControllerProcess {
  const identity = opts.identity ?? 'e2e';
  const args = ['controller', '--kubeconfig', opts.kubeconfig, '--nb-db', opts.nbDb, '--identity', identity, '--namespace', 'ovn-multinet',
    '--lease-duration', '2s', '--renew-deadline', '1500ms', '--retry-period', '200ms', '--resync-interval', opts.resyncInterval ?? '5s', '--log-level', 'debug',
    // No listener unless a test asks (extraArgs come last and win): two replicas share a netns.
    '--metrics-port', '0', ...(opts.extraArgs ?? [])];
  const child = spawn('ip', ['netns', 'exec', opts.netns, DAEMON_BINARY, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const logs = (): string => chunks.join('');
  const holder = async (): Promise<unknown> => ((await opts.api.get('leases', 'ovn-multinet', 'ovn-multinet-controller'))?.['spec'] as Record<string, unknown> | undefined)?.['holderIdentity'];
  const leading = async (): Promise<void> => {
    await until('the controller to lead', async () => ((await holder()) === identity ? true : undefined), 15_000).catch((err: unknown) => {
      throw new Error(`${String(err)}; exit ${String(child.exitCode ?? child.signalCode)}; log: ${logs().slice(-2000)}`);
    });
  };
  return { child, logs, exited, holder, leading };
}
