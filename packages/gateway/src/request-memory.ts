import { randomFillSync } from 'node:crypto';

export interface Remembered {
  deployment: string;
  version: number;
  at: number;
}

/**
 * Which deployment and version served a request id, for `/v1/feedback`: the last `max` ids,
 * each for `ttlMs`. A Map keeps insertion order, so the oldest entry is always the first one
 * and eviction is O(1) without a separate queue.
 */
export class RequestMemory {
  private readonly entries = new Map<string, Remembered>();

  constructor(
    private readonly max = 100_000,
    private readonly ttlMs = 3_600_000,
  ) {}

  remember(id: string, r: Remembered): void {
    this.entries.set(id, r);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  find(id: string, now: number): Remembered | undefined {
    const r = this.entries.get(id);
    if (!r) return undefined;
    if (now - r.at > this.ttlMs) {
      this.entries.delete(id);
      return undefined;
    }
    return r;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(12 * 512);
let offset = pool.length;

/** `req_` and 24 hex digits (96 random bits), drawn from a pooled buffer so a request costs no system call. */
export function newRequestId(): string {
  if (offset + 12 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let id = 'req_';
  for (let i = 0; i < 12; i++) id += HEX[pool[offset + i] as number];
  offset += 12;
  return id;
}
