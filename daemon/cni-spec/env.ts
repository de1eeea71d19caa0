/**
 * The CNI environment, validated once (cf. cni pkg/skel: one table says which command needs
 * which variable and which validator checks it).
 */
import { shown } from './errors.ts';
import { InvalidEnvironmentError, UnreachableError } from '../errors.ts';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type Command = (typeof COMMANDS)[number];

declare const brand: unique symbol;
export type ContainerId = string & { readonly [brand]: 'ContainerId' };
export type IfName = string & { readonly [brand]: 'IfName' };
export type NetnsPath = string & { readonly [brand]: 'NetnsPath' };

/**
 * The netns paths a runtime hands out, and nothing else: a process's or a thread's netns link in
 * /proc (pid and tid decimal), or a bind mount under /var/run/netns or /run/netns (`ip netns add`,
 * containerd, CRI-O, podman) named by one safe path component. No other /proc path:
 * `/proc/<pid>/root/...` reaches any file of any container, `/proc/self` is whoever opens it.
 */
const NETNS_PATH = /^(?:\/proc\/[1-9]\d{0,9}(?:\/task\/[1-9]\d{0,9})?\/ns\/net|\/(?:var\/)?run\/netns\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,254})$/;
const NETNS_FORMS = '/proc/<pid>/ns/net, /proc/<pid>/task/<tid>/ns/net, /var/run/netns/<name> or /run/netns/<name>';
const MAX_CONTAINER_ID = 256;
const MAX_ARGS = 4096;
const MAX_PATH = 4096;

function invalid(field: string, msg: string, details = ''): InvalidEnvironmentError {
  return new InvalidEnvironmentError(`${field}: ${msg}`, { details, field });
}

/** cni pkg/utils ValidateContainerID: starts alphanumeric, then alphanumerics, `_`, `.`, `-`. */
export function validateContainerId(value: string): ContainerId {
  if (value === '') throw invalid('CNI_CONTAINERID', 'must not be empty');
  if (value.length > MAX_CONTAINER_ID) throw invalid('CNI_CONTAINERID', `longer than ${MAX_CONTAINER_ID} characters`);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(value)) {
    throw invalid('CNI_CONTAINERID', 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"', shown(value));
  }
  return value as ContainerId;
}

/**
 * cni pkg/utils ValidateInterfaceName: the kernel's IFNAMSIZ leaves 15 characters; "/" would
 * be a path in sysfs, ":" an alias, whitespace breaks every tool; "." and ".." are sysfs entries.
 */
export function validateIfName(value: string): IfName {
  if (value === '') throw invalid('CNI_IFNAME', 'must not be empty');
  if (Buffer.byteLength(value) > 15) throw invalid('CNI_IFNAME', 'longer than 15 bytes', shown(value));
  if (value === '.' || value === '..') throw invalid('CNI_IFNAME', 'must not be "." or ".."');
  if (/[/:\s]/.test(value)) throw invalid('CNI_IFNAME', 'must not contain "/", ":" or whitespace', shown(value));
  return value as IfName;
}

/** Whether `value` has one of the forms of NETNS_PATH (the path only: the file is checked when opened). */
export function isNetnsPath(value: string): value is NetnsPath {
  return NETNS_PATH.test(value);
}

/**
 * One of the netns path forms; whether it *is* a netns, and not the daemon's own, is checked on
 * the opened file (netlink/netns.ts openNetns).
 */
export function validateNetnsPath(value: string): NetnsPath {
  if (value.length > MAX_PATH) throw invalid('CNI_NETNS', `longer than ${MAX_PATH} characters`);
  if (!value.startsWith('/')) throw invalid('CNI_NETNS', 'must be an absolute path', shown(value));
  if (!isNetnsPath(value)) throw invalid('CNI_NETNS', `must be ${NETNS_FORMS}`, shown(value));
  return value;
}

/** CNI_ARGS: `K=V;K=V` (values may be empty, keys may not). */
export function parseCniArgs(value: string): Record<string, string> {
  if (value.length > MAX_ARGS) throw invalid('CNI_ARGS', `longer than ${MAX_ARGS} characters`);
  const out: Record<string, string> = {};
  for (const pair of value.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid('CNI_ARGS', 'each item must be KEY=VALUE', shown(pair));
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

type Need = 'required' | 'optional' | 'ignored';
/** SPEC.md, section "Parameters" of each operation. */
const NEEDS: Record<'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH', Record<Command, Need>> = {
  CNI_CONTAINERID: { ADD: 'required', DEL: 'required', CHECK: 'required', VERSION: 'ignored', STATUS: 'ignored', GC: 'ignored' },
  CNI_NETNS: { ADD: 'required', DEL: 'optional', CHECK: 'required', VERSION: 'ignored', STATUS: 'ignored', GC: 'ignored' },
  CNI_IFNAME: { ADD: 'required', DEL: 'required', CHECK: 'required', VERSION: 'ignored', STATUS: 'ignored', GC: 'ignored' },
  CNI_PATH: { ADD: 'optional', DEL: 'optional', CHECK: 'optional', VERSION: 'ignored', STATUS: 'optional', GC: 'required' },
};

export interface AttachmentEnv {
  containerId: ContainerId;
  ifName: IfName;
  args: Record<string, string>;
}

export type CniEnv =
  | ({ command: 'ADD' | 'CHECK'; netns: NetnsPath } & AttachmentEnv)
  | ({ command: 'DEL'; netns: NetnsPath | undefined } & AttachmentEnv)
  | { command: 'VERSION' }
  | { command: 'STATUS' | 'GC' };

export type Getenv = (name: string) => string | undefined;

export function parseCommand(value: string | undefined): Command {
  if (value === undefined || value === '') throw invalid('CNI_COMMAND', 'is required');
  if (!(COMMANDS as readonly string[]).includes(value)) {
    throw invalid('CNI_COMMAND', `unknown command ${shown(value)}`, `expected one of ${COMMANDS.join(', ')}`);
  }
  return value as Command;
}

/** Reads and validates the variables `command` needs; unknown commands and bad values are code 4. */
export function parseEnv(getenv: Getenv): CniEnv {
  const command = parseCommand(getenv('CNI_COMMAND'));
  const read = (name: keyof typeof NEEDS): string | undefined => {
    const need = NEEDS[name][command];
    if (need === 'ignored') return undefined;
    const value = getenv(name);
    if (need === 'required' && (value === undefined || value === '')) throw invalid(name, `is required for ${command}`);
    return value === '' ? undefined : value;
  };
  read('CNI_PATH');
  switch (command) {
    case 'VERSION':
      return { command };
    case 'STATUS':
    case 'GC':
      return { command };
    case 'ADD':
    case 'CHECK':
    case 'DEL': {
      const containerId = validateContainerId(read('CNI_CONTAINERID') ?? '');
      const ifName = validateIfName(read('CNI_IFNAME') ?? '');
      const rawNetns = read('CNI_NETNS');
      const args = parseCniArgs(getenv('CNI_ARGS') ?? '');
      if (command === 'DEL') {
        return { command, containerId, ifName, args, netns: rawNetns === undefined ? undefined : validateNetnsPath(rawNetns) };
      }
      return { command, containerId, ifName, args, netns: validateNetnsPath(rawNetns ?? '') };
    }
    default: {
      const never: never = command;
      throw new UnreachableError(`CNI_COMMAND: unhandled ${String(never)}`);
    }
  }
}
