/**
 * What the CNI executable (Go, cni/) and the daemon say to each other over the Unix socket: one
 * JSON request ended by a newline, then one JSON response, after which the daemon closes. The
 * executable only forwards its environment and stdin (cf. ovn-kubernetes cnishim.go); the daemon
 * validates both and renders the final stdout text and exit status.
 */
import { isObject } from './json.ts';
import { DecodeFailureError } from '../errors.ts';

/** A network config is small; prevResult of a long chain stays far below this. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** The config plus a few kilobytes of env fit easily. */
export const MAX_REQUEST_BYTES = MAX_CONFIG_BYTES + 64 * 1024;

/** The CNI_* variables a request carries. */
export const FORWARDED_ENV = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;
export type ForwardedEnv = Partial<Record<(typeof FORWARDED_ENV)[number], string>>;

export interface DaemonRequest {
  env: ForwardedEnv;
  config: string;
}

/** The executable prints `stdout` byte for byte and exits with `exitCode`. */
export interface DaemonResponse {
  exitCode: number;
  stdout: string;
}

/** The request read from the socket has the wrong shape: DecodeFailureError, `details` says how. */
function malformed(reason: string): DecodeFailureError {
  return new DecodeFailureError('malformed request', { details: reason });
}

/** Narrows a request read from the socket; throws DecodeFailureError when it has the wrong shape. */
export function parseDaemonRequest(value: unknown): DaemonRequest {
  if (!isObject(value)) throw malformed('request must be a JSON object');
  const { env, config } = value;
  if (typeof config !== 'string') throw malformed('request.config must be a string');
  if (!isObject(env)) throw malformed('request.env must be an object');
  const out: ForwardedEnv = {};
  for (const [key, v] of Object.entries(env)) {
    if (!(FORWARDED_ENV as readonly string[]).includes(key)) throw malformed(`request.env.${key} is not a CNI variable`);
    if (typeof v !== 'string') throw malformed(`request.env.${key} must be a string`);
    // ovsdb-server drops a connection whose JSON holds a NUL or a lone UTF-16 surrogate (see
    // netconf/decode.ts), and CNI_ARGS values go into the NB. No process environment holds either.
    if (v.includes('\0')) throw malformed(`request.env.${key} holds a NUL character`);
    if (!v.isWellFormed()) throw malformed(`request.env.${key} holds a lone UTF-16 surrogate`);
    out[key as keyof ForwardedEnv] = v;
  }
  return { env: out, config };
}
