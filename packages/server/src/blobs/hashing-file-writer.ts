import { writev } from 'node:fs';
import type { Hash } from 'node:crypto';
import { Writable } from 'node:stream';

const BATCH = 4 * 1024 * 1024;

function writeAll(fd: number, buffers: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const total = buffers.reduce((n, b) => n + b.length, 0);
    writev(fd, buffers, (err, written) => {
      if (err) return reject(err);
      if (written === total) return resolve();
      // A short write (rare on regular files): write what is left.
      const rest = Buffer.concat(buffers).subarray(written);
      writeAll(fd, [rest]).then(resolve, reject);
    });
  });
}

/**
 * Hashes what it is given and writes it to a file descriptor in batches of 4 MiB with one
 * `writev` each, one batch in flight while the next fills. HTTP bodies arrive in 16–64 KiB
 * chunks; writing each on its own costs a thread-pool round trip per chunk and is several times
 * slower. Memory stays at two batches whatever the file size.
 */
export class HashingFileWriter extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> = Promise.resolve();
  bytes = 0;

  constructor(
    private readonly fd: number,
    private readonly hash: Hash,
    private readonly check: (total: number) => Error | undefined,
  ) {
    super({ highWaterMark: BATCH });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    const problem = this.check(this.bytes);
    if (problem) return cb(problem);
    this.hash.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < BATCH) return cb();
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    // Wait for the previous batch, start this one, and take more data while it is written.
    this.inflight.then(
      () => {
        this.inflight = writeAll(this.fd, batch);
        this.inflight.catch(() => {});
        cb();
      },
      (err: Error) => cb(err),
    );
  }

  /** Resolves once no write is in flight, whatever happened to it. */
  settled(): Promise<void> {
    return this.inflight.catch(() => {});
  }

  override _final(cb: (err?: Error | null) => void): void {
    const batch = this.pending;
    this.pending = [];
    this.inflight
      .then(() => (batch.length ? writeAll(this.fd, batch) : undefined))
      .then(
        () => cb(),
        (err: Error) => cb(err),
      );
  }
}
