/**
 * The settings every config has, whichever the mode: version, name, type, the switch and the
 * daemon's socket, prevResult, runtimeConfig, and GC's valid attachments.
 */
import { shown } from '../cni-spec/errors.ts';
import { isObject } from '../cni-spec/json.ts';
import { parseResult, type Result } from '../cni-spec/result.ts';
import { negotiateVersion, type CniVersion } from '../cni-spec/version.ts';
import { bad } from './bad.ts';

/**
 * The one directory (at any depth) whose sockets the CNI executable connects to: root's, the
 * daemon's. The executable (cni/config.go socketPath) applies the same rule; both test suites
 * check it against the paths in cni/testdata/vectors.json.
 */
export const SOCKET_DIR = '/run/ovn-multinet/';
export const DEFAULT_SOCKET = `${SOCKET_DIR}cni.sock`;
/** The plugin's `type`, as a runtime (or another plugin, for IPAM) execs it. */
export const PLUGIN_TYPE = 'ovn-multinet';
const MAX_NAME = 253;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
const MTU_MIN = 68;
const MTU_MAX = 65535;
const MAX_VALID_ATTACHMENTS = 100_000;

export interface Attachment {
  containerId: string;
  ifName: string;
}

/** The version a config asks for: `cniVersions` (the highest we speak) or `cniVersion`. */
export function requestedVersion(raw: Record<string, unknown>): CniVersion {
  return negotiateVersion(raw['cniVersion'], raw['cniVersions']);
}

export function optionalString(raw: Record<string, unknown>, field: string): string | undefined {
  const v = raw[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(field, `must be a string, got ${typeof v}`);
  return v;
}

/** cni libcni ValidateNetworkName: the name is part of file paths and OVN names. */
function validateName(value: unknown): string {
  if (value === undefined) throw bad('name', 'is required');
  if (typeof value !== 'string') throw bad('name', `must be a string, got ${typeof value}`);
  if (value === '' || value.length > MAX_NAME || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(value)) {
    throw bad('name', `must be 1-${MAX_NAME} letters, digits, "_", "." or "-", starting with a letter or digit`, shown(value));
  }
  return value;
}

/** What both modes read first from the top level of the config, once its version is known. */
export function header(raw: Record<string, unknown>, cniVersion: CniVersion): { cniVersion: CniVersion; name: string; type: string } {
  const name = validateName(raw['name']);
  const type = optionalString(raw, 'type');
  if (type === undefined || type === '') throw bad('type', 'is required');
  return { cniVersion, name, type };
}

export function validateLogicalSwitch(value: string | undefined, name: string): string {
  if (value === undefined) return name;
  if (value === '' || value.length > MAX_NAME || /[\s\0]/.test(value)) {
    throw bad('logicalSwitch', `must be 1-${MAX_NAME} characters without whitespace`, shown(value));
  }
  return value;
}

/**
 * Strictly below SOCKET_DIR and lexically clean: no empty, "." or ".." segment and no trailing
 * "/" (exactly the paths Go's path.Clean returns unchanged, as cni/config.go checks), so no
 * spelling of the path leaves the directory.
 */
function underSocketDir(value: string): boolean {
  return value.startsWith(SOCKET_DIR) && value.slice(SOCKET_DIR.length).split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

export function validateSocket(value: string | undefined): string {
  if (value === undefined) return DEFAULT_SOCKET;
  if (!value.startsWith('/') || value.includes('\0')) throw bad('socket', 'must be an absolute path', shown(value));
  if (Buffer.byteLength(value) > MAX_SOCKET_PATH) throw bad('socket', `longer than ${MAX_SOCKET_PATH} bytes`);
  if (!underSocketDir(value)) throw bad('socket', `must be a clean path under ${SOCKET_DIR}`, shown(value));
  return value;
}

export function validateMtu(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MTU_MIN || value > MTU_MAX) {
    throw bad('mtu', `must be an integer from ${MTU_MIN} to ${MTU_MAX}`, shown(value));
  }
  return value;
}

const VALID_ATTACHMENTS = 'cni.dev/valid-attachments';

export function validateValidAttachments(value: unknown): Attachment[] | undefined {
  const field = VALID_ATTACHMENTS;
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw bad(field, 'must be a list');
  if (value.length > MAX_VALID_ATTACHMENTS) throw bad(field, `more than ${MAX_VALID_ATTACHMENTS} entries`);
  return value.map((entry: unknown, i) => {
    if (!isObject(entry) || typeof entry['containerID'] !== 'string' || typeof entry['ifname'] !== 'string') {
      throw bad(`${field}[${i}]`, 'must be an object with string containerID and ifname');
    }
    return { containerId: entry['containerID'], ifName: entry['ifname'] };
  });
}

export function validatePrevResult(value: unknown): Result | undefined {
  if (value === undefined) return undefined;
  const prevResult = parseResult(value);
  if (prevResult === undefined) throw bad('prevResult', 'is not a CNI result');
  return prevResult;
}

export function validateRuntimeConfig(value: unknown): Record<string, unknown> | undefined {
  if (value !== undefined && !isObject(value)) throw bad('runtimeConfig', 'must be an object');
  return value;
}

/**
 * The list a GC keeps: required, since a GC without it would remove every attachment of the
 * network on this node, live ones included (a runtime that does not send it is not asking for
 * that). An empty list still means "none is valid".
 */
export function requireValidAttachments(list: Attachment[] | undefined): Attachment[] {
  if (list === undefined) throw bad(VALID_ATTACHMENTS, 'is required for GC', 'without it GC would remove every attachment of this network on this node; send [] to remove them all');
  return list;
}
