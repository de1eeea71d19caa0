/** A private containerd for tests (scripts/containerd.sh) with the local busybox image imported. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type Teardown } from './netns.ts';

const SCRIPTS = fileURLToPath(new URL('../../scripts/', import.meta.url));
export const BUSYBOX_IMAGE = 'localhost/busybox:latest';

export interface Containerd {
  address: string;
  namespace: string;
  /** `ctr -a ADDRESS -n NAMESPACE ...args` */
  ctr(args: readonly string[]): Promise<string>;
  /** PID of a running task, or undefined. */
  taskPid(id: string): Promise<number | undefined>;
}

export async function startContainerd(t: Teardown): Promise<Containerd> {
  const parent = await mkdtemp(join(tmpdir(), 'omctrd-'));
  const dir = join(parent, 'containerd');
  t.teardown(async () => {
    await run('bash', [join(SCRIPTS, 'containerd.sh'), 'stop', dir], { timeout: 60_000 });
    await rm(parent, { recursive: true, force: true });
  });
  await run('bash', [join(SCRIPTS, 'containerd.sh'), 'start', dir], { timeout: 60_000 });
  const env = new Map((await readFile(join(dir, 'env'), 'utf8')).split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  const address = env.get('CONTAINERD_ADDRESS') ?? '';
  const namespace = env.get('CONTAINERD_NAMESPACE') ?? 'ovn-multinet';
  await run('bash', [join(SCRIPTS, 'busybox-image.sh'), address, '--no-check'], { timeout: 60_000 });
  const ctr = (args: readonly string[]): Promise<string> => run('ctr', ['-a', address, '-n', namespace, ...args], { timeout: 60_000 });
  return {
    address,
    namespace,
    ctr,
    taskPid: async (id) => {
      for (const line of (await ctr(['task', 'ls'])).split('\n')) {
        const [task, pid, status] = line.trim().split(/\s+/);
        if (task === id && status === 'RUNNING') return Number(pid);
      }
      return undefined;
    },
  };
}
