/**
 * CNI spec versions this plugin speaks and what each one allows (cf. cni pkg/version and
 * plugins pkg/testutils: capabilities are predicates, nobody compares version strings).
 */
import { shown } from './errors.ts';
import { IncompatibleVersionError, InvalidConfigError } from '../errors.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

function rank(v: CniVersion): number {
  return SUPPORTED_VERSIONS.indexOf(v);
}

/** CHECK appeared in 0.4.0. */
export const supportsCheck = (v: CniVersion): boolean => rank(v) >= rank('0.4.0');
/** STATUS and GC appeared in 1.1.0. */
export const supportsStatusAndGc = (v: CniVersion): boolean => rank(v) >= rank('1.1.0');
/** Results before 1.0.0 carry `version` on each IP. */
export const resultHasIpVersion = (v: CniVersion): boolean => rank(v) < rank('1.0.0');
/** Interface `mtu` in results appeared in 1.1.0. */
export const resultHasInterfaceMtu = (v: CniVersion): boolean => rank(v) >= rank('1.1.0');

/**
 * The version to speak for a config: the highest of `cniVersions` we support when the list is
 * given (conflist 1.1.0 style), else `cniVersion`. `field` names the key in errors.
 */
export function negotiateVersion(cniVersion: unknown, cniVersions: unknown): CniVersion {
  if (cniVersions !== undefined) {
    if (!Array.isArray(cniVersions) || !cniVersions.every((v) => typeof v === 'string')) {
      throw new InvalidConfigError('cniVersions must be a list of strings', { details: `got ${shown(cniVersions)}`, field: 'cniVersions' });
    }
    const ours = cniVersions.filter(isSupportedVersion).sort((a, b) => rank(b) - rank(a));
    const best = ours[0];
    if (best !== undefined) return best;
    if (cniVersion === undefined) {
      throw new IncompatibleVersionError('no version in cniVersions is supported', { details: `cniVersions ${shown(cniVersions)}, supported ${SUPPORTED_VERSIONS.join(', ')}`, field: 'cniVersions' });
    }
  }
  if (cniVersion === undefined) {
    throw new InvalidConfigError('cniVersion is required', { field: 'cniVersion' });
  }
  if (!isSupportedVersion(cniVersion)) {
    throw new IncompatibleVersionError(`cniVersion ${shown(cniVersion)} is not supported`, { details: `supported: ${SUPPORTED_VERSIONS.join(', ')}`, field: 'cniVersion' });
  }
  return cniVersion;
}

/** CHECK needs 0.4.0+, STATUS and GC need 1.1.0+ (code 1 otherwise, as cni pkg/skel does). */
export function requireCommandSupported(command: string, version: CniVersion): void {
  const ok = command === 'CHECK' ? supportsCheck(version) : command === 'STATUS' || command === 'GC' ? supportsStatusAndGc(version) : true;
  if (!ok) throw new IncompatibleVersionError(`cniVersion ${version} does not support ${command}`, { field: 'cniVersion' });
}
