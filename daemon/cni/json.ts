/** Narrowing JSON that arrives as `unknown` (stdin, the socket, API objects). */

/** A JSON object: not null, not an array. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
