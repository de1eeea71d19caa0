/** Narrowing JSON that arrives as `unknown` (stdin, the socket, API objects). */

/** A JSON object: not null, not an array. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The key under which `value` holds a string (or a key) with a lone UTF-16 surrogate, '' for the
 * value itself, or undefined when every string is well formed. Iterative: JSON.parse takes
 * nesting far deeper than a recursive walk (or a reviver) could.
 */
export function illFormedKey(value: unknown): string | undefined {
  const stack: Array<readonly [string, unknown]> = [['', value]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [key, v] = item;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return key;
    } else if (Array.isArray(v)) {
      for (const [i, inner] of v.entries()) stack.push([String(i), inner]);
    } else if (isObject(v)) {
      for (const [k, inner] of Object.entries(v)) {
        if (!k.isWellFormed()) return k;
        stack.push([k, inner]);
      }
    }
  }
  return undefined;
}
