/**
 * A request's config as the handler holds it: stdin decoded once and its version negotiated once,
 * before anything else is checked, so that every answer, an error for a config that is refused
 * included, is printed in the best version known. What failed is kept, and thrown where the
 * config is validated (as the first error the config has).
 */
import { LATEST_VERSION, type CniVersion } from '../cni-spec/version.ts';
import { decodeConfig } from './decode.ts';
import { requestedVersion } from './fields.ts';
import { parseConfig, type NetConf } from './parse.ts';

export type RequestConfig =
  | { readonly ok: true; readonly raw: Record<string, unknown>; readonly cniVersion: CniVersion }
  /** `raw` is undefined when stdin is not a JSON object of Unicode text. */
  | { readonly ok: false; readonly raw: Record<string, unknown> | undefined; readonly failure: unknown };

export function readRequestConfig(stdin: string): RequestConfig {
  let raw: Record<string, unknown>;
  try {
    raw = decodeConfig(stdin);
  } catch (failure) {
    return { ok: false, raw: undefined, failure };
  }
  try {
    return { ok: true, raw, cniVersion: requestedVersion(raw) };
  } catch (failure) {
    return { ok: false, raw, failure };
  }
}

/** The version to print an answer in: the negotiated one, else the latest. */
export function answerVersion(config: RequestConfig): CniVersion {
  return config.ok ? config.cniVersion : LATEST_VERSION;
}

/** The typed config; throws the decode or version error first, as parseConfig on stdin would. */
export function requestNetConf(config: RequestConfig): NetConf {
  if (!config.ok) throw config.failure;
  return parseConfig(config.raw, config.cniVersion);
}
