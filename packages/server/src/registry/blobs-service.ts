import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  BerthError,
  INLINE_BLOB_MAX_BYTES,
  INLINE_TOTAL_MAX_BYTES,
  invalid,
  normalizeManifest,
  notFound,
  parseSha256,
  type BlobInspection,
  type ManifestFile,
  type UploadBlobState,
} from '@berth/core';
import type { BlobInfo, PutResult } from '../blobs/blob-store.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import type { UploadSession } from './results.js';
import { saveInspection, UploadInspection } from './upload-inspection.js';

async function* once(data: Buffer): AsyncGenerator<Uint8Array> {
  yield data;
}

/** Blob store calls in flight at once when a whole manifest is looked at. */
const CONCURRENCY = 16;

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY) await Promise.all(items.slice(i, i + CONCURRENCY).map(fn));
}

export class BlobService {
  constructor(private readonly deps: RegistryDeps) {}

  /**
   * Opens an upload session (DESIGN §2): says which blobs the server lacks, and protects every
   * listed blob from garbage collection until the session is committed or expires. Blobs that
   * exist are touched, so a collector that listed them before this call sees them as fresh.
   */
  async openUpload(actor: Actor, files: unknown, ttlMs = this.deps.config.uploadTtlMs): Promise<UploadSession> {
    requireRole(actor, 'editor', 'uploading');
    const manifest = normalizeManifest(files);
    const distinct = [...new Set(manifest.map((f) => f.sha256))];
    const now = this.deps.clock.now();
    const id = randomUUID();
    const expires = now + ttlMs;
    await this.deps.store.transaction((tx) => tx.uploads.create(id, distinct, actor.name, now, expires));
    const missing: string[] = [];
    await inBatches(distinct, async (sha) => {
      if (await this.deps.blobs.stat(sha)) await this.deps.blobs.touch(sha);
      else missing.push(sha);
    });
    // A client that re-runs after an interrupted push opens a new session: the bytes its earlier
    // sessions left are moved to this one, and it resumes from them (decision 0011).
    const held = missing.length > 0 ? await this.deps.blobs.claimPartials(id, missing) : new Map<string, number>();
    const resume = [...held].sort(([a], [b]) => a.localeCompare(b)).map(([sha256, offset]) => ({ sha256, offset }));
    return { upload_id: id, missing: missing.sort(), resume, expires_at: expires };
  }

  /** An open upload session, or NOT_FOUND (an unknown or expired one cannot hold partial uploads). */
  private async requireOpenUpload(uploadId: string): Promise<string> {
    const session = uploadId.length <= 64 ? await this.deps.store.read.uploads.find(uploadId) : undefined;
    if (!session || session.expires_at <= this.deps.clock.now())
      throw notFound(`upload session ${JSON.stringify(uploadId.slice(0, 64))} is unknown or expired: open a new one with POST /api/v1/uploads`, {
        upload_id: uploadId.slice(0, 64),
      });
    return uploadId;
  }

  /** How many bytes of a blob an upload session holds, from which its client resumes. */
  async uploadState(uploadId: string, sha256: string): Promise<UploadBlobState> {
    const hex = parseSha256(sha256);
    await this.requireOpenUpload(uploadId);
    const stored = await this.deps.blobs.stat(hex);
    if (stored) return { upload_id: uploadId, sha256: hex, offset: stored.size, stored: true };
    return { upload_id: uploadId, sha256: hex, offset: await this.deps.blobs.partialSize(uploadId, hex), stored: false };
  }

  /**
   * The small files a commit carries inline (base64): every one is checked first (a file of
   * the manifest, within the limits, bytes matching their sha256), then each is stored like
   * an uploaded blob (fsynced before the commit that follows). Nothing is stored when any
   * entry is wrong. Each is inspected in memory, and `vet` sees those inspections before anything
   * is stored (a refusal leaves nothing). Returns the blobs now present, the bytes that were new
   * to the store and the inspections.
   */
  async putInline(
    actor: Actor,
    blobs: unknown,
    files: readonly ManifestFile[],
    vet: (inspections: ReadonlyMap<string, BlobInspection>) => Promise<void>,
  ): Promise<{ present: Set<string>; storedBytes: number; inspections: Map<string, BlobInspection> }> {
    requireRole(actor, 'editor', 'uploading');
    if (!Array.isArray(blobs)) throw invalid('blobs must be a list of {sha256, base64}', { field: 'blobs' });
    const sizes = new Map(files.map((f) => [f.sha256, f.size]));
    const decoded = new Map<string, Buffer>();
    let total = 0;
    for (const b of blobs) {
      const { sha256, base64 } = (b ?? {}) as Record<string, unknown>;
      const hex = parseSha256(sha256, 'inline blob sha256');
      if (typeof base64 !== 'string' || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
        throw invalid(`inline blob ${hex}: base64 must be standard base64 with padding`, { field: 'blobs', sha256: hex });
      }
      const declared = sizes.get(hex);
      if (declared === undefined) throw invalid(`inline blob ${hex} is not the sha256 of any file of this version`, { field: 'blobs', sha256: hex });
      const data = Buffer.from(base64, 'base64');
      if (data.length > INLINE_BLOB_MAX_BYTES)
        throw invalid(`inline blob ${hex} has ${data.length} bytes; files over ${INLINE_BLOB_MAX_BYTES} bytes are uploaded with PUT /api/v1/blobs/<sha256>`, {
          field: 'blobs',
          sha256: hex,
        });
      if (data.length !== declared)
        throw invalid(`inline blob ${hex} has ${data.length} bytes but its file declares ${declared}`, {
          field: 'size',
          sha256: hex,
          expected: declared,
          actual: data.length,
        });
      const actual = createHash('sha256').update(data).digest('hex');
      if (actual !== hex) throw invalid(`inline blob declared as sha256 ${hex} hashes to ${actual}`, { field: 'sha256', expected: hex, actual });
      if (!decoded.has(hex)) total += data.length;
      decoded.set(hex, data);
    }
    if (total > INLINE_TOTAL_MAX_BYTES)
      throw invalid(
        `inline blobs total ${total} bytes; at most ${INLINE_TOTAL_MAX_BYTES} travel in a commit, upload the rest with PUT /api/v1/blobs/<sha256>`,
        { field: 'blobs' },
      );
    const inspections = new Map<string, BlobInspection>();
    if (this.deps.config.inspectUploads !== false)
      for (const [hex, data] of decoded) {
        const found = UploadInspection.of(data);
        if (found) inspections.set(hex, found);
      }
    await vet(inspections);
    let storedBytes = 0;
    for (const [hex, data] of decoded) {
      const r = await this.deps.blobs.put(hex, once(data), { expectedSize: data.length, maxBytes: this.deps.config.maxBlobBytes });
      if (r.created) storedBytes += data.length;
      const found = inspections.get(hex);
      if (found) await this.deps.store.transaction((tx) => tx.blobInspections.set(hex, found, this.deps.clock.now()));
    }
    return { present: new Set(decoded.keys()), storedBytes, inspections };
  }

  /** Every blob of `files` must be stored, with the declared size; FAILED_PRECONDITION lists those missing. */
  async requireStored(files: readonly ManifestFile[]): Promise<void> {
    const sizes = new Map<string, number>();
    for (const f of files) sizes.set(f.sha256, f.size);
    const missing: string[] = [];
    await inBatches([...sizes], async ([sha, size]) => {
      const info = await this.deps.blobs.stat(sha);
      if (!info) missing.push(sha);
      else if (info.size !== size) {
        const path = files.find((f) => f.sha256 === sha)?.path;
        throw invalid(`file ${JSON.stringify(path)} declares size ${size} but blob ${sha} has ${info.size} bytes`, { field: 'size', path });
      }
    });
    if (missing.length > 0) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${missing.length} blob(s) are not uploaded yet: upload them with PUT /api/v1/blobs/<sha256>, then commit again`,
        {
          missing: missing.sort(),
        },
      );
    }
  }

  /**
   * Stores one blob. With `resume.upload_id` the put is resumable: cut off, it leaves its bytes
   * to that session, and `resume.offset` continues them (`expectedSize` is then the whole blob's).
   */
  async put(
    actor: Actor,
    sha256: string,
    body: AsyncIterable<Uint8Array> | Readable,
    expectedSize?: number,
    resume?: { upload_id: string; offset?: number },
  ): Promise<PutResult> {
    requireRole(actor, 'editor', 'uploading');
    const hex = parseSha256(sha256);
    const upload = resume ? await this.requireOpenUpload(resume.upload_id) : undefined;
    const inspection = UploadInspection.start(this.deps);
    const result = await this.deps.blobs.put(hex, body, {
      expectedSize,
      maxBytes: this.deps.config.maxBlobBytes,
      upload,
      offset: resume?.offset,
      observe: inspection?.observe,
    });
    await saveInspection(this.deps, result.sha256, inspection);
    return result;
  }

  /**
   * Stores one blob that an open upload session lists, with no other credential: the session's
   * random id, made by an authorised editor, is the authorisation (the Hub's LFS upload links,
   * which the clients PUT to without a token). Refused when the session is unknown or expired,
   * or does not list the blob; the bytes must hash to it and have `size` bytes.
   */
  async putInSession(uploadId: string, sha256: string, size: number, body: AsyncIterable<Uint8Array> | Readable): Promise<PutResult> {
    const hex = parseSha256(sha256);
    await this.requireOpenUpload(uploadId);
    if (!(await this.deps.store.read.uploads.holds(uploadId, hex)))
      throw new BerthError('PERMISSION_DENIED', `this upload link does not cover object ${hex}: ask for a link for it (LFS batch) and upload again`, {
        sha256: hex,
      });
    const inspection = UploadInspection.start(this.deps);
    const result = await this.deps.blobs.put(hex, body, { expectedSize: size, maxBytes: this.deps.config.maxBlobBytes, observe: inspection?.observe });
    await saveInspection(this.deps, result.sha256, inspection);
    return result;
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    return this.deps.blobs.stat(parseSha256(sha256));
  }

  async open(sha256: string, range?: { start: number; end?: number }) {
    return this.deps.blobs.open(parseSha256(sha256), range);
  }
}
