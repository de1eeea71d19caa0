/**
 * Issue 9's targets, each computed from this run's own numbers (baselines measured side by side),
 * next to what was measured. A miss is reported, never fatal.
 */
import { kibToMB, mb } from './rss.ts';

export interface Target {
  readonly goal: string;
  readonly measured: string;
  /** undefined: could not be measured in this run. */
  readonly met: boolean | undefined;
  /** Shown beside the targets for context; not a target itself. */
  readonly info?: true;
}

export interface BurstFigures {
  readonly size: number;
  readonly addOk: number;
  readonly delOk: number;
  readonly addWallMs: number;
  readonly delWallMs: number;
}

export interface TargetInputs {
  readonly versionP50: number;
  readonly bridgeVersionP50: number;
  readonly addP50: number;
  readonly delP50: number;
  readonly bridgeAddP50: number;
  readonly bridgeDelP50: number;
  readonly cliAddP50: number;
  /** `ip netns exec NODE true` p50: in every ovn-multinet and bridge figure. */
  readonly netnsExecP50: number;
  readonly burst: BurstFigures;
  readonly bridgeBurst: BurstFigures;
  /** The daemon's VmHWM over the ovn-multinet burst (KiB); undefined with why, if not read. */
  readonly daemonPeakKiB: number | undefined;
  readonly daemonPeakNote: string;
  /** Largest peak RSS of the CNI process over the GNU time probes (KiB), and over how many calls. */
  readonly cniPeakKiB: number | undefined;
  readonly cniPeakCalls: number;
  readonly cniPeakP50KiB: number | undefined;
  /** Transactions the daemon committed to the NB per serial ADD; undefined if not countable. */
  readonly nbPerAdd: number | undefined;
}

export const GOALS = {
  /** VERSION p50 ≤ this × the reference bridge plugin's VERSION p50. */
  versionVsBridge: 1.0,
  addVsBridge: 1.0,
  addVsCli: 0.4,
  delVsBridge: 1.0,
  burstSize: 100,
  /** ovn-multinet's ADD burst wall time ≤ this × bridge + host-local's. */
  burstWallVsBridge: 1.0,
  cniPeakMB: 10,
  nbPerAdd: 1,
} as const;

const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
const x = (factor: number): string => `${factor.toFixed(1)}×`;
const known = (...xs: number[]): boolean => xs.every(Number.isFinite);

/** `r× (a / b)`, and the same with `ip netns exec` taken off both sides when it is known. */
function ratio(a: number, b: number, netns?: number): string {
  const base = `${(a / b).toFixed(2)}× (${ms(a)} / ${ms(b)})`;
  if (netns === undefined || !known(a, b, netns)) return base;
  return `${base}; ${((a - netns) / (b - netns)).toFixed(2)}× without \`ip netns exec\``;
}

const atMost = (a: number, b: number, factor: number): boolean | undefined => (known(a, b) ? a <= factor * b : undefined);

export function evaluateTargets(m: TargetInputs): Target[] {
  const ns = m.netnsExecP50;
  const b = m.burst;
  const bb = m.bridgeBurst;
  const comparable = b.size === GOALS.burstSize;
  const allOk = b.addOk === b.size && b.delOk === b.size;
  return [
    {
      goal: `executable floor: VERSION p50 ≤ ${x(GOALS.versionVsBridge)} bridge VERSION p50`,
      measured: ratio(m.versionP50, m.bridgeVersionP50, ns),
      met: atMost(m.versionP50, m.bridgeVersionP50, GOALS.versionVsBridge),
    },
    {
      goal: `ADD p50 (ovn-installed included) ≤ ${x(GOALS.addVsBridge)} bridge + host-local ADD p50`,
      measured: ratio(m.addP50, m.bridgeAddP50, ns),
      met: atMost(m.addP50, m.bridgeAddP50, GOALS.addVsBridge),
    },
    {
      goal: `ADD p50 ≤ ${x(GOALS.addVsCli)} the CLI script ADD p50`,
      measured: ratio(m.addP50, m.cliAddP50),
      met: atMost(m.addP50, m.cliAddP50, GOALS.addVsCli),
    },
    {
      goal: `DEL p50 ≤ ${x(GOALS.delVsBridge)} bridge + host-local DEL p50`,
      measured: ratio(m.delP50, m.bridgeDelP50, ns),
      met: atMost(m.delP50, m.bridgeDelP50, GOALS.delVsBridge),
    },
    {
      goal: `burst of ${GOALS.burstSize} ADDs, then ${GOALS.burstSize} DELs: all succeed; ADD burst wall ≤ ${x(GOALS.burstWallVsBridge)} bridge + host-local's; daemon peak RSS printed`,
      measured:
        `ADD ${b.addOk}/${b.size}, DEL ${b.delOk}/${b.size}; ADD wall ${ratio(b.addWallMs, bb.addWallMs)}; daemon peak RSS ${m.daemonPeakNote}` +
        (comparable ? '' : ` (burst size ${b.size}, not ${GOALS.burstSize}: not comparable)`),
      met: comparable && known(b.addWallMs, bb.addWallMs) && m.daemonPeakKiB !== undefined ? allOk && b.addWallMs <= GOALS.burstWallVsBridge * bb.addWallMs : undefined,
    },
    {
      goal: `DEL burst wall vs bridge + host-local's DEL burst wall (${b.size} each)`,
      measured: ratio(b.delWallMs, bb.delWallMs),
      met: undefined,
      info: true,
    },
    {
      goal: `CNI process peak RSS ≤ ${GOALS.cniPeakMB} MB`,
      measured:
        m.cniPeakKiB === undefined
          ? 'not measured (no GNU time figure)'
          : `max ${mb(m.cniPeakKiB)}, p50 ${mb(m.cniPeakP50KiB)} over ${m.cniPeakCalls} ADD/DEL/VERSION calls (GNU time %M)`,
      met: m.cniPeakKiB === undefined ? undefined : kibToMB(m.cniPeakKiB) <= GOALS.cniPeakMB,
    },
    {
      goal: `${GOALS.nbPerAdd} NB transaction per ADD`,
      measured: m.nbPerAdd === undefined ? 'not countable (NB log compacted?)' : m.nbPerAdd.toFixed(2),
      met: m.nbPerAdd === undefined ? undefined : m.nbPerAdd <= GOALS.nbPerAdd,
    },
  ];
}
