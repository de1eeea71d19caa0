// A KubeVirt live migration of a VM between the two nodes, as the plugin sees it: the VM's
// IPAMClaim has its source pod on node A; a target pod on node B gets the claim's addresses. A
// third pod pings the VM's address every 10 ms while the "VM" moves: the source pod's interface
// goes down, the target sends a RARP from the VM's MAC (as QEMU does once the VM runs there), and
// a while later the source pod is deleted. Lost pings x 10 ms = the downtime.
import t, { type Test } from 'tap';
import { e2eSkipReason } from '../helpers/node.ts';
import { armRarp, ping, pingSeries } from '../helpers/traffic.ts';
import { echoesIn, startClaimCluster, type ClaimCluster, type ClaimPod } from '../helpers/claims.ts';
import { sleep } from '../helpers/until.ts';

const skip = e2eSkipReason();
const NETWORK = 'vmnet';
const SUBNET = '10.71.0.0/24';
const PING_INTERVAL_S = 0.01;
/** From the start of the pings to the source going down. */
const BEFORE_MS = 1000;
/** From the RARP to the source pod's DEL (KubeVirt deletes it once the migration has completed). */
const GAP_MS = Number(process.env["MIGRATION_GAP_MS"] ?? 1000);
/** Pings after the DEL. */
const AFTER_MS = 1500;

interface Measured {
  lost: number;
  longestGap: number;
  sent: number;
  elapsedMs: number;
  /** Echo requests the target got before the RARP, and between the RARP and the source's DEL. */
  targetBeforeRarp: number;
  targetBeforeDel: number;
  del: { exitCode: number; stdout: string };
}

let vmCount = 0;

/** One migration of a new VM from A to B under 10 ms pings from a third pod on A. */
async function measure(t: Test, c: ClaimCluster): Promise<Measured> {
  const claim = `vm${++vmCount}.${NETWORK}`;
  await c.claim(claim);
  const source = await c.attach(t, c.nodes.a, { claim });
  const client = await c.attach(t, c.nodes.a);
  const target = await c.attach(t, c.nodes.b, { claim });
  for (const p of [source, client, target]) t.equal(p.out.exitCode, 0, `ADD ${p.name}: ${p.out.stdout}${p.out.stderr}`);
  const ip = vmIp(source);
  t.ok(await ping(client.ns, ip, { count: 3 }), 'the VM answers on the source before the migration');

  const count = Math.round((BEFORE_MS + GAP_MS + AFTER_MS + 500) / 1000 / PING_INTERVAL_S);
  const pings = pingSeries(client.ns, ip, count, PING_INTERVAL_S);
  await sleep(BEFORE_MS);
  // The VM stops on the source and runs on the target: it announces itself there.
  const rarp = await armRarp(target.ns, 'net1', source.mac);
  const targetBeforeRarp = await echoesIn(target.ns);
  await source.ns.exec(['ip', 'link', 'set', 'net1', 'down']);
  const down = performance.now();
  await rarp.send();
  const sent = performance.now();
  let first = -1;
  while (performance.now() - sent < GAP_MS) {
    if (first < 0 && (await echoesIn(target.ns)) > targetBeforeRarp) first = performance.now() - sent;
    await sleep(10);
  }
  t.comment(`RARP sent ${Math.round(sent - down)} ms after the source went down; first echo at the target ${Math.round(first)} ms after the RARP`);
  const targetBeforeDel = await echoesIn(target.ns);
  const del = await c.del(source);
  const series = await pings;
  return { lost: series.lost, longestGap: series.longestGap, sent: series.sent, elapsedMs: series.elapsedMs, targetBeforeRarp, targetBeforeDel, del };
}

function vmIp(pod: ClaimPod): string {
  return pod.ip.split('/')[0] ?? '';
}

t.test('live migration between two nodes under 10 ms pings', { skip }, async (t) => {
  const c = await startClaimCluster(t, { network: NETWORK, subnet: SUBNET });

  t.test('the downtime of a migration', async (t) => {
    const m = await measure(t, c);
    t.equal(m.del.exitCode, 0, `source DEL: ${m.del.stdout}`);
    const downtimeMs = m.lost * PING_INTERVAL_S * 1000;
    t.comment(`MIGRATION lost ${m.lost} of ${m.sent} pings (longest run ${m.longestGap}): downtime ${downtimeMs} ms; ${m.sent} pings took ${Math.round(m.elapsedMs)} ms; target echoes before RARP ${m.targetBeforeRarp}, before source DEL ${m.targetBeforeDel}`);
  });
});
