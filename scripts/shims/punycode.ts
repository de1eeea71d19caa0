/**
 * Stands in for Node's deprecated `punycode` module in the bundles (scripts/build.ts). The
 * Kubernetes client's URL parser (node-fetch → whatwg-url → tr46) requires it; bundled outside
 * node_modules, that require makes Node print DEP0040 on every daemon start. Node's own `url`
 * functions do the IDNA conversions, and UCS-2 is code points.
 */
import { domainToASCII, domainToUnicode } from 'node:url';

export const toASCII = (domain: string): string => domainToASCII(domain) || domain;
export const toUnicode = (domain: string): string => domainToUnicode(domain) || domain;
export const ucs2 = {
  decode: (text: string): number[] => Array.from(text, (c) => c.codePointAt(0) ?? 0),
  encode: (codePoints: readonly number[]): string => String.fromCodePoint(...codePoints),
};
