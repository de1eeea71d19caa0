/**
 * Commander hands flags over untyped: typed reads of them, and the flags the daemon and the
 * controller share (NB remotes and TLS files, log level).
 */
import type { LevelWithSilent } from 'pino';
import { FlagError } from '../errors.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export interface FlagReader {
  str: (key: string) => string;
  optional: (key: string) => string | undefined;
  num: (key: string) => number;
}

/** Keys are commander's camelCase names; errors name the --flag. */
export function flagReader(flags: Record<string, unknown>): FlagReader {
  const dashed = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return {
    str: (key) => {
      const v = flags[key];
      if (typeof v !== 'string') throw new FlagError(`--${dashed(key)} is required`);
      return v;
    },
    optional: (key) => {
      const v = flags[key];
      return typeof v === 'string' ? v : undefined;
    },
    num: (key) => {
      const v = flags[key];
      if (typeof v !== 'number') throw new FlagError(`--${dashed(key)} must be a number`);
      return v;
    },
  };
}

export interface NbFlags {
  nbDb: string[];
  nbTls: { key: string; cert: string; ca: string } | undefined;
  /** --db-inactivity-probe: a database silent a third of this is sent an echo; silent 4 × this, its connection is dropped. */
  dbInactivityProbeMs: number;
}

/** --nb-db (already split by the option's parser) and the three TLS files, all or none. */
export function nbFlags(flags: Record<string, unknown>): NbFlags {
  const { optional, num } = flagReader(flags);
  const dbInactivityProbeMs = num('dbInactivityProbe');
  const nbDb = flags['nbDb'];
  if (!Array.isArray(nbDb) || !nbDb.every((r) => typeof r === 'string')) throw new FlagError('--nb-db is required');
  const key = optional('nbPrivateKey');
  const cert = optional('nbCertificate');
  const ca = optional('nbCaCert');
  if (key === undefined && cert === undefined && ca === undefined) return { nbDb, nbTls: undefined, dbInactivityProbeMs };
  if (key === undefined || cert === undefined || ca === undefined) throw new FlagError('--nb-private-key, --nb-certificate and --nb-ca-cert go together');
  return { nbDb, nbTls: { key, cert, ca }, dbInactivityProbeMs };
}

/**
 * The echo interval of a database session for an inactivity probe: an interval without input
 * sends an echo, the silence allowed then doubles with each unanswered echo, and a database
 * silent for 12 intervals (4 × the probe: ovsdb/jsonrpc.ts SILENCE_CAP_INTERVALS) is dropped. A
 * busy database keeps its session; one that is gone closes the connection itself.
 */
export function echoIntervalFor(inactivityProbeMs: number): number {
  return Math.max(1, Math.floor(inactivityProbeMs / 3));
}

export function logLevelFlag(flags: Record<string, unknown>): LevelWithSilent {
  const level = flagReader(flags).str('logLevel');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new FlagError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return level as LevelWithSilent;
}
