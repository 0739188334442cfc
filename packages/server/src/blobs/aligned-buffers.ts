import { writeSync } from 'node:fs';

/**
 * Page-aligned buffers for `O_DIRECT` writes. JavaScript cannot ask for an aligned address,
 * so each buffer is allocated with a page of slack and the aligned start is found by probing:
 * a 4 KiB direct write to offset 0 of the (still empty) file being written succeeds only from
 * an aligned address. Freed buffers are pooled, so the probe runs once per buffer, not per
 * upload.
 */
export const DIRECT_BUFFER = 2 * 1024 * 1024;
/** Length and file-offset multiple for direct writes (the common logical block size, and safe for 512). */
export const DIRECT_ALIGN = 4096;
const MAX_POOLED = 16;
const pool: Buffer[] = [];

function probe(fd: number): Buffer {
  const slab = Buffer.allocUnsafeSlow(DIRECT_BUFFER + DIRECT_ALIGN);
  for (let k = 0; k < DIRECT_ALIGN; k += 16) {
    try {
      writeSync(fd, slab, k, DIRECT_ALIGN, 0);
      return slab.subarray(k, k + DIRECT_BUFFER);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    }
  }
  throw Object.assign(new Error('no aligned offset accepted for O_DIRECT'), { code: 'EINVAL' });
}

/** `count` aligned buffers; `fd` is an empty file opened with O_DIRECT (probes write to its offset 0). */
export function acquireAligned(fd: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  try {
    while (out.length < count) out.push(pool.pop() ?? probe(fd));
  } catch (err) {
    releaseAligned(out);
    throw err;
  }
  return out;
}

export function releaseAligned(buffers: readonly Buffer[]): void {
  for (const b of buffers) if (pool.length < MAX_POOLED) pool.push(b);
}
