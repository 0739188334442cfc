import { writev } from 'node:fs';
import type { Hash } from 'node:crypto';
import { Writable } from 'node:stream';

const BATCH = 4 * 1024 * 1024;
const IN_FLIGHT = 3;

function writeAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const total = buffers.reduce((n, b) => n + b.length, 0);
    writev(fd, buffers, position, (err, written) => {
      if (err) return reject(err);
      if (written === total) return resolve();
      // A short write (rare on regular files): write what is left.
      writeAt(fd, [Buffer.concat(buffers).subarray(written)], position + written).then(resolve, reject);
    });
  });
}

/**
 * Hashes what it is given and writes it to a file descriptor in batches of 4 MiB, each one
 * positional `writev`, up to three in flight while the next fills. HTTP bodies arrive in
 * 16–64 KiB chunks; writing each on its own costs a thread-pool round trip per chunk and is
 * several times slower, and one write at a time leaves the disk idle while the socket is read.
 * Memory stays at a few batches whatever the file size.
 */
export class HashingFileWriter extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private position = 0;
  bytes = 0;

  constructor(
    private readonly fd: number,
    private readonly hash: Hash,
    private readonly check: (total: number) => Error | undefined,
  ) {
    super({ highWaterMark: BATCH });
  }

  private start(batch: Buffer[], size: number): void {
    const p = writeAt(this.fd, batch, this.position).catch((err: Error) => {
      this.failure ??= err;
    });
    this.position += size;
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failure) return cb(this.failure);
    this.bytes += chunk.length;
    const problem = this.check(this.bytes);
    if (problem) return cb(problem);
    this.hash.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < BATCH) return cb();
    const batch = this.pending;
    const size = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const go = () => {
      if (this.failure) return cb(this.failure);
      this.start(batch, size);
      cb();
    };
    if (this.inflight.size < IN_FLIGHT) go();
    else void Promise.race(this.inflight).then(go);
  }

  /** Resolves once no write is in flight, whatever happened to them. */
  async settled(): Promise<void> {
    while (this.inflight.size) await Promise.all(this.inflight);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.pending.length) this.start(this.pending, this.pendingBytes);
    this.pending = [];
    this.settled().then(() => cb(this.failure ?? null));
  }
}
