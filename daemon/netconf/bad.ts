/**
 * The one way a config validator fails: every setting it refuses is code 7 with the field's name
 * (as the config spells it) in front of the message.
 */
import { InvalidConfigError } from '../errors.ts';

export function bad(field: string, msg: string, details = ''): InvalidConfigError {
  return new InvalidConfigError(`${field}: ${msg}`, { details, field });
}
