/**
 * A seeded, deterministic mutation fuzzer for daemon socket requests (issue 11, item 6). Seeds are
 * request bodies (`{"env":{...},"config":"..."}`, no newline); each mutant is a seed with one to
 * three mutations: structural ones on the parsed request (env names and values, CNI_COMMAND
 * variants, path tricks, config as a non-string, missing fields, values inside the config text
 * changed in type, size or bytes) and byte ones on the serialized text (flip, insert, delete,
 * truncate, duplicate, NUL, invalid UTF-8, newline, splice with another seed). Same seeds and
 * seed number, same mutants, so a failure can be replayed.
 */
import { seededRandom } from './random.ts';

export interface Mutant {
  /** The request bytes, without the newline that ends a request. */
  readonly bytes: Buffer;
  /** Index of the seed it came from. */
  readonly seed: number;
  /** The mutations applied, in order. */
  readonly ops: readonly string[];
}

/** JSON text that goes into a request as it is (deep nesting, numbers JSON.stringify cannot write). */
class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

type Value = Raw | string | number | boolean | null | readonly Value[] | { readonly [key: string]: Value };
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const PLACEHOLDER = '\u0000mutate-raw\u0000';

/** JSON text of `value`, with every Raw written as its own text (so 100,000 levels never recurse). */
function serialize(value: Value): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Raw) {
      raws.push(v.text);
      return PLACEHOLDER;
    }
    return v;
  });
  let i = 0;
  return text.replaceAll(JSON.stringify(PLACEHOLDER), () => raws[i++] ?? 'null');
}

const deepArrays = (n: number): Raw => new Raw(`${'['.repeat(n)}1${']'.repeat(n)}`);
const deepObjects = (n: number): Raw => new Raw(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`);

const STRINGS: readonly string[] = [
  '', ' ', 'x', '1.1.0', '0.2.0', 'ADD', 'null', '{}', '[]', 'a\u0000b', '\u0000', '\u2028', '\ud800', 'é', '\u{1f600}',
  '\uff11.\uff10.\uff10', 'a'.repeat(256), 'b'.repeat(4096), 'c'.repeat(70_000), 'x=y;y=z', '=', ';;', 'IgnoreUnknown=1',
  'K8S_POD_NAME=p;K8S_POD_NAMESPACE=n', '$(id)', '`id`', 'a;rm -rf /', '%00', '\\', '\r\n', 'line\nbreak',
];
const NUMBERS: readonly Value[] = [0, -1, 1, 1.5, 65_536, 4_294_967_296, 2 ** 53 + 1, 1e308, -1e308, new Raw('1e400'), new Raw('-0'), new Raw('123456789012345678901234567890'), new Raw('1E-400')];
const OTHERS: readonly Value[] = [true, false, null, [], {}, [1, 'x'], { a: 1 }, ['1.1.0'], deepArrays(50), deepArrays(20_000), deepObjects(20_000)];

/** Values for CNI_NETNS, CNI_IFNAME and CNI_CONTAINERID (never another process's /proc/<pid>). */
const PATH_TRICKS: readonly string[] = [
  '', '.', '..', '/', '../../..', '/var/run/netns/', '/var/run/netns/..', '/var/run/netns/../../proc/self/ns/net',
  '/var/run/netns/./x', '/run/netns//x', '/proc/self/ns/net', '/proc/thread-self/ns/net', '/proc/self/ns/mnt', '/proc/self/fd/0',
  '/proc/self/root/var/run/netns', '/dev/null', '/etc/passwd', '/var/run/netns/x\u0000y', 'net1/../eth0', 'net1/', 'lo', 'eth0',
  'br-int', 'omn0123456789ab', 'a b', 'x'.repeat(15), 'x'.repeat(16), 'y'.repeat(4096), '%2e%2e', '..\\..', 'net1\n', '-x', '~root',
];
const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'VERSION', 'GC', 'add', 'Add', 'ADD ', ' ADD', 'ADD\n', 'ADD\u0000', 'ATTACH', '', 'DELETE', 'GC\u200b', '\uff21\uff24\uff24'];
const ENV_NAMES: readonly string[] = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'];
const UNKNOWN_ENV_NAMES: readonly string[] = ['HOME', 'cni_command', '', 'CNI_COMMAND ', '__proto__', 'constructor', 'LD_PRELOAD', 'CNI_NETNS\u0000', 'PATH'];
/** Keys a config may carry, known to the daemon or to the CNI spec. */
const CONFIG_KEYS: readonly string[] = [
  'cniVersion', 'cniVersions', 'name', 'type', 'socket', 'logicalSwitch', 'mtu', 'ipam', 'dns', 'prevResult', 'runtimeConfig',
  'capabilities', 'args', 'cni.dev/valid-attachments', 'allowPersistentIPs', 'portSecurity', 'topology', 'subnets', 'routes',
];

export const MUTATIONS = [
  'env-delete', 'env-value', 'env-unknown', 'env-type', 'env-not-object', 'command', 'path-trick', 'config-type', 'drop-field',
  'extra-field', 'config-value', 'config-delete-key', 'config-add-key', 'config-bytes',
  'flip', 'insert', 'delete', 'truncate', 'duplicate', 'nul', 'bad-utf8', 'newline', 'splice',
] as const;
export type Mutation = (typeof MUTATIONS)[number];
const STRUCTURAL: readonly Mutation[] = MUTATIONS.slice(0, MUTATIONS.indexOf('flip'));
const BYTES: readonly Mutation[] = MUTATIONS.slice(MUTATIONS.indexOf('flip'));

const isRecord = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets an own property, even `__proto__` (a plain assignment would change the prototype). */
function set(target: Record<string, Value>, key: string, value: Value): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function parse(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

export class Mutator {
  private readonly random: () => number;
  private readonly seeds: readonly Buffer[];

  constructor(seeds: readonly Buffer[], seed: number) {
    if (seeds.length === 0) throw new Error('the mutator needs at least one seed');
    this.seeds = seeds;
    this.random = seededRandom(seed);
  }

  next(): Mutant {
    const index = this.int(this.seeds.length);
    let bytes = this.seeds[index] as Buffer;
    const ops: string[] = [];
    // Half the mutants change one thing only, so many stay close enough to valid to reach deep code.
    const count = this.random() < 0.5 ? 1 : 2 + this.int(2);
    for (let i = 0; i < count; i++) {
      // Structural mutations need a request that still parses; byte ones work on anything.
      const request = parse(bytes.toString('utf8'));
      const structural = isRecord(request) && this.random() < 0.7 ? this.structural(request) : undefined;
      if (structural !== undefined) {
        bytes = structural.bytes;
        ops.push(structural.op);
      } else {
        const op = this.pick(BYTES);
        bytes = this.mutateBytes(op, bytes);
        ops.push(op);
      }
    }
    return { bytes, seed: index, ops };
  }

  /** A structural mutation, or undefined when the request is too deep to write again. */
  private structural(request: Record<string, Json>): { op: Mutation; bytes: Buffer } | undefined {
    const op = this.pick(STRUCTURAL);
    try {
      return { op, bytes: Buffer.from(serialize(this.mutateRequest(op, request))) };
    } catch (err) {
      if (err instanceof RangeError) return undefined;
      throw err;
    }
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  private value(): Value {
    const kind = this.random();
    if (kind < 0.5) return this.pick(STRINGS);
    if (kind < 0.75) return this.pick(NUMBERS);
    return this.pick(OTHERS);
  }

  private mutateRequest(op: Mutation, request: Record<string, Json>): Record<string, Value> {
    const out: Record<string, Value> = { ...request };
    const env: Record<string, Value> = isRecord(request['env']) ? { ...request['env'] } : {};
    const envKeys = Object.keys(env);
    switch (op) {
      case 'env-delete':
        if (envKeys.length > 0) delete env[this.pick(envKeys)];
        out['env'] = env;
        break;
      case 'env-value':
        env[this.pick(ENV_NAMES)] = this.pick(STRINGS);
        out['env'] = env;
        break;
      case 'env-unknown':
        set(env, this.pick(UNKNOWN_ENV_NAMES), this.pick(STRINGS));
        out['env'] = env;
        break;
      case 'env-type':
        env[this.pick(envKeys.length > 0 ? envKeys : ENV_NAMES)] = this.random() < 0.5 ? this.pick(NUMBERS) : this.pick(OTHERS);
        out['env'] = env;
        break;
      case 'env-not-object':
        out['env'] = this.random() < 0.5 ? this.pick(OTHERS) : this.pick(STRINGS);
        break;
      case 'command':
        env['CNI_COMMAND'] = this.pick(COMMANDS);
        out['env'] = env;
        break;
      case 'path-trick':
        env[this.pick(['CNI_NETNS', 'CNI_IFNAME', 'CNI_CONTAINERID'])] = this.pick(PATH_TRICKS);
        out['env'] = env;
        break;
      case 'config-type': {
        const config = typeof request['config'] === 'string' ? parse(request['config']) : undefined;
        out['config'] = config !== undefined && this.random() < 0.4 ? config : this.random() < 0.5 ? this.pick(NUMBERS) : this.pick(OTHERS);
        break;
      }
      case 'drop-field':
        delete out[this.pick(['env', 'config'])];
        break;
      case 'extra-field':
        set(out, this.pick(['extra', 'envs', 'Config', 'stdin', '__proto__']), this.value());
        break;
      case 'config-value':
      case 'config-delete-key':
      case 'config-add-key':
      case 'config-bytes':
        out['config'] = this.mutateConfig(op, typeof request['config'] === 'string' ? request['config'] : '{}');
        break;
      default:
        throw new Error(`not a structural mutation: ${op}`);
    }
    return out;
  }

  /** The config text with one change; it stays a string, so only the config parser sees it. */
  private mutateConfig(op: Mutation, text: string): string {
    if (op === 'config-bytes') return this.mutateBytes(this.pick(BYTES), Buffer.from(text)).toString('utf8');
    const config = parse(text);
    if (!isRecord(config)) return this.mutateBytes(this.pick(BYTES), Buffer.from(text)).toString('utf8');
    const out: Record<string, Value> = { ...config };
    const keys = Object.keys(config);
    if (op === 'config-delete-key') {
      if (keys.length > 0) delete out[this.pick(keys)];
    } else if (op === 'config-add-key' || keys.length === 0) {
      out[this.pick(CONFIG_KEYS)] = this.value();
    } else {
      // A value inside: a key at the top, or one level down in an object or array.
      const key = this.pick(keys);
      const inner = config[key];
      if (isRecord(inner) && Object.keys(inner).length > 0 && this.random() < 0.5) {
        out[key] = { ...inner, [this.pick(Object.keys(inner))]: this.value() };
      } else if (Array.isArray(inner) && inner.length > 0 && this.random() < 0.5) {
        const copy: Value[] = [...inner];
        copy[this.int(copy.length)] = this.value();
        out[key] = copy;
      } else {
        out[key] = this.value();
      }
    }
    return serialize(out);
  }

  private mutateBytes(op: Mutation, bytes: Buffer): Buffer {
    const at = this.int(bytes.length + 1);
    const span = 1 + this.int(Math.min(64, Math.max(1, bytes.length)));
    switch (op) {
      case 'flip': {
        if (bytes.length === 0) return Buffer.from([this.int(256)]);
        const copy = Buffer.from(bytes);
        const i = Math.min(at, copy.length - 1);
        copy[i] = this.random() < 0.5 ? (copy[i] as number) ^ (1 << this.int(8)) : this.int(256);
        return copy;
      }
      case 'insert':
        return Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length: span }, () => this.int(256))), bytes.subarray(at)]);
      case 'delete':
        return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + span)]);
      case 'truncate':
        return bytes.subarray(0, at);
      case 'duplicate':
        return Buffer.concat([bytes.subarray(0, at + span), bytes.subarray(at)]);
      case 'nul':
        return Buffer.concat([bytes.subarray(0, at), Buffer.from([0]), bytes.subarray(at)]);
      case 'bad-utf8':
        return Buffer.concat([bytes.subarray(0, at), Buffer.from(this.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x80]])), bytes.subarray(at)]);
      case 'newline':
        return Buffer.concat([bytes.subarray(0, at), Buffer.from(this.pick(['\n', '\r\n', '\n\n'])), bytes.subarray(at)]);
      case 'splice': {
        const other = this.pick(this.seeds);
        return Buffer.concat([bytes.subarray(0, at), other.subarray(this.int(other.length + 1))]);
      }
      default:
        throw new Error(`not a byte mutation: ${op}`);
    }
  }
}
