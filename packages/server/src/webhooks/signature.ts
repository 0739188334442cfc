import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The bytes a Standard Webhooks secret stands for: the base64 after `whsec_`. */
export function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

/** Whether `secret` is `whsec_<base64>` of 24 to 64 bytes (the Standard Webhooks range). */
export function isStandardSecret(secret: string): boolean {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) return false;
  const n = secretBytes(secret).length;
  return n >= 24 && n <= 64;
}

/**
 * `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` (Standard Webhooks; MLflow 3 signs the
 * same content the same way, keyed by the secret's UTF-8 bytes instead).
 */
export function sign(key: Buffer, id: string, timestamp: string, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Whether any of the space-separated `v1,…` signatures of a header matches (what a receiver checks). */
export function verify(key: Buffer, id: string, timestamp: string, body: string, header: string): boolean {
  const want = Buffer.from(sign(key, id, timestamp, body));
  return header.split(' ').some((s) => {
    const got = Buffer.from(s);
    return got.length === want.length && timingSafeEqual(got, want);
  });
}
