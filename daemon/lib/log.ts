/** The daemon's logger: JSON lines on stdout (pino's default), one child per request. */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { component: 'ovn-multinet' }, redact: ['tls.key', 'password', 'token'] });
}
