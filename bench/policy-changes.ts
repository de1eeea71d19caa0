/**
 * The changes the policy bench times, each from a steady state to the flip on the wire
 * (policy-probe.ts), by two paths:
 *
 * - controller: the bench writes the Kubernetes object (fake API server) and the controller does
 *   the rest (watch → plan → NB transaction), then OVN (northd → SB → ovn-controller → flows);
 * - nb (baseline): the bench writes the equivalent NB change itself, one transaction, so only
 *   OVN's own propagation is left. Its rows carry no owner mark: the controller never reads or
 *   touches them.
 *
 * Kinds (both directions each, allow then deny):
 *
 * | kind   | controller path                                              | NB baseline                                         |
 * | policy | policy 0's rule gains / loses the peer {group: probe-client} | an allow ACL for the client's address added to / removed from policy 0's port group |
 * | label  | the client pod's group becomes g0 / probe-client again       | the client's address into / out of an address set an allow ACL on that port group names |
 * | pod    | the client pod object appears with group g0 / is deleted     | the same address-set change (what a new pod's port does to the NB) |
 */
import { setTimeout } from 'node:timers/promises';
import { eq, insert, mutate, mutation } from '../daemon/ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../daemon/ovsdb/notation.ts';
import { CLIENT_GROUP, groupOf, NAMESPACE, podObject, policyName, policyObject, type PolicyCluster } from './policy-cluster.ts';
import type { Prober } from './policy-probe.ts';
import { stamp } from './clock.ts';
import { waitQuiet } from './proc.ts';

export const KINDS = ['policy', 'label', 'pod'] as const;
export type Kind = (typeof KINDS)[number];
export const PATHS = ['controller', 'nb'] as const;
export type ChangePath = (typeof PATHS)[number];
export type Direction = 'allow' | 'deny';

export interface ChangeSample {
  readonly kind: Kind;
  readonly path: ChangePath;
  readonly direction: Direction;
  /** Change → flip on the wire, ms; undefined when it did not flip in time. */
  readonly ms: number | undefined;
  /** Controller path: change → the controller's log line "policy rows written" (its NB transaction answered), ms. */
  readonly rowsWrittenMs: number | undefined;
  /** Controller path: the operations that line counts; NB path: the bench's transaction time, ms. */
  readonly operations: number | undefined;
  readonly nbCommitMs: number | undefined;
}

const BENCH_SET = 'omn_bench_peer';
const signal = (): AbortSignal => AbortSignal.timeout(30_000);

interface RowsWritten {
  readonly timeMs: number;
  readonly operations: number;
}

/** How long the log line of a write may trail the flip it caused (the controller's stdout is a pipe). */
const LOG_LAG_MS = 2000;

/**
 * The controller's "policy rows written" log lines, read as they come: the first at or after
 * `fromMs`, waited for up to LOG_LAG_MS (an address set reaches the wire in a few ms, sooner than
 * the log line may cross the pipe).
 */
function rowsWrittenLog(c: PolicyCluster): (fromMs: number) => Promise<RowsWritten | undefined> {
  const seen: RowsWritten[] = [];
  let offset = 0;
  const read = (fromMs: number): RowsWritten | undefined => {
    const text = c.controller.logs();
    const end = text.lastIndexOf('\n') + 1;
    for (const line of text.slice(offset, end).split('\n')) {
      if (!line.includes('"policy rows written"')) continue;
      try {
        const entry = JSON.parse(line) as { time?: unknown; operations?: unknown };
        if (typeof entry.time === 'number') seen.push({ timeMs: entry.time, operations: typeof entry.operations === 'number' ? entry.operations : 0 });
      } catch {
        // Not a JSON line: skipped.
      }
    }
    offset = end;
    // Log times have 1 ms resolution: a line in the change's millisecond counts.
    return seen.find((s) => s.timeMs >= Math.floor(fromMs));
  };
  return async (fromMs) => {
    const end = Date.now() + LOG_LAG_MS;
    for (;;) {
      const found = read(fromMs);
      if (found !== undefined || Date.now() > end) return found;
      await setTimeout(10);
    }
  };
}

export interface ChangeOptions {
  readonly intervalMs: number;
  readonly quietMs: number;
  readonly timeoutMs: number;
}

export interface Changer {
  /** One change of `kind` by `path` to `direction`, timed; throws when a step fails. */
  run(kind: Kind, path: ChangePath, direction: Direction): Promise<ChangeSample>;
}

/** Readies the NB baseline's rows (an empty address set and an allow ACL naming it on policy 0's port group) and returns the changer. */
export async function createChanger(c: PolicyCluster, prober: Prober, opts: ChangeOptions): Promise<Changer> {
  const { server, client, nb, api, probePortGroup: pg } = c;
  if (server === undefined || client === undefined) throw new Error('the changes need the probe pods');
  const nodeName = c.node.daemon.nodeName;
  await nb.transact(
    [
      insert('Address_Set', { name: BENCH_SET, addresses: [] }),
      insert('ACL', { priority: 2002, direction: 'to-lport', action: 'allow-related', match: `outport == @${pg} && ip && ip4.src == $${BENCH_SET}` }, 'set_acl'),
      mutate('Port_Group', [eq('name', pg)], [mutation('acls', 'insert', [namedUuid('set_acl')])]),
    ],
    signal(),
  );
  const rowsWritten = rowsWrittenLog(c);
  let directAcl: Uuid | undefined;
  const quietPids = [c.controllerPid, ...c.ovnPids];
  const client0 = (group: string): ReturnType<typeof podObject> => podObject(client.name, client.uid, nodeName, { ...client.labels, group });

  /** Writes the change; resolves once it is sent (controller path) or committed (NB path). */
  const write = async (kind: Kind, path: ChangePath, direction: Direction): Promise<void> => {
    const allow = direction === 'allow';
    if (path === 'controller') {
      switch (kind) {
        case 'policy': {
          const current = await api.get('multi-networkpolicies', NAMESPACE, policyName(0));
          const wanted = policyObject(0, allow ? [CLIENT_GROUP] : []);
          await api.apply('multi-networkpolicies', { ...current, metadata: { ...current?.metadata, ...wanted.metadata }, spec: wanted['spec'] });
          return;
        }
        case 'label':
          await api.apply('pods', client0(allow ? groupOf(0) : CLIENT_GROUP));
          return;
        case 'pod':
          if (allow) await api.apply('pods', client0(groupOf(0)));
          else await api.remove('pods', NAMESPACE, client.name);
          return;
        default: {
          const never: never = kind;
          throw new Error(`unknown kind ${String(never)}`);
        }
      }
    }
    if (kind === 'policy') {
      if (allow) {
        const [result] = await nb.transact(
          [
            insert('ACL', { priority: 2002, direction: 'to-lport', action: 'allow-related', match: `outport == @${pg} && ip && ip4.src == ${client.ip}` }, 'acl'),
            mutate('Port_Group', [eq('name', pg)], [mutation('acls', 'insert', [namedUuid('acl')])]),
          ],
          signal(),
        );
        directAcl = result?.uuid;
        if (directAcl === undefined) throw new Error('the ACL insert gave no uuid');
      } else {
        if (directAcl === undefined) throw new Error('no ACL of the bench to remove');
        await nb.transact([mutate('Port_Group', [eq('name', pg)], [mutation('acls', 'delete', [directAcl])])], signal());
        directAcl = undefined;
      }
      return;
    }
    await nb.transact([mutate('Address_Set', [eq('name', BENCH_SET)], [mutation('addresses', allow ? 'insert' : 'delete', [client.ip])])], signal());
  };

  return {
    run: async (kind, path, direction) => {
      // The "pod" kind starts with no client pod object (its port is there), and ends with it back.
      if (kind === 'pod' && path === 'controller' && direction === 'allow') await api.remove('pods', NAMESPACE, client.name);
      // From a steady state: the controller and OVN idle.
      await waitQuiet(quietPids, { windowMs: 50, windows: 2, maxShare: 0.3, maxMs: 5000 });
      const t0 = stamp();
      await write(kind, path, direction);
      const committed = stamp();
      const flip = direction === 'allow' ? await prober.allowed(t0.wallMs, opts.timeoutMs) : await prober.denied(t0.wallMs, opts.quietMs, opts.timeoutMs);
      const written = path === 'controller' ? await rowsWritten(t0.wallMs) : undefined;
      if (kind === 'pod' && path === 'controller' && direction === 'deny') await api.apply('pods', client0(CLIENT_GROUP));
      return {
        kind,
        path,
        direction,
        ms: flip?.ms,
        rowsWrittenMs: written === undefined ? undefined : Math.max(0, written.timeMs - t0.wallMs),
        operations: written?.operations,
        nbCommitMs: path === 'nb' ? committed.wallMs - t0.wallMs : undefined,
      };
    },
  };
}
