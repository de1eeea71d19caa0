/**
 * OVN match strings for policy ACLs (ovn-sb(5), Logical_Flow match): pure string building, no
 * project knowledge beyond the expression language.
 *
 * Every builder here returns an "atom": an expression with no top-level `&&` or `||`, so that
 * atoms can be joined by either operator (OVN refuses `&&` and `||` mixed without parentheses,
 * and `!` applied to a relational expression without them). Sets never come out empty: an empty
 * choice is the literal `0` (false), which OVN accepts anywhere an expression may stand.
 */
import { UnreachableError } from '../errors.ts';
import { bigIntToIp, bitsOf, ipToBigInt, parseCidr } from '../lib/ip.ts';
import type { Family } from '../lib/ip.ts';
import type { PolicyProtocol } from './model.ts';

/** The expression that matches nothing. */
export const NOTHING = '0';

/** An OVN string constant: JSON's quoting (ovn-sb(5): "the same syntax as quoted strings in JSON"). */
export function quote(text: string): string {
  return JSON.stringify(text);
}

/** `a || b || ...` as an atom; NOTHING for none. */
export function anyOf(atoms: readonly string[]): string {
  if (atoms.length === 0) return NOTHING;
  if (atoms.length === 1) return atoms[0] ?? NOTHING;
  return `(${atoms.join(' || ')})`;
}

/** `a && b && ...` as an atom (at least one atom). */
export function allOf(atoms: readonly string[]): string {
  if (atoms.length === 1) return atoms[0] ?? NOTHING;
  return `(${atoms.join(' && ')})`;
}

/** `field == value`, `field == {v1, v2, ...}` for several, NOTHING for none. Values as written (quote strings first). */
export function inSet(field: string, values: readonly string[]): string {
  if (values.length === 0) return NOTHING;
  if (values.length === 1) return `${field} == ${values[0] ?? ''}`;
  return `${field} == {${values.join(', ')}}`;
}

/** The OVN predicate of a protocol (`tcp`, `udp`, `sctp`): also the prefix of its port fields. */
export function protocolName(protocol: PolicyProtocol): 'tcp' | 'udp' | 'sctp' {
  switch (protocol) {
    case 'TCP':
      return 'tcp';
    case 'UDP':
      return 'udp';
    case 'SCTP':
      return 'sctp';
    default: {
      const never: never = protocol;
      throw new UnreachableError(`unknown protocol ${JSON.stringify(never)}`);
    }
  }
}

/** A destination port or range of `protocol`: `tcp.dst == 80`, `(tcp.dst >= 80 && tcp.dst <= 90)`. */
export function portRange(protocol: PolicyProtocol, port: number, endPort: number | undefined): string {
  const field = `${protocolName(protocol)}.dst`;
  if (endPort === undefined || endPort <= port) return `${field} == ${port}`;
  return `(${field} >= ${port} && ${field} <= ${endPort})`;
}

/** The IP field of a family: `ip4.src`, `ip6.dst`, ... */
export function ipField(family: Family, side: 'src' | 'dst'): string {
  return `ip${family}.${side}`;
}

export interface ParsedBlock {
  family: Family;
  /** Canonical network text, host bits cleared (OVN refuses a masked constant with 1-bits outside its mask). */
  cidr: string;
}

/** "10.0.0.5/16" → { family: 4, cidr: "10.0.0.0/16" }; undefined when not a CIDR. */
export function canonicalCidr(text: string): ParsedBlock | undefined {
  const parsed = parseCidr(text);
  if (parsed === undefined) return undefined;
  const { family, prefixLength } = parsed;
  const hostMask = (1n << BigInt(bitsOf(family) - prefixLength)) - 1n;
  const network = ipToBigInt(parsed.address) & ~hostMask;
  return { family, cidr: `${bigIntToIp(network, family)}/${prefixLength}` };
}

/**
 * An ipBlock peer on `side`: `ip4.src == 10.0.0.0/16`, or with exceptions
 * `(ip4.src == 10.0.0.0/16 && !(ip4.src == {10.0.1.0/24, ...}))`. NOTHING for a CIDR that does
 * not parse (parse.ts validated it: cannot happen); exceptions of another family are ignored.
 */
export function ipBlockMatch(cidr: string, except: readonly string[], side: 'src' | 'dst'): string {
  const block = canonicalCidr(cidr);
  if (block === undefined) return NOTHING;
  const field = ipField(block.family, side);
  const excluded = [...new Set(except.flatMap((text) => {
    const e = canonicalCidr(text);
    return e?.family === block.family ? [e.cidr] : [];
  }))].sort();
  const inside = `${field} == ${block.cidr}`;
  if (excluded.length === 0) return inside;
  return `(${inside} && !(${inSet(field, excluded)}))`;
}
