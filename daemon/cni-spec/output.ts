/**
 * What the CNI executable prints: the daemon renders every answer here, in the version the
 * config asked for, and the executable copies it to its stdout byte for byte (cf. cni pkg/skel:
 * one place prints results and errors).
 */
import { CniError } from './errors.ts';
import { LATEST_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, type CniVersion } from './version.ts';
import { convertResult, type Result } from './result.ts';
import type { DaemonResponse } from './protocol.ts';

export function errorOutput(err: CniError, version: CniVersion): DaemonResponse {
  return { exitCode: 1, stdout: `${JSON.stringify({ cniVersion: version, ...err.toJSON() })}\n` };
}

/** ADD prints its result; DEL, CHECK, STATUS and GC print nothing on success. */
export function successOutput(result: Result | undefined, version: CniVersion): DaemonResponse {
  return { exitCode: 0, stdout: result === undefined ? '' : `${JSON.stringify(convertResult(result, version))}\n` };
}

/**
 * VERSION, as the executable answers it itself (the daemon answers it too, the same way): in the
 * decoded config's `cniVersion` when we speak it, else the latest (even without a usable stdin,
 * `raw` undefined).
 */
export function versionOutput(raw: Record<string, unknown> | undefined): DaemonResponse {
  const requested = raw?.['cniVersion'];
  const version: CniVersion = isSupportedVersion(requested) ? requested : LATEST_VERSION;
  return { exitCode: 0, stdout: `${JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS })}\n` };
}
