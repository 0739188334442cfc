import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, invalid, notFound } from '@berth/core';
import type { OpenedPart, OpenPartsResult, PartStore, StagedPart } from './part-store.js';

/** Session ids are chosen by the caller; anything else is treated as absent, never as a path. */
const SESSION_ID = /^[0-9a-f]{32,128}$/;
/** A finished part: `<part number>.<sha256 of its bytes>`; a part being written ends in `.tmp`. */
const PART_FILE = /^(\d+)\.([0-9a-f]{64})$/;
const META_FILE = 'session.json';
/** Small write buffer per part stream: many parts arrive at once, memory must stay flat. */
const WRITE_BUFFER = 256 * 1024;
/** Read chunks when parts are assembled: one part streams at a time. */
const READ_CHUNK = 1024 * 1024;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function gone(id: string): BerthError {
  return notFound(`upload ${id} not found`, { upload_id: id });
}

/**
 * Parts of multipart uploads waiting to be assembled: one folder per session under `root`
 * (`<blob root>/multipart/<id>/`), holding the caller's `session.json` and one file per part,
 * named by its number and the sha256 of its bytes. A part streams to a temp file while it is
 * hashed, is fsynced, then renamed into place; a part sent again replaces the earlier one
 * (the last to finish wins). Memory per part in flight is a few hundred KiB whatever its size.
 *
 * Pure file handling: what a session means, and who may touch it, is the caller's business.
 */
export class PartStaging implements PartStore {
  /** Per-session chains serialising the short steps that rename, list or open parts. */
  private readonly locks = new Map<string, Promise<void>>();
  /** Sessions with a part being written in this process, which `sweep` leaves alone. */
  private readonly writing = new Map<string, number>();

  constructor(readonly root: string) {}

  private dir(id: string): string {
    if (!SESSION_ID.test(id)) throw gone(id);
    return join(this.root, id);
  }

  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = prev.then(() => new Promise<void>((r) => (release = r)));
    this.locks.set(id, mine);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === mine) this.locks.delete(id);
    }
  }

  /** Creates session `id` with its description (`meta`, any JSON); a clash of ids fails with EEXIST. */
  async create(id: string, meta: unknown): Promise<void> {
    const dir = this.dir(id);
    await mkdir(this.root, { recursive: true });
    await mkdir(dir);
    try {
      await writeFile(join(dir, META_FILE), JSON.stringify(meta), { flag: 'wx' });
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }

  /** The description given at `create`, or undefined when there is no such session. */
  async meta(id: string): Promise<unknown> {
    if (!SESSION_ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.root, id, META_FILE), 'utf8')) as unknown;
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR' || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /**
   * Streams one part in, hashing it; NOT_FOUND when the session is gone (before or while the
   * part was written), INVALID_ARGUMENT when the body is not `expectedSize` bytes,
   * PAYLOAD_TOO_LARGE past `maxBytes`. Nothing of a failed part is kept.
   */
  async writePart(id: string, partNumber: number, body: Readable, opts: { expectedSize?: number; maxBytes: number }): Promise<StagedPart> {
    const dir = this.dir(id);
    const tmp = join(dir, `${partNumber}.${randomBytes(8).toString('hex')}.tmp`);
    this.writing.set(id, (this.writing.get(id) ?? 0) + 1);
    try {
      const hash = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > opts.maxBytes)
            return cb(
              new BerthError('PAYLOAD_TOO_LARGE', `the part is longer than this server's limit of ${opts.maxBytes} bytes`, { max_bytes: opts.maxBytes }),
            );
          if (opts.expectedSize !== undefined && size > opts.expectedSize)
            return cb(invalid(`the part is longer than the declared ${opts.expectedSize} bytes`, { field: 'size' }));
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      try {
        await pipeline(body, tap, createWriteStream(tmp, { flags: 'wx', highWaterMark: WRITE_BUFFER }));
      } catch (err) {
        if (errno(err) === 'ENOENT') throw gone(id);
        throw err;
      }
      if (opts.expectedSize !== undefined && size !== opts.expectedSize)
        throw invalid(`the part is ${size} bytes, not the declared ${opts.expectedSize}`, { field: 'size' });
      // Parts must survive a crash between their upload and the completion that reads them.
      const fh = await open(tmp, 'r+').catch((err: unknown) => {
        throw errno(err) === 'ENOENT' ? gone(id) : err;
      });
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const sha256 = hash.digest('hex');
      await this.locked(id, async () => {
        try {
          await rename(tmp, join(dir, `${partNumber}.${sha256}`));
        } catch (err) {
          if (errno(err) === 'ENOENT') throw gone(id);
          throw err;
        }
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const m = PART_FILE.exec(name);
          if (m && Number(m[1]) === partNumber && m[2] !== sha256) await unlink(join(dir, name)).catch(() => {});
        }
      });
      return { partNumber, sha256, size };
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    } finally {
      const n = (this.writing.get(id) ?? 1) - 1;
      if (n > 0) this.writing.set(id, n);
      else this.writing.delete(id);
    }
  }

  private async listParts(id: string): Promise<Map<number, StagedPart>> {
    const dir = this.dir(id);
    const out = new Map<number, StagedPart>();
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') throw gone(id);
      throw err;
    }
    for (const name of names) {
      const m = PART_FILE.exec(name);
      if (!m) continue;
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st?.isFile()) out.set(Number(m[1]), { partNumber: Number(m[1]), sha256: m[2]!, size: st.size });
    }
    return out;
  }

  /** The finished parts of a session, by part number. NOT_FOUND when the session is gone. */
  async parts(id: string): Promise<Map<number, StagedPart>> {
    return this.locked(id, () => this.listParts(id));
  }

  /**
   * Opens the wanted parts, in the order given, when each is there with that sha256; the
   * handles keep reading those bytes even if a part is replaced or the session removed
   * meanwhile. The caller closes them. NOT_FOUND when the session is gone.
   */
  async openParts(id: string, wanted: { partNumber: number; sha256: string }[]): Promise<OpenPartsResult> {
    return this.locked(id, async () => {
      const have = await this.listParts(id);
      for (const w of wanted) {
        const p = have.get(w.partNumber);
        if (!p || p.sha256 !== w.sha256) return { ok: false, partNumber: w.partNumber, actual: p?.sha256 };
      }
      const opened: OpenedPart[] = [];
      try {
        for (const w of wanted) {
          const handle = await open(join(this.dir(id), `${w.partNumber}.${w.sha256}`), 'r');
          opened.push(openedPart(w.partNumber, (await handle.stat()).size, handle));
        }
      } catch (err) {
        await Promise.all(opened.map((o) => o.close()));
        throw err;
      }
      return { ok: true, parts: opened };
    });
  }

  /** Deletes a session and its parts; false when there was none. */
  async remove(id: string): Promise<boolean> {
    if (!SESSION_ID.test(id)) return false;
    return this.locked(id, async () => {
      const dir = join(this.root, id);
      const there = await stat(dir).then(
        () => true,
        () => false,
      );
      // Retries cover a part's temp file created while the folder is being emptied.
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      return there;
    });
  }

  /**
   * Removes sessions untouched (no part finished or started) for `olderThanMs`, except those
   * with a part being written in this process; returns how many.
   */
  async sweep(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      if (errno(err) === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const id of names) {
      if (!SESSION_ID.test(id) || this.writing.has(id)) continue;
      const st = await stat(join(this.root, id)).catch(() => undefined);
      if (!st?.isDirectory() || st.mtimeMs >= cutoff) continue;
      if (await this.remove(id)) removed++;
    }
    return removed;
  }
}

/** The read stream closes the handle when it ends or is destroyed; `close` covers a part never read. */
function openedPart(partNumber: number, size: number, handle: FileHandle): OpenedPart {
  return { partNumber, size, read: () => handle.createReadStream({ start: 0, highWaterMark: READ_CHUNK }), close: () => handle.close().catch(() => {}) };
}
