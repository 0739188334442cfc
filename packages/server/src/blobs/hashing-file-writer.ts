import { ftruncate, write, writev } from 'node:fs';
import type { Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { DIRECT_ALIGN } from './aligned-buffers.js';

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

/** One direct write of `length` bytes (a multiple of DIRECT_ALIGN) from an aligned buffer. */
function writeDirect(fd: number, buffer: Buffer, length: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    write(fd, buffer, 0, length, position, (err, written) => {
      if (err) return reject(err);
      if (written !== length) return reject(Object.assign(new Error(`short direct write: ${written} of ${length} bytes`), { code: 'EIO' }));
      resolve();
    });
  });
}

/**
 * Hashes what it is given and writes it to a file descriptor in large positional writes, a
 * few in flight while the next fills, so the socket, the hash and the disk work at once. HTTP
 * bodies arrive in 16–64 KiB chunks; writing each on its own costs a thread-pool round trip
 * per chunk and is several times slower. Memory stays at a few batches whatever the size.
 *
 * Two modes:
 * - buffered (`direct` absent): chunks are gathered into 4 MiB `writev` batches through the
 *   page cache; the caller's fsync then writes the whole file back.
 * - direct (`direct` holds aligned buffers, the fd was opened with `O_DIRECT`): chunks are
 *   copied into the aligned buffers and written straight to the device, skipping the page
 *   cache. Measured here on a 1 GiB upload this about doubles throughput: the page-cache copy
 *   and the writeback at fsync were costing more than the hash. The last buffer is written
 *   padded to the block size and the file truncated to its real length.
 */
export class HashingFileWriter extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private position = 0;
  private readonly free: Buffer[];
  private current: Buffer | undefined;
  private fill = 0;
  bytes = 0;

  constructor(
    private readonly fd: number,
    private readonly hash: Hash,
    private readonly check: (total: number) => Error | undefined,
    private readonly direct?: Buffer[],
    /** Bytes already in the file (and in `hash`): a resumed upload writes on from there. */
    at = 0,
    /** Sees each chunk as it is hashed (upload inspection, decision 0016). */
    private readonly observe?: (chunk: Uint8Array) => void,
  ) {
    super({ highWaterMark: direct?.[0]?.length ?? BATCH });
    this.free = direct ? [...direct] : [];
    this.position = at;
    this.bytes = at;
  }

  /** Whether a write to the file failed (then what the file holds is not to be trusted). */
  get writeFailed(): boolean {
    return this.failure !== undefined;
  }

  private track(p: Promise<void>): void {
    const q = p.catch((err: Error) => {
      this.failure ??= err;
    });
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
  }

  private start(batch: Buffer[], size: number): void {
    this.track(writeAt(this.fd, batch, this.position));
    this.position += size;
  }

  private startDirect(buffer: Buffer, length: number): void {
    const padded = Math.ceil(length / DIRECT_ALIGN) * DIRECT_ALIGN;
    this.track(writeDirect(this.fd, buffer, padded, this.position).finally(() => this.free.push(buffer)));
    this.position += length;
  }

  /** Waits until fewer than IN_FLIGHT writes run (and, direct, a buffer is free). */
  private async room(): Promise<void> {
    while (this.inflight.size >= IN_FLIGHT || (this.direct && this.free.length === 0)) await Promise.race(this.inflight);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failure) {
      cb(this.failure);
      return;
    }
    this.bytes += chunk.length;
    const problem = this.check(this.bytes);
    if (problem) {
      cb(problem);
      return;
    }
    this.hash.update(chunk);
    this.observe?.(chunk);
    if (this.direct) {
      this.copyDirect(chunk, 0).then(() => cb(this.failure ?? null), cb);
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < BATCH) {
      cb();
      return;
    }
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
    else void this.room().then(go);
  }

  private async copyDirect(chunk: Buffer, from: number): Promise<void> {
    let off = from;
    while (off < chunk.length) {
      if (!this.current) {
        if (this.free.length === 0) await this.room();
        if (this.failure) return;
        this.current = this.free.pop() as Buffer;
        this.fill = 0;
      }
      const n = Math.min(chunk.length - off, this.current.length - this.fill);
      chunk.copy(this.current, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.current.length) {
        if (this.inflight.size >= IN_FLIGHT) await this.room();
        if (this.failure) return;
        this.startDirect(this.current, this.fill);
        this.current = undefined;
      }
    }
  }

  /** Resolves once no write is in flight, whatever happened to them. */
  async settled(): Promise<void> {
    while (this.inflight.size) await Promise.all(this.inflight);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.direct) {
      if (this.current && this.fill > 0) this.startDirect(this.current, this.fill);
      else if (this.current) this.free.push(this.current);
      this.current = undefined;
      this.settled()
        .then(() =>
          this.failure ? undefined : new Promise<void>((resolve, reject) => ftruncate(this.fd, this.position, (err) => (err ? reject(err) : resolve()))),
        )
        .then(() => cb(this.failure ?? null), cb);
      return;
    }
    if (this.pending.length) this.start(this.pending, this.pendingBytes);
    this.pending = [];
    this.settled().then(() => cb(this.failure ?? null));
  }
}
