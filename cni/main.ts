/**
 * The CNI plugin side of the executable (cf. cni pkg/skel): read env and stdin, validate, forward
 * to the daemon, print the result in the version the config asked for. Inputs and outputs are
 * injected so tests run it in-process.
 */
import { existsSync, readSync, statSync } from 'node:fs';
import { asCniError, CniError, ErrorCode } from './errors.ts';
import { parseCommand, parseEnv, type CniEnv, type Getenv } from './env.ts';
import { decodeConfig, parseConfig, requestedVersion, MAX_CONFIG_BYTES } from './config.ts';
import { LATEST_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, requireCommandSupported, type CniVersion } from './version.ts';
import { convertResult, parseResult } from './result.ts';
import { callDaemon, DaemonUnavailableError } from './client.ts';
import { FORWARDED_ENV, type DaemonRequest, type ForwardedEnv } from './protocol.ts';

/** Longer than the daemon's own per-request deadline, so the daemon's error wins. */
const DAEMON_TIMEOUT_MS = 150_000;

export interface CniIo {
  getenv: Getenv;
  readStdin: (maxBytes: number) => Promise<string>;
  writeStdout: (text: string) => void;
  /** Is a host network interface present? (DEL without a daemon checks there is nothing to clean.) */
  linkExists: (name: string) => boolean;
}

function printError(io: CniIo, version: CniVersion, err: CniError): number {
  io.writeStdout(`${JSON.stringify({ cniVersion: version, ...err.toJSON() })}\n`);
  return 1;
}

/** The version to print errors in: the config's if it names a supported one. */
function bestEffortVersion(stdin: string): CniVersion {
  try {
    return requestedVersion(decodeConfig(stdin));
  } catch {
    return LATEST_VERSION;
  }
}

function versionInfo(stdin: string): string {
  let version: CniVersion = LATEST_VERSION;
  try {
    const raw = decodeConfig(stdin);
    if (isSupportedVersion(raw['cniVersion'])) version = raw['cniVersion'];
  } catch {
    // VERSION answers even without a usable stdin.
  }
  return JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS });
}

function forwardedEnv(getenv: Getenv): ForwardedEnv {
  const env: ForwardedEnv = {};
  for (const name of FORWARDED_ENV) {
    const value = getenv(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The daemon is not running: what each command does then (DEL must never block pod deletion). */
async function withoutDaemon(io: CniIo, env: CniEnv, err: DaemonUnavailableError): Promise<void> {
  switch (env.command) {
    case 'DEL': {
      // Loaded only here: node:crypto costs every CNI call several milliseconds of start-up.
      const { hostVethName } = await import('./names.ts');
      if (!io.linkExists(hostVethName(env.containerId, env.ifName))) return;
      throw new CniError(ErrorCode.TryAgainLater, 'the ovn-multinet daemon is not running and this attachment still exists', err.message);
    }
    case 'STATUS':
      throw new CniError(ErrorCode.NotAvailable, 'the ovn-multinet daemon is not running', err.message);
    case 'ADD':
    case 'CHECK':
    case 'GC':
    case 'VERSION':
      throw new CniError(ErrorCode.TryAgainLater, 'the ovn-multinet daemon is not running', err.message);
    default: {
      const never: never = env;
      throw new CniError(ErrorCode.Unknown, `unhandled ${String(never)}`);
    }
  }
}

export async function runCni(io: CniIo): Promise<number> {
  let stdin = '';
  let version: CniVersion = LATEST_VERSION;
  try {
    const command = parseCommand(io.getenv('CNI_COMMAND'));
    stdin = await io.readStdin(MAX_CONFIG_BYTES);
    if (command === 'VERSION') {
      io.writeStdout(`${versionInfo(stdin)}\n`);
      return 0;
    }
    version = bestEffortVersion(stdin);
    const env = parseEnv(io.getenv);
    const conf = parseConfig(decodeConfig(stdin));
    version = conf.cniVersion;
    requireCommandSupported(env.command, conf.cniVersion);
    const request: DaemonRequest = { env: forwardedEnv(io.getenv), config: stdin };
    let response;
    try {
      response = await callDaemon(conf.socket, request, AbortSignal.timeout(DAEMON_TIMEOUT_MS));
    } catch (err) {
      if (!(err instanceof DaemonUnavailableError)) throw err;
      if (statSync(conf.socket, { throwIfNoEntry: false })?.isSocket() === false) {
        throw new CniError(ErrorCode.InvalidConfig, 'socket: not a Unix socket', conf.socket);
      }
      await withoutDaemon(io, env, err);
      return 0;
    }
    if ('error' in response) {
      const { code, msg, details } = response.error;
      throw new CniError(code, msg, details ?? '');
    }
    if (env.command === 'ADD') {
      const result = parseResult(response.result);
      if (result === undefined) throw new CniError(ErrorCode.IoFailure, 'daemon returned a malformed result');
      io.writeStdout(`${JSON.stringify(convertResult(result, conf.cniVersion))}\n`);
    }
    return 0;
  } catch (err) {
    return printError(io, version, asCniError(err));
  }
}

/**
 * Reads stdin, at most `maxBytes` (+1 to detect overflow), with plain read(2) calls: a stream on
 * process.stdin would cost every CNI call several milliseconds of start-up.
 */
export function readProcessStdin(maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EOF') break;
      throw new CniError(ErrorCode.IoFailure, 'cannot read the network configuration from stdin', (err as Error).message);
    }
    if (n === 0) break;
    size += n;
    if (size > maxBytes) return Promise.reject(new CniError(ErrorCode.DecodeFailure, `network configuration is larger than ${maxBytes} bytes`));
    chunks.push(chunk.subarray(0, n));
  }
  return Promise.resolve(Buffer.concat(chunks).toString('utf8'));
}

export function processIo(): CniIo {
  return {
    getenv: (name) => process.env[name],
    readStdin: readProcessStdin,
    writeStdout: (text) => process.stdout.write(text),
    linkExists: (name) => existsSync(`/sys/class/net/${name}`),
  };
}
