import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BerthError, INLINE_BLOB_MAX_BYTES, INLINE_TOTAL_MAX_BYTES, normalizeManifest, type Dependency, type ManifestFile, type Version } from '@berth/core';
import type { BerthClient } from '../index.js';
import { CHUNK, fsError, hashInto } from './local-fs.js';
import { pool } from './pool.js';
import type { Progress } from './progress.js';
import { listFiles, type LocalFile } from './walk.js';

export interface PushOptions {
  model: string;
  kind?: string;
  /** Versions this one pins (an adapter's base), each by version and digest. */
  dependencies?: Dependency[];
  description?: string;
  metadata?: Record<string, unknown>;
  tags?: Record<string, string>;
  source?: string;
  runId?: string;
  /** Files hashed and blobs uploaded at once (default 4). */
  concurrency?: number;
  /** Send a small version's files inside the commit (default true); false always asks what is missing first. */
  inline?: boolean;
  onProgress?: (p: Progress) => void;
}

export interface PushResult {
  version: Version;
  files: ManifestFile[];
  /** Bytes sent to the server for this version (a resumed blob counts only the bytes it still needed). */
  uploaded_bytes: number;
  skipped_bytes: number;
  /** Bytes of blobs an earlier, interrupted push had left on the server, which this push resumed from and did not send again. */
  resumed_bytes: number;
}

/** Files from this size are uploaded resumably (within the upload session). */
const RESUMABLE_MIN = 1024 * 1024;

function changedWhilePushed(f: LocalFile, why: string, details: Record<string, unknown> = {}): BerthError {
  return new BerthError('FAILED_PRECONDITION', `${f.abs} changed while it was being pushed (${why}): push again`, { path: f.path, ...details });
}

/** Whether the server refused a resumed upload's bytes as a whole (a partial it held that no longer matches). */
function refusedWhole(err: unknown): boolean {
  return err instanceof BerthError && err.code === 'INVALID_ARGUMENT' && err.details.field === 'sha256' && 'expected' in err.details;
}

/**
 * Streams one file to PUT /api/v1/blobs/<sha256>?upload_id=… through the client (and so its
 * fetch), from `offset` when the session holds the bytes before it. Resolves to the offset the
 * upload finally started from. A resume the server cannot take (it holds another length, or
 * the whole no longer hashes right, so it dropped its bytes) starts again from the server's
 * offset, at most twice.
 */
async function uploadFile(client: BerthClient, uploadId: string, f: LocalFile & ManifestFile, offset: number, onBytes: (n: number) => void): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      await uploadFrom(client, uploadId, f, offset, onBytes);
      return offset;
    } catch (err) {
      if (attempt >= 2 || offset === 0) throw err;
      if (err instanceof BerthError && err.code === 'FAILED_PRECONDITION' && typeof err.details.offset === 'number') offset = err.details.offset;
      else if (refusedWhole(err)) offset = 0;
      else throw err;
    }
  }
}

async function uploadFrom(client: BerthClient, uploadId: string, f: LocalFile & ManifestFile, offset: number, onBytes: (n: number) => void): Promise<void> {
  let readError: unknown;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let sent = offset;
    try {
      for await (const chunk of createReadStream(f.abs, { start: offset, highWaterMark: CHUNK })) {
        sent += (chunk as Buffer).length;
        // never send more or fewer bytes than the Content-Length we declared
        if (sent > f.size) throw changedWhilePushed(f, `it grew past the ${f.size} bytes it had when it was hashed`);
        onBytes((chunk as Buffer).length);
        yield chunk as Buffer;
      }
      if (sent < f.size) throw changedWhilePushed(f, `it shrank to ${sent} of the ${f.size} bytes it had when it was hashed`);
    } catch (err) {
      readError = err;
      throw err;
    }
  }
  try {
    // a small file is cheaper to send again than to resume: it goes as a plain PUT, as before
    await client.putBlob(f.sha256, chunks(), f.size, f.size >= RESUMABLE_MIN ? { uploadId, offset } : {});
  } catch (err) {
    if (readError) throw fsError(readError, f.abs);
    // a resumed upload's whole may mismatch because of the bytes the server held: the caller starts over
    if (offset > 0 && refusedWhole(err)) throw err;
    // the server refused the bytes: same length, other content, so the file changed under us
    if (
      err instanceof BerthError &&
      err.code === 'INVALID_ARGUMENT' &&
      (err.details.field === 'sha256' || err.details.field === 'size') &&
      'expected' in err.details
    ) {
      throw changedWhilePushed(f, err.message, err.details);
    }
    throw err;
  }
}

/**
 * Registers a folder (or one file) as a new version: hash every file (streaming), ask the
 * server which blobs it lacks, upload only those in parallel, then commit the manifest with
 * the upload session's id. A small version goes in one request instead: its files inside
 * the commit.
 */
export async function pushDirectory(client: BerthClient, root: string, opts: PushOptions): Promise<PushResult> {
  const listed = await listFiles(root);
  const concurrency = opts.concurrency ?? 4;
  const total = listed.reduce((n, f) => n + f.size, 0);
  let hashed = 0;
  const files: (LocalFile & ManifestFile)[] = listed.map((f) => ({ ...f, sha256: '' }));
  await pool(files, concurrency, async (f) => {
    const h = createHash('sha256');
    try {
      // the size is what was hashed, not what stat said a moment earlier
      f.size = await hashInto(f.abs, h, (n) => {
        hashed += n;
        opts.onProgress?.({ phase: 'hash', done: hashed, total, file: f.path });
      });
    } catch (err) {
      throw fsError(err, f.abs);
    }
    f.sha256 = h.digest('hex');
  });
  const manifest = normalizeManifest(files.map(({ path, size, sha256 }) => ({ path, size, sha256 })));
  const bytes = manifest.reduce((n, f) => n + f.size, 0);
  const commitBody = {
    files: manifest,
    ...(opts.kind ? { kind: opts.kind } : {}),
    ...(opts.dependencies ? { dependencies: opts.dependencies } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(opts.metadata && Object.keys(opts.metadata).length ? { metadata: opts.metadata } : {}),
    ...(opts.tags && Object.keys(opts.tags).length ? { tags: opts.tags } : {}),
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.runId ? { run_id: opts.runId } : {}),
  };

  // A small version (every file ≤ 64 KiB, ≤ 1 MiB in all) travels in the commit itself: one
  // request instead of three. Unchanged files are sent again but stored once; the server says
  // how many bytes were new.
  const distinct = new Map(files.map((f) => [f.sha256, f]));
  const distinctBytes = [...distinct.values()].reduce((n, f) => n + f.size, 0);
  if (opts.inline !== false && files.every((f) => f.size <= INLINE_BLOB_MAX_BYTES) && distinctBytes <= INLINE_TOTAL_MAX_BYTES) {
    opts.onProgress?.({ phase: 'upload', done: 0, total: distinctBytes });
    const blobs = await Promise.all(
      [...distinct.values()].map(async (f) => {
        let data: Buffer;
        try {
          data = await readFile(f.abs);
        } catch (err) {
          throw fsError(err, f.abs);
        }
        if (createHash('sha256').update(data).digest('hex') !== f.sha256) throw changedWhilePushed(f, 'its bytes differ from when it was hashed');
        return { sha256: f.sha256, base64: data.toString('base64') };
      }),
    );
    const { version, storedBytes } = await client.commitVersion(opts.model, { ...commitBody, blobs });
    opts.onProgress?.({ phase: 'upload', done: distinctBytes, total: distinctBytes });
    const uploaded = storedBytes ?? distinctBytes;
    return { version, files: manifest, uploaded_bytes: uploaded, skipped_bytes: bytes - uploaded, resumed_bytes: 0 };
  }

  const session = await client.openUpload(manifest);
  const missing = new Set(session.missing);
  // the bytes an interrupted push left on the server (the session took them over): sent from there on
  const held = new Map((session.resume ?? []).map((r) => [r.sha256, r.offset]));
  const toSend = files.filter((f) => missing.delete(f.sha256));
  const uploadTotal = toSend.reduce((n, f) => n + f.size, 0);
  let done = 0;
  let resumed = 0;
  opts.onProgress?.({ phase: 'upload', done: 0, total: uploadTotal });
  await pool(toSend, concurrency, async (f) => {
    const offset = f.size >= RESUMABLE_MIN ? Math.min(held.get(f.sha256) ?? 0, f.size) : 0;
    done += offset;
    const from = await uploadFile(client, session.upload_id, f, offset, (n) => {
      done += n;
      opts.onProgress?.({ phase: 'upload', done, total: uploadTotal, file: f.path });
    });
    // a resume the server could not take was sent again from `from`
    done -= offset - from;
    resumed += from;
  });
  const version = await client.createVersion(opts.model, { ...commitBody, upload_id: session.upload_id });
  return { version, files: manifest, uploaded_bytes: uploadTotal - resumed, skipped_bytes: bytes - uploadTotal, resumed_bytes: resumed };
}
