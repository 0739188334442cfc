import { createHash, randomBytes, type Hash } from 'node:crypto';
import { constants, createReadStream, type Dir } from 'node:fs';
import { link, mkdir, open, opendir, readdir, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, invalid, isSha256Hex, notFound } from '@berth/core';
import type { BlobInfo, BlobRange, BlobStore, OpenedBlob, PutOptions, PutResult, TempCleanup, TempCleanupOptions } from './blob-store.js';
import { HashingFileWriter } from './hashing-file-writer.js';
import { acquireAligned, releaseAligned } from './aligned-buffers.js';

/** Read size for downloads: large reads keep the thread pool and syscall count low. */
const READ_CHUNK = 1024 * 1024;
/** Blobs up to this size (when their size is declared up front) take the in-memory path. */
const SMALL_BLOB = 256 * 1024;
/** Streamed puts from this size (or of unknown size) write with O_DIRECT where the file system allows. */
const DIRECT_MIN = 8 * 1024 * 1024;
/** Aligned buffers per direct put: three writes in flight while the fourth fills. */
const DIRECT_BUFFERS = 4;
const O_DIRECT: number | undefined = (constants as { O_DIRECT?: number }).O_DIRECT;
const TEMP_SUFFIX = '.part';
/** Upload session ids usable in a partial upload's file name. */
const UPLOAD_ID = /^[A-Za-z0-9-]{1,64}$/;
/** `tmp/<sha256>.<upload>.part`: the partial upload of one blob in one upload session. */
const PARTIAL_NAME = /^([0-9a-f]{64})\.([A-Za-z0-9-]{1,64})\.part$/;
/** link(2) errors that mean "no hard links on this file system": publish with rename(2) instead. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function checkSha(sha256: string): string {
  if (!isSha256Hex(sha256)) throw invalid(`invalid sha256 ${JSON.stringify(sha256)}: expected 64 lowercase hex digits`, { field: 'sha256' });
  return sha256;
}

function isByteCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function tooLarge(max: number, declared?: number): BerthError {
  const what = declared === undefined ? 'the blob is longer than' : `the declared size ${declared} is over`;
  return new BerthError('PAYLOAD_TOO_LARGE', `${what} this server's limit of ${max} bytes per blob`, { max_bytes: max });
}

function longerThan(expected: number): BerthError {
  return invalid(`the body is longer than the declared ${expected} bytes: nothing was stored`, { field: 'size', expected });
}

function shorterThan(actual: number, expected: number): BerthError {
  return invalid(`the body is ${actual} bytes, not the declared ${expected}: nothing was stored`, { field: 'size', expected, actual });
}

function checkUpload(upload: string): string {
  if (!UPLOAD_ID.test(upload)) throw invalid(`invalid upload session id ${JSON.stringify(upload.slice(0, 80))}`, { field: 'upload_id' });
  return upload;
}

function offsetMismatch(offset: number, held: number): BerthError {
  return new BerthError('FAILED_PRECONDITION', `the upload resumes at byte ${offset} but the server holds ${held} bytes of it: resume from ${held}`, {
    offset: held,
  });
}

/** Feeds the first `length` bytes of a file into `hash`, streaming. */
async function hashPrefix(path: string, length: number, hash: Hash, observe?: (chunk: Uint8Array) => void): Promise<void> {
  let read = 0;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: READ_CHUNK })) {
    hash.update(chunk as Buffer);
    observe?.(chunk as Buffer);
    read += (chunk as Buffer).length;
  }
  if (read !== length) throw offsetMismatch(length, read);
}

function hashMismatch(expected: string, actual: string): BerthError {
  return invalid(
    `sha256 mismatch: expected ${expected}, but the uploaded bytes hash to ${actual}; nothing was stored. Check that the file did not change during the upload and retry`,
    {
      field: 'sha256',
      expected,
      actual,
    },
  );
}

/** A small body of declared size, read into one buffer of exactly that size (never more). */
async function readSmall(body: AsyncIterable<Uint8Array | string> | Readable, expected: number, observe?: (chunk: Uint8Array) => void): Promise<Buffer> {
  const data = Buffer.allocUnsafe(expected);
  let size = 0;
  for await (const piece of body as AsyncIterable<Uint8Array | string>) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (size + chunk.byteLength > expected) throw longerThan(expected);
    data.set(chunk, size);
    observe?.(chunk);
    size += chunk.byteLength;
  }
  if (size !== expected) throw shorterThan(size, expected);
  return data;
}

/**
 * Blobs in a local folder: `sha256/<first two hex>/<hex>`, uploads in progress in
 * `tmp/<random>.part` (same file system, so publishing is atomic). A blob is written to a temp
 * file while it is hashed, fsynced, and published only when the hash matches; then the shard
 * folder is fsynced so the new name survives a power cut. A kill at any moment leaves at most a
 * temp file, which `cleanTemp` removes later — never a visible blob with wrong bytes.
 *
 * Publishing is link(2) rather than rename(2): link fails with EEXIST instead of replacing, so
 * of several concurrent puts of one blob (in this process or another) exactly one reports
 * `created`, and a stored blob's inode is never swapped under a reader. File systems without
 * hard links fall back to rename, which replaces identical bytes atomically.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  /** Open handles of the shard folders, kept to fsync after a publish without reopening. */
  private readonly shardHandles = new Map<string, Promise<FileHandle>>();
  /** Temp files of puts running in this process, which cleanTemp must leave alone. */
  private readonly activeTemps = new Set<string>();
  /** Partial uploads a put (or a look at them) is using now, each with the promise that frees it. */
  private readonly partialLocks = new Map<string, Promise<void>>();
  /** Whether this store's file system takes O_DIRECT writes; unknown until the first large put. */
  private directIo: boolean | undefined;

  private constructor(readonly root: string) {
    this.blobsDir = join(root, 'sha256');
    this.tmpDir = join(root, 'tmp');
  }

  /**
   * Opens (creating when needed) the store at `root`. `directIo: false` writes every blob
   * through the page cache, as on a file system that refuses O_DIRECT.
   */
  static async open(root: string, opts: { directIo?: boolean } = {}): Promise<FsBlobStore> {
    const s = new FsBlobStore(root);
    if (opts.directIo === false) s.directIo = false;
    await mkdir(s.blobsDir, { recursive: true });
    await mkdir(s.tmpDir, { recursive: true });
    // All shard folders exist from the start, so a put never has to create (and fsync) one.
    await Promise.all(Array.from({ length: 256 }, (_, i) => mkdir(join(s.blobsDir, i.toString(16).padStart(2, '0')), { recursive: true })));
    return s;
  }

  private pathOf(sha256: string): string {
    return join(this.blobsDir, sha256.slice(0, 2), sha256);
  }

  private syncShard(sha256: string): Promise<void> {
    // Windows cannot open a directory to fsync it (EISDIR); there the rename is as durable as NTFS makes it.
    if (process.platform === 'win32') return Promise.resolve();
    const shard = sha256.slice(0, 2);
    let h = this.shardHandles.get(shard);
    if (!h) {
      h = open(join(this.blobsDir, shard), 'r');
      this.shardHandles.set(shard, h);
      h.catch(() => this.shardHandles.delete(shard));
    }
    return h.then((fh) => fh.sync());
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    checkSha(sha256);
    try {
      const st = await stat(this.pathOf(sha256));
      return st.isFile() ? { sha256, size: st.size, mtimeMs: st.mtimeMs } : undefined;
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(sha256: string, body: AsyncIterable<Uint8Array> | Readable, opts: PutOptions = {}): Promise<PutResult> {
    return this.ingest(checkSha(sha256), body, opts);
  }

  async putUnknown(body: AsyncIterable<Uint8Array> | Readable, opts: PutOptions = {}): Promise<PutResult> {
    return this.ingest(undefined, body, opts);
  }

  /** put and putUnknown: `expected` is the sha256 the bytes must hash to, when known up front. */
  private async ingest(expected: string | undefined, body: AsyncIterable<Uint8Array> | Readable, opts: PutOptions): Promise<PutResult> {
    const { expectedSize, maxBytes, upload, offset = 0, observe } = opts;
    if (upload !== undefined) checkUpload(upload);
    if (!isByteCount(offset) || (offset > 0 && (upload === undefined || expected === undefined)))
      throw invalid(`offset ${offset} needs an upload session and a known sha256`, { field: 'offset' });
    if (expectedSize !== undefined && offset > expectedSize)
      throw invalid(`offset ${offset} is past the declared size ${expectedSize}`, { field: 'offset', expected: expectedSize });
    if (expectedSize !== undefined && !isByteCount(expectedSize))
      throw invalid(`declared size ${expectedSize} is not a whole number of bytes`, { field: 'size' });
    if (maxBytes !== undefined && !isByteCount(maxBytes)) throw invalid(`maxBytes ${maxBytes} is not a whole number of bytes`, { field: 'maxBytes' });
    const max = maxBytes ?? Number.MAX_SAFE_INTEGER;
    // Refused before reading a byte, so the body is left for the caller (an HTTP reply can still go out).
    if (expectedSize !== undefined && expectedSize > max) throw tooLarge(max, expectedSize);
    if (expectedSize !== undefined && expectedSize <= SMALL_BLOB && offset === 0) return this.putSmall(expected, body, expectedSize, observe);
    if (upload !== undefined && expected !== undefined) {
      const partial = this.partialPath(expected, upload);
      const release = await this.lockPartial(partial);
      try {
        return await this.putStream(expected, body, expectedSize, max, { path: partial, offset }, observe);
      } finally {
        release();
      }
    }
    return this.putStream(expected, body, expectedSize, max, undefined, observe);
  }

  private partialPath(sha256: string, upload: string): string {
    return join(this.tmpDir, `${sha256}.${upload}${TEMP_SUFFIX}`);
  }

  /** Waits until no one else uses the partial upload at `path`, then holds it until the returned function is called. */
  private async lockPartial(path: string): Promise<() => void> {
    for (let held = this.partialLocks.get(path); held; held = this.partialLocks.get(path)) await held;
    let release!: () => void;
    this.partialLocks.set(path, new Promise<void>((r) => (release = r)));
    return () => {
      this.partialLocks.delete(path);
      release();
    };
  }

  private async sizeOf(path: string): Promise<number> {
    try {
      return (await stat(path)).size;
    } catch (err) {
      if (errno(err) === 'ENOENT') return 0;
      throw err;
    }
  }

  async partialSize(upload: string, sha256: string): Promise<number> {
    const path = this.partialPath(checkSha(sha256), checkUpload(upload));
    const release = await this.lockPartial(path);
    try {
      return await this.sizeOf(path);
    } finally {
      release();
    }
  }

  async claimPartials(upload: string, sha256s: readonly string[]): Promise<Map<string, number>> {
    checkUpload(upload);
    const wanted = new Set(sha256s.map(checkSha));
    const held = new Map<string, number>();
    if (wanted.size === 0) return held;
    const others = new Map<string, string[]>();
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const m = PARTIAL_NAME.exec(name);
      if (!m?.[1] || !wanted.has(m[1]) || m[2] === upload) continue;
      others.set(m[1], [...(others.get(m[1]) ?? []), join(this.tmpDir, name)]);
    }
    for (const sha of wanted) {
      const own = this.partialPath(sha, upload);
      const releaseOwn = await this.lockPartial(own);
      try {
        let best = await this.sizeOf(own);
        for (const path of others.get(sha) ?? []) {
          const release = await this.lockPartial(path);
          try {
            const size = await this.sizeOf(path);
            if (size > best) {
              await rename(path, own);
              best = size;
            }
          } finally {
            release();
          }
        }
        if (best > 0) held.set(sha, best);
      } finally {
        releaseOwn();
      }
    }
    return held;
  }

  private async putStream(
    expected: string | undefined,
    body: AsyncIterable<Uint8Array> | Readable,
    expectedSize: number | undefined,
    max: number,
    partial?: { path: string; offset: number },
    observe?: (chunk: Uint8Array) => void,
  ): Promise<PutResult> {
    const tmp = partial?.path ?? this.newTempPath();
    const offset = partial?.offset ?? 0;
    this.activeTemps.add(tmp);
    let direct: Buffer[] | undefined;
    // A partial upload outlives a body cut off midway (the bytes so far are what the client
    // resumes from); anything the server refused, or a failed write, leaves nothing.
    let keep = false;
    try {
      const hash = createHash('sha256');
      let fh: FileHandle;
      if (offset > 0) {
        const held = await this.sizeOf(tmp);
        if (held !== offset) {
          keep = true;
          throw offsetMismatch(offset, held);
        }
        // Node cannot serialise a hash state, so the prefix is read again to rebuild it.
        await hashPrefix(tmp, offset, hash, observe);
        fh = await open(tmp, 'r+');
      } else {
        const wantDirect = expectedSize === undefined || expectedSize >= DIRECT_MIN;
        const opened = await this.openStreamTemp(tmp, wantDirect, partial !== undefined);
        fh = opened.fh;
        direct = opened.direct;
      }
      const writer = new HashingFileWriter(
        fh.fd,
        hash,
        (total) => {
          if (total > max) return tooLarge(max);
          if (expectedSize !== undefined && total > expectedSize) return longerThan(expectedSize);
          return undefined;
        },
        direct,
        offset,
        observe,
      );
      let size: number;
      let sha256: string;
      try {
        try {
          await pipeline(body, writer);
        } catch (err) {
          keep = partial !== undefined && !(err instanceof BerthError);
          throw err;
        }
        size = writer.bytes;
        if (expectedSize !== undefined && size !== expectedSize) {
          keep = partial !== undefined;
          throw shorterThan(size, expectedSize);
        }
        sha256 = hash.digest('hex');
        if (expected !== undefined && sha256 !== expected) throw hashMismatch(expected, sha256);
        await fh.datasync(); // the bytes and what reading them needs (size, blocks); the name is synced with its folder
      } catch (err) {
        // Never close the descriptor (or reuse a buffer) under a write still in flight: its
        // number could be reused by another open() and receive the late bytes.
        await writer.settled();
        if (writer.writeFailed) keep = false;
        await fh.close().catch(() => {});
        throw err;
      }
      // Some file systems (NFS) report write errors only at close: a failed close fails the put.
      await fh.close();
      return { sha256, size, created: await this.publish(tmp, sha256) };
    } finally {
      if (direct) releaseAligned(direct);
      this.activeTemps.delete(tmp);
      // After a failure the temp file is garbage (unless kept to resume); after link() it is a second name for the blob.
      if (!keep) await unlink(tmp).catch(() => {});
    }
  }

  /**
   * The temp file of a streamed put: opened with O_DIRECT (and aligned buffers for it) when
   * the body is large or of unknown size and the file system takes direct writes; otherwise,
   * or where O_DIRECT is refused (tmpfs, some network file systems), a plain buffered file.
   */
  private async openStreamTemp(tmp: string, wantDirect: boolean, replace = false): Promise<{ fh: FileHandle; direct?: Buffer[] }> {
    // A random temp name is new (O_EXCL); a partial upload's name is reused, and starting from byte 0 empties it.
    const create = constants.O_WRONLY | constants.O_CREAT | (replace ? constants.O_TRUNC : constants.O_EXCL);
    if (wantDirect && O_DIRECT !== undefined && this.directIo !== false) {
      let fh: FileHandle | undefined;
      try {
        fh = await this.openTemp(tmp, create | O_DIRECT);
        const direct = acquireAligned(fh.fd, DIRECT_BUFFERS);
        this.directIo = true;
        return { fh, direct };
      } catch (err) {
        if (errno(err) !== 'EINVAL' && errno(err) !== 'EOPNOTSUPP') {
          await fh?.close().catch(() => {});
          throw err;
        }
        // The file system refuses direct I/O: remember, and write through the page cache.
        this.directIo = false;
        await fh?.close().catch(() => {});
        await unlink(tmp).catch(() => {});
      }
    }
    return { fh: await this.openTemp(tmp, replace ? create : 'wx') };
  }

  /**
   * A blob of known small size (configs, prompts, tokenizers): read into one buffer of the
   * declared size and written with one write, skipping the stream machinery that dominates the
   * cost of tiny files. Same guarantees: hash checked first, fsync, then publish.
   */
  private async putSmall(
    expected: string | undefined,
    body: AsyncIterable<Uint8Array> | Readable,
    expectedSize: number,
    observe?: (chunk: Uint8Array) => void,
  ): Promise<PutResult> {
    const data = await readSmall(body, expectedSize, observe);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (expected !== undefined && sha256 !== expected) throw hashMismatch(expected, sha256);
    if (await this.stat(sha256)) {
      await this.touch(sha256);
      return { sha256, size: expectedSize, created: false };
    }
    const tmp = this.newTempPath();
    this.activeTemps.add(tmp);
    try {
      const fh = await this.openTemp(tmp);
      try {
        await fh.writeFile(data);
        await fh.datasync();
      } catch (err) {
        await fh.close().catch(() => {});
        throw err;
      }
      await fh.close();
      return { sha256, size: expectedSize, created: await this.publish(tmp, sha256) };
    } finally {
      this.activeTemps.delete(tmp);
      await unlink(tmp).catch(() => {});
    }
  }

  private newTempPath(): string {
    return join(this.tmpDir, `${randomBytes(12).toString('hex')}${TEMP_SUFFIX}`);
  }

  private async openTemp(tmp: string, flags: string | number = 'wx'): Promise<FileHandle> {
    try {
      return await open(tmp, flags);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
      // Someone removed tmp/ under a running server: recreate it rather than fail every upload.
      await mkdir(this.tmpDir, { recursive: true });
      return open(tmp, flags);
    }
  }

  /**
   * Gives the verified, fsynced temp file its blob name; false when the blob already existed
   * (then it is touched: it was just used). The shard folder is fsynced before this returns.
   */
  private async publish(tmp: string, sha256: string): Promise<boolean> {
    const dest = this.pathOf(sha256);
    const place = async (): Promise<boolean> => {
      try {
        await link(tmp, dest);
        return true;
      } catch (err) {
        const code = errno(err);
        if (code === 'EEXIST') return false;
        if (code === undefined || !NO_HARD_LINKS.has(code)) throw err;
      }
      if (await this.stat(sha256)) return false;
      await rename(tmp, dest);
      return true;
    };
    let created: boolean;
    try {
      created = await place();
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
      // The shard folder went missing (removed by hand): recreate it and try once more. If the
      // temp file itself is gone this fails again with ENOENT.
      await mkdir(dirname(dest), { recursive: true });
      const stale = this.shardHandles.get(sha256.slice(0, 2));
      this.shardHandles.delete(sha256.slice(0, 2));
      await stale?.then((fh) => fh.close()).catch(() => {});
      created = await place();
    }
    if (!created) {
      await this.touch(sha256);
      return false;
    }
    await this.syncShard(sha256);
    return true;
  }

  async open(sha256: string, range?: BlobRange): Promise<OpenedBlob> {
    checkSha(sha256);
    let fh: FileHandle;
    try {
      fh = await open(this.pathOf(sha256), 'r');
    } catch (err) {
      if (errno(err) === 'ENOENT') throw notFound(`blob ${sha256} not found`, { sha256 });
      throw err;
    }
    // Size and bytes come from the same open file, so a delete racing this download cannot cut it short.
    try {
      const { size } = await fh.stat();
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      if (range && !(isByteCount(start) && isByteCount(end) && start <= end && end < size)) {
        const valid = size === 0 ? 'the blob is empty' : `valid offsets are 0-${size - 1}`;
        throw invalid(`range ${start}-${end} is outside the blob's ${size} bytes (${valid})`, { field: 'range', size });
      }
      const stream = size === 0 ? fh.createReadStream({ highWaterMark: READ_CHUNK }) : fh.createReadStream({ start, end, highWaterMark: READ_CHUNK });
      return { stream, size, start, end };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  async touch(sha256: string): Promise<void> {
    checkSha(sha256);
    const now = new Date();
    try {
      await utimes(this.pathOf(sha256), now, now);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    const shards = (await readdir(this.blobsDir)).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort();
    for (const shard of shards) {
      let dir: Dir;
      try {
        dir = await opendir(join(this.blobsDir, shard), { bufferSize: 128 });
      } catch (err) {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') continue;
        throw err;
      }
      for await (const entry of dir) {
        // Entries are not trusted to carry their type (DT_UNKNOWN on some file systems): stat decides.
        if (!isSha256Hex(entry.name) || !entry.name.startsWith(shard)) continue;
        const st = await stat(join(this.blobsDir, shard, entry.name)).catch((err: unknown) => {
          if (errno(err) === 'ENOENT') return undefined;
          throw err;
        });
        if (st?.isFile()) yield { sha256: entry.name, size: st.size, mtimeMs: st.mtimeMs };
      }
    }
  }

  async delete(sha256: string): Promise<boolean> {
    checkSha(sha256);
    try {
      await unlink(this.pathOf(sha256));
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async cleanTemp(olderThanMs: number, opts: TempCleanupOptions = {}): Promise<TempCleanup> {
    if (!(typeof olderThanMs === 'number' && olderThanMs >= 0))
      throw invalid(`olderThanMs must be a non-negative number, not ${olderThanMs}`, { field: 'olderThanMs' });
    const cutoff = Date.now() - olderThanMs;
    const found: TempCleanup = { files: 0, bytes: 0 };
    let dir: Dir;
    try {
      dir = await opendir(this.tmpDir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return found;
      throw err;
    }
    for await (const entry of dir) {
      // Only our own leftovers: a root pointed at a shared folder must not lose other files.
      if (!entry.name.endsWith(TEMP_SUFFIX)) continue;
      const p = join(this.tmpDir, entry.name);
      if (this.activeTemps.has(p) || this.partialLocks.has(p)) continue;
      const upload = PARTIAL_NAME.exec(entry.name)?.[2];
      if (upload !== undefined && (!opts.keepUpload || (await opts.keepUpload(upload)))) continue;
      const st = await stat(p).catch(() => undefined);
      if (!st?.isFile() || st.mtimeMs >= cutoff) continue;
      if (!opts.dryRun) {
        try {
          await unlink(p);
        } catch (err) {
          if (errno(err) === 'ENOENT') continue;
          throw err;
        }
      }
      found.files++;
      found.bytes += st.size;
    }
    return found;
  }

  async close(): Promise<void> {
    const handles = [...this.shardHandles.values()];
    this.shardHandles.clear();
    await Promise.all(handles.map((h) => h.then((fh) => fh.close()).catch(() => {})));
  }
}
