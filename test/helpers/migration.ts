/**
 * One live migration of a VM between the two nodes of a claim cluster (claims.ts) under fast
 * pings, as test/e2e/migration.test.ts asserts it and bench/migration.ts reports it: a source pod
 * of the claim on A, a third pod on A pinging the VM's address, a target pod of the claim on B;
 * then the source pod's interface goes down, the target sends a RARP from the VM's MAC (unless
 * `rarp` is false: traffic then follows the VM only at the source's DEL), and `gapMs` later the
 * source pod is deleted. Lost pings x the interval = the downtime.
 */
import type { Teardown } from './netns.ts';
import type { CniOutcome } from './node.ts';
import { armRarp, ping, pingSeries } from './traffic.ts';
import { echoesIn, type ClaimCluster, type ClaimPod } from './claims.ts';
import { sleep } from './until.ts';

export interface MigrationTiming {
  /** Seconds between pings (busybox ping -i). */
  intervalS: number;
  /** From the start of the pings to the source going down. */
  beforeMs: number;
  /** From the RARP to the source pod's DEL (KubeVirt deletes it once the migration has completed). */
  gapMs: number;
  /** Pings after the DEL, before the series ends. */
  afterMs: number;
}

export const MIGRATION_TIMING: MigrationTiming = { intervalS: 0.01, beforeMs: 1000, gapMs: 1000, afterMs: 1500 };

export interface MigrationRun {
  /** The ADDs of the source, the pinging pod and the target. */
  pods: ClaimPod[];
  /** The VM answered on the source before the migration. */
  answeredBefore: boolean;
  lost: number;
  longestGap: number;
  sent: number;
  elapsedMs: number;
  /** Echo requests the target got before the source went down, before the source's DEL, after it. */
  targetBeforeDown: number;
  targetBeforeDel: number;
  targetAfterDel: number;
  del: CniOutcome;
  /** lost x the interval, in ms. */
  downtimeMs: number;
}

/** Migrates a VM of IPAMClaim `claim` (which must exist) from node A to node B; deletes its pods after. */
export async function migrateUnderPings(t: Teardown, c: ClaimCluster, claim: string, rarp: boolean, timing: MigrationTiming = MIGRATION_TIMING): Promise<MigrationRun> {
  const source = await c.attach(t, c.nodes.a, { claim });
  const client = await c.attach(t, c.nodes.a);
  const target = await c.attach(t, c.nodes.b, { claim });
  const pods = [source, client, target];
  const ip = source.ip.split('/')[0] ?? '';
  const answeredBefore = pods.every((p) => p.out.exitCode === 0) && (await ping(client.ns, ip, { count: 3 }));

  // The series ends `afterMs` after the source's DEL, however long the steps before took.
  const nominal = Math.round((timing.beforeMs + timing.gapMs + timing.afterMs + 500) / 1000 / timing.intervalS);
  const stop = Promise.withResolvers<void>();
  const pings = pingSeries(client.ns, ip, 10 * nominal, timing.intervalS, stop.promise);
  const announce = rarp ? await armRarp(target.ns, 'net1', source.mac) : undefined;
  await sleep(timing.beforeMs);
  const targetBeforeDown = await echoesIn(target.ns);
  // The VM stops on the source and runs on the target, where it announces itself.
  await source.ns.exec(['ip', 'link', 'set', 'net1', 'down']);
  await announce?.send();
  await sleep(timing.gapMs);
  const targetBeforeDel = await echoesIn(target.ns);
  const del = await c.del(source);
  await sleep(timing.afterMs);
  stop.resolve();
  const series = await pings;
  const targetAfterDel = (await echoesIn(target.ns)) - targetBeforeDel;
  await c.del(target);
  await c.del(client);
  return {
    pods,
    answeredBefore,
    lost: series.lost,
    longestGap: series.longestGap,
    sent: series.sent,
    elapsedMs: series.elapsedMs,
    targetBeforeDown,
    targetBeforeDel,
    targetAfterDel,
    del,
    downtimeMs: Math.round(series.lost * timing.intervalS * 1000),
  };
}
