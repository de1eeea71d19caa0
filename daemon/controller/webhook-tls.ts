/**
 * The webhook's certificate: `tls.crt` and `tls.key` of a Secret mounted as a volume (the kubelet
 * swaps the whole directory at once when cert-manager rotates them). Read at start and again on
 * every change of the directory (inotify), and every POLL_MS besides in case an event is missed;
 * a pair that does not load (absent, or a key that does not fit) leaves the one in use in place.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../lib/log.ts';

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';
const POLL_MS = 30_000;
/** The kubelet's swap is a few renames: read once they are done. */
const SETTLE_MS = 200;

export interface KeyPair {
  cert: string;
  key: string;
}

/** Both files, checked to make a secure context together; throws with the reason otherwise. */
async function readKeyPair(dir: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(join(dir, CERT_FILE), 'utf8'), readFile(join(dir, KEY_FILE), 'utf8')]);
  createSecureContext({ cert, key });
  return { cert, key };
}

export class CertificateWatcher {
  private readonly dir: string;
  private readonly log: Logger;
  private readonly onPair: (pair: KeyPair) => void;
  private current: KeyPair | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private lastFailure = '';

  constructor(dir: string, log: Logger, onPair: (pair: KeyPair) => void) {
    this.dir = dir;
    this.log = log;
    this.onPair = onPair;
  }

  get loaded(): boolean {
    return this.current !== undefined;
  }

  /** Loads what is there now (if anything) and watches for changes. */
  async start(): Promise<void> {
    await this.reload();
    try {
      this.watcher = watch(this.dir, () => this.soon());
      this.watcher.on('error', (err) => this.log.warn({ err, dir: this.dir }, 'webhook certificate directory: watch failed; polling only'));
    } catch (err) {
      this.log.warn({ err, dir: this.dir }, 'webhook certificate directory: cannot watch it; polling only');
    }
    this.poll = setInterval(() => this.soon(), POLL_MS).unref();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.settle);
  }

  private soon(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => void this.reload(), SETTLE_MS).unref();
  }

  private async reload(): Promise<void> {
    let pair: KeyPair;
    try {
      pair = await readKeyPair(this.dir);
    } catch (err) {
      const reason = (err as Error).message;
      // Logged once per cause, not at every poll.
      if (reason !== this.lastFailure) this.log.warn({ dir: this.dir, reason, serving: this.loaded }, this.loaded ? 'webhook certificate not reloaded: keeping the one in use' : 'webhook certificate not loaded: the webhook refuses connections until it is');
      this.lastFailure = reason;
      return;
    }
    this.lastFailure = '';
    if (this.current?.cert === pair.cert && this.current.key === pair.key) return;
    this.current = pair;
    this.onPair(pair);
    this.log.info({ dir: this.dir }, 'webhook certificate loaded');
  }
}
