/** The issue's targets next to what was measured. A miss is reported, never fatal. */

export interface Target {
  readonly goal: string;
  readonly measured: string;
  /** undefined: could not be measured in this run. */
  readonly met: boolean | undefined;
}

export interface TargetInputs {
  readonly addP50: number;
  readonly cliAddP50: number;
  readonly delP50: number;
  readonly netnsExecP50: number;
  readonly burstSize: number;
  readonly burstOk: number;
  readonly burstWallMs: number;
  /** Transactions the daemon committed to the NB per serial ADD; undefined if not countable. */
  readonly nbPerAdd: number | undefined;
}

export const GOALS = {
  addP50Ms: 60,
  cliRatio: 0.5,
  delP50Ms: 30,
  burstSize: 50,
  burstWallMs: 2000,
  nbPerAdd: 1,
} as const;

const ms = (x: number): string => `${x.toFixed(1)} ms`;
const known = (x: number): boolean => Number.isFinite(x);

export function evaluateTargets(m: TargetInputs): Target[] {
  const ratio = m.addP50 / m.cliAddP50;
  const net = (x: number): string => (known(m.netnsExecP50) ? ` (${ms(x - m.netnsExecP50)} without \`ip netns exec\`)` : '');
  return [
    {
      goal: `ADD p50 ≤ ${GOALS.addP50Ms} ms, ovn-installed included`,
      measured: `${ms(m.addP50)}${net(m.addP50)}`,
      met: known(m.addP50) ? m.addP50 <= GOALS.addP50Ms : undefined,
    },
    {
      goal: `ADD p50 ≤ ${GOALS.cliRatio}× the CLI-based attach`,
      measured: `${ratio.toFixed(2)}× (${ms(m.addP50)} / ${ms(m.cliAddP50)})`,
      met: known(ratio) ? ratio <= GOALS.cliRatio : undefined,
    },
    {
      goal: `DEL p50 ≤ ${GOALS.delP50Ms} ms`,
      measured: `${ms(m.delP50)}${net(m.delP50)}`,
      met: known(m.delP50) ? m.delP50 <= GOALS.delP50Ms : undefined,
    },
    {
      goal: `${GOALS.burstSize}-pod burst: all succeed in ≤ ${GOALS.burstWallMs / 1000} s`,
      measured: `${m.burstOk}/${m.burstSize} in ${ms(m.burstWallMs)}${m.burstSize === GOALS.burstSize ? '' : ` (burst size ${m.burstSize}, not ${GOALS.burstSize}: not comparable)`}`,
      met: m.burstSize === GOALS.burstSize ? m.burstOk === m.burstSize && m.burstWallMs <= GOALS.burstWallMs : undefined,
    },
    {
      goal: `${GOALS.nbPerAdd} NB transaction per ADD`,
      measured: m.nbPerAdd === undefined ? 'not countable (NB log compacted?)' : m.nbPerAdd.toFixed(2),
      met: m.nbPerAdd === undefined ? undefined : m.nbPerAdd <= GOALS.nbPerAdd,
    },
  ];
}
