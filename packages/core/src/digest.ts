import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { invalid } from './errors.js';

const HEX64 = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** Accepts `sha256:<hex>` or a bare 64-hex string and returns the bare lowercase hex. */
export function parseSha256(value: unknown, field = 'sha256'): string {
  if (typeof value === 'string') {
    const hex = value.startsWith('sha256:') ? value.slice(7) : value;
    if (HEX64.test(hex)) return hex;
  }
  throw invalid(`invalid ${field} ${JSON.stringify(value)}: expected 64 lowercase hex digits, optionally prefixed 'sha256:'`, {
    field,
  });
}

export function sha256Hex(data: string | Uint8Array): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return bytesToHex(nobleSha256(bytes));
}
