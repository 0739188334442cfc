import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, opendir, readdir, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, invalid, isSha256Hex, notFound } from '@berth/core';
import type { BlobInfo, BlobStore, PutResult } from './blob-store.js';
import { HashingFileWriter } from './hashing-file-writer.js';

const CHUNK = 1024 * 1024;
/** Blobs up to this size (when their size is declared up front) take the in-memory path. */
const SMALL_BLOB = 256 * 1024;

function checkSha(sha256: string): string {
  if (!isSha256Hex(sha256)) throw invalid(`invalid sha256 ${JSON.stringify(sha256)}: expected 64 lowercase hex digits`, { field: 'sha256' });
  return sha256;
}


/**
 * Blobs in a local folder: `sha256/<first two hex>/<hex>`, uploads in progress in `tmp/`
 * (same file system, so the final rename is atomic). A blob is written to a temp file while
 * it is hashed, fsynced, and renamed into place only when the hash matches; then the shard
 * folder is fsynced so the rename survives a power cut. A kill at any moment leaves at most a
 * temp file, which `cleanTemp` removes later.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  /** Open handles of the 256 shard folders, kept to fsync a rename without reopening. */
  private readonly shardHandles = new Map<string, Promise<FileHandle>>();

  private constructor(readonly root: string) {
    this.blobsDir = join(root, 'sha256');
    this.tmpDir = join(root, 'tmp');
  }

  static async open(root: string): Promise<FsBlobStore> {
    const s = new FsBlobStore(root);
    await mkdir(s.blobsDir, { recursive: true });
    await mkdir(s.tmpDir, { recursive: true });
    // All shard folders exist from the start: a put never has to create one.
    await Promise.all(Array.from({ length: 256 }, (_, i) => mkdir(join(s.blobsDir, i.toString(16).padStart(2, '0')), { recursive: true })));
    return s;
  }

  private syncShard(sha256: string): Promise<void> {
    const shard = sha256.slice(0, 2);
    let h = this.shardHandles.get(shard);
    if (!h) {
      h = open(join(this.blobsDir, shard), 'r');
      this.shardHandles.set(shard, h);
      h.catch(() => this.shardHandles.delete(shard));
    }
    return h.then((fh) => fh.sync());
  }

  private pathOf(sha256: string): string {
    return join(this.blobsDir, sha256.slice(0, 2), sha256);
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    checkSha(sha256);
    try {
      const st = await stat(this.pathOf(sha256));
      return { sha256, size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(sha256: string, body: AsyncIterable<Uint8Array> | Readable, opts: { expectedSize?: number; maxBytes?: number } = {}): Promise<PutResult> {
    checkSha(sha256);
    if (opts.expectedSize !== undefined && opts.expectedSize <= SMALL_BLOB && opts.expectedSize <= (opts.maxBytes ?? Infinity)) {
      return this.putSmall(sha256, body, opts.expectedSize);
    }
    return this.ingest(sha256, body, opts);
  }

  async putUnknown(body: AsyncIterable<Uint8Array> | Readable, opts: { expectedSize?: number; maxBytes?: number } = {}): Promise<PutResult> {
    return this.ingest(undefined, body, opts);
  }

  /** Streams into a temp file while hashing; renames into place under the hash it found. */
  private async ingest(expected: string | undefined, body: AsyncIterable<Uint8Array> | Readable, opts: { expectedSize?: number; maxBytes?: number }): Promise<PutResult> {
    const tmp = join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
    const hash = createHash('sha256');
    const max = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const fh = await open(tmp, 'w');
    let closed = false;
    const writer = new HashingFileWriter(fh.fd, hash, (total) => {
      if (total > max) return new BerthError('PAYLOAD_TOO_LARGE', `blob is over the ${max}-byte limit`, { max_bytes: max });
      if (opts.expectedSize !== undefined && total > opts.expectedSize) return invalid(`blob is longer than the declared ${opts.expectedSize} bytes`, { field: 'size' });
      return undefined;
    });
    try {
      await pipeline(body, writer);
      const size = writer.bytes;
      const actual = hash.digest('hex');
      if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
        throw invalid(`blob is ${size} bytes, shorter than the declared ${opts.expectedSize}`, { field: 'size' });
      }
      if (expected !== undefined && actual !== expected) {
        throw invalid(`the uploaded bytes hash to ${actual}, not ${expected}: nothing was stored`, { field: 'sha256', expected, actual });
      }
      const sha256 = actual;
      const [existing] = await Promise.all([this.stat(sha256), fh.sync()]);
      await fh.close();
      closed = true;
      if (existing) {
        await unlink(tmp).catch(() => {});
        return { sha256, size, created: false };
      }
      await rename(tmp, this.pathOf(sha256));
      await this.syncShard(sha256);
      return { sha256, size, created: true };
    } catch (err) {
      // Never close the descriptor under a write still in flight: its number could be reused.
      await writer.settled();
      if (!closed) await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  /**
   * A blob of known small size (configs, prompts, tokenizers): read into memory — bounded by
   * the declared size — and written with one write, skipping the stream machinery that
   * dominates the cost of tiny files. Same guarantees: hash checked first, fsync, rename.
   */
  private async putSmall(sha256: string, body: AsyncIterable<Uint8Array> | Readable, expectedSize: number): Promise<PutResult> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > expectedSize) throw invalid(`blob is longer than the declared ${expectedSize} bytes`, { field: 'size' });
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    if (size !== expectedSize) throw invalid(`blob is ${size} bytes, shorter than the declared ${expectedSize}`, { field: 'size' });
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== sha256) throw invalid(`the uploaded bytes hash to ${actual}, not ${sha256}: nothing was stored`, { field: 'sha256', expected: sha256, actual });
    if (await this.stat(sha256)) return { sha256, size, created: false };
    const tmp = join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
    const fh = await open(tmp, 'w');
    try {
      await fh.write(data);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    await rename(tmp, this.pathOf(sha256));
    await this.syncShard(sha256);
    return { sha256, size, created: true };
  }

  async open(sha256: string, range?: { start: number; end?: number }): Promise<{ stream: Readable; size: number; start: number; end: number }> {
    const info = await this.stat(sha256);
    if (!info) throw notFound(`blob ${sha256} not found`, { sha256 });
    const start = range?.start ?? 0;
    const end = range?.end ?? info.size - 1;
    if (range && (start < 0 || start > end || end >= info.size || !Number.isInteger(start) || !Number.isInteger(end))) {
      throw invalid(`range ${start}-${end} is outside the blob's ${info.size} bytes`, { field: 'range', size: info.size });
    }
    const stream = info.size === 0 ? createReadStream(this.pathOf(sha256), { highWaterMark: CHUNK }) : createReadStream(this.pathOf(sha256), { start, end, highWaterMark: CHUNK });
    return { stream, size: info.size, start, end: Math.max(end, start - 1) };
  }

  async touch(sha256: string): Promise<void> {
    checkSha(sha256);
    const now = new Date();
    await utimes(this.pathOf(sha256), now, now).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async *list(): AsyncIterable<BlobInfo> {
    const shards = (await readdir(this.blobsDir)).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort();
    for (const shard of shards) {
      const dir = await opendir(join(this.blobsDir, shard));
      for await (const entry of dir) {
        if (!entry.isFile() || !isSha256Hex(entry.name)) continue;
        const st = await stat(join(this.blobsDir, shard, entry.name)).catch(() => undefined);
        if (st) yield { sha256: entry.name, size: st.size, mtimeMs: st.mtimeMs };
      }
    }
  }

  async delete(sha256: string): Promise<boolean> {
    checkSha(sha256);
    try {
      await unlink(this.pathOf(sha256));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async cleanTemp(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let n = 0;
    for (const name of await readdir(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      const st = await stat(p).catch(() => undefined);
      if (st && st.mtimeMs < cutoff) {
        await unlink(p).catch(() => {});
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {
    const handles = [...this.shardHandles.values()];
    this.shardHandles.clear();
    await Promise.all(handles.map((h) => h.then((fh) => fh.close()).catch(() => {})));
  }
}
