/**
 * What the CNI executable prints: the daemon renders every answer here, in the version the
 * config asked for, and the executable copies it to its stdout byte for byte (cf. cni pkg/skel:
 * one place prints results and errors).
 */
import { CniError } from './errors.ts';
import { decodeConfig, requestedVersion } from './config.ts';
import { LATEST_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, type CniVersion } from './version.ts';
import { convertResult, type Result } from './result.ts';
import type { DaemonResponse } from './protocol.ts';

/** The version to print an error in: the config's when it names a supported one. */
export function bestEffortVersion(config: string): CniVersion {
  try {
    return requestedVersion(decodeConfig(config));
  } catch {
    return LATEST_VERSION;
  }
}

export function errorOutput(err: CniError, version: CniVersion): DaemonResponse {
  return { exitCode: 1, stdout: `${JSON.stringify({ cniVersion: version, ...err.toJSON() })}\n` };
}

/** ADD prints its result; DEL, CHECK, STATUS and GC print nothing on success. */
export function successOutput(result: Result | undefined, version: CniVersion): DaemonResponse {
  return { exitCode: 0, stdout: result === undefined ? '' : `${JSON.stringify(convertResult(result, version))}\n` };
}

/** VERSION, as the executable answers it itself (the daemon answers it too, the same way). */
export function versionOutput(config: string): DaemonResponse {
  let version: CniVersion = LATEST_VERSION;
  try {
    const raw = decodeConfig(config);
    if (isSupportedVersion(raw['cniVersion'])) version = raw['cniVersion'];
  } catch {
    // VERSION answers even without a usable stdin.
  }
  return { exitCode: 0, stdout: `${JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS })}\n` };
}
