/**
 * stdin to a JSON object: the size cap, JSON, and Unicode text. Anything that is not a JSON
 * object of well-formed strings is code 6.
 */
import { shown } from '../cni-spec/errors.ts';
import { DecodeFailureError } from '../errors.ts';
import { illFormedKey, isObject } from '../cni-spec/json.ts';
import { MAX_CONFIG_BYTES } from '../cni-spec/protocol.ts';

export function decodeConfig(stdin: string): Record<string, unknown> {
  if (Buffer.byteLength(stdin) > MAX_CONFIG_BYTES) {
    throw new DecodeFailureError(`network configuration is larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(stdin);
  } catch (err) {
    throw new DecodeFailureError('network configuration is not valid JSON', { details: (err as Error).message });
  }
  // A lone UTF-16 surrogate ("\ud800") is valid JSON but not Unicode text: ovsdb-server drops a
  // connection whose JSON carries one, so no such string may get as far as a database.
  const illFormed = illFormedKey(value);
  if (illFormed !== undefined) {
    throw new DecodeFailureError('network configuration is not Unicode text', { details: `a lone UTF-16 surrogate at ${illFormed === '' ? 'the top' : `key ${shown(illFormed.toWellFormed())}`}` });
  }
  if (!isObject(value)) throw new DecodeFailureError('network configuration must be a JSON object');
  return value;
}
