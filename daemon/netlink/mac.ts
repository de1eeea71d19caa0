// Ethernet MAC addresses as the kernel wants them (6 bytes) and as people write them.
import { InvalidAddressError } from '../errors.ts';

const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Parses `0a:58:0a:00:00:05` (colon-separated, either case) into 6 bytes. */
export function parseMac(text: string): Buffer {
  if (!macPattern.test(text)) throw new InvalidAddressError(text, 'expected six colon-separated hex octets');
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

/** Formats a hardware address (6 bytes for Ethernet) as lowercase `0a:58:0a:00:00:05`. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}
