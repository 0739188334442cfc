import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BerthError, invalid, notFound, validateFilePath } from '@berth/core';
import type { OpenedPart, PartStore } from '../blobs/part-store.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import type { ArtifactService } from './artifacts-service.js';
import type { ArtifactRecord } from './tracking.js';

/** S3's limit, which MLflow's own multipart upload has too. */
export const MAX_PARTS = 10_000;
/** At most one sweep of abandoned sessions per this interval, when sessions are created. */
const SWEEP_EVERY_MS = 60_000;
const READ_CHUNK = 1024 * 1024;

interface SessionMeta {
  path: string;
  num_parts: number;
  created_ms: number;
}

function isMeta(m: unknown): m is SessionMeta {
  const x = m as SessionMeta | undefined;
  return typeof x?.path === 'string' && Number.isSafeInteger(x.num_parts) && typeof x.created_ms === 'number';
}

/** The part's etag as HTTP sends it: its sha256, quoted. */
export function partEtag(sha256: string): string {
  return `"${sha256}"`;
}

/** The sha256 an etag names, or undefined; quotes and a weak prefix are tolerated. */
function etagSha(etag: unknown): string | undefined {
  if (typeof etag !== 'string') return undefined;
  const m = /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(etag.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

function required(field: string): BerthError {
  return invalid(`Missing value for required parameter '${field}'`, { field });
}

/** A non-negative whole number from JSON: a number or a string of digits (proto int64 accepts both). */
function wholeNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}

/**
 * Multipart uploads of artifacts (MLflow's `mpu/create|complete|abort`): a large file arrives
 * as numbered parts, in parallel and in any order, each staged in the part store it was given;
 * completing streams the parts in order into the blob store, hashed like any put, and records
 * the artifact exactly as a single upload of the whole file would. The upload id is 160 random
 * bits and is the only thing a part upload carries: like a presigned URL, knowing it is what
 * allows sending parts. Sessions untouched for `uploadTtlMs` (24 h) are removed at start-up
 * and when new ones are created.
 */
export class ArtifactMultipartService {
  private readonly staging: PartStore | undefined;
  /** Uploads being completed or aborted in this process: their parts are frozen. */
  private readonly closing = new Set<string>();
  private lastSweep = 0;

  constructor(
    private readonly deps: RegistryDeps,
    private readonly artifacts: ArtifactService,
  ) {
    this.staging = deps.partStaging;
  }

  /** False when this server was given no place to stage parts: the MLflow client then uploads whole files. */
  get supported(): boolean {
    return this.staging !== undefined;
  }

  private store(): PartStore {
    if (!this.staging) throw new BerthError('FAILED_PRECONDITION', 'multipart upload is not supported by this server: it has no place to stage parts');
    return this.staging;
  }

  private async session(uploadId: unknown): Promise<{ id: string; meta: SessionMeta }> {
    if (typeof uploadId !== 'string' || uploadId === '') throw required('upload_id');
    const meta = await this.store().meta(uploadId);
    if (!isMeta(meta))
      throw notFound(`multipart upload ${JSON.stringify(uploadId)} not found: it was completed, aborted, or never created`, { upload_id: uploadId });
    return { id: uploadId, meta };
  }

  private checkPath(id: string, meta: SessionMeta, path: string): void {
    if (meta.path !== path)
      throw invalid(`multipart upload ${id} is for ${JSON.stringify(meta.path)}, not ${JSON.stringify(path)}`, { field: 'path', upload_id: id });
  }

  private busy(id: string): BerthError {
    return new BerthError('CONFLICT', `multipart upload ${id} is being completed or aborted`, { upload_id: id });
  }

  /** Starts an upload of `numParts` parts to artifact `path`; returns its id. */
  async create(actor: Actor, path: string, numParts: unknown): Promise<{ uploadId: string; numParts: number }> {
    requireRole(actor, 'editor', 'writing artifacts');
    validateFilePath(path);
    const n = numParts === undefined || numParts === null ? undefined : wholeNumber(numParts);
    if (n === undefined || n > MAX_PARTS) {
      throw invalid(
        `num_parts must be a whole number from 0 to ${MAX_PARTS}, not ${JSON.stringify(numParts)}; for a larger file raise MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE`,
        { field: 'num_parts' },
      );
    }
    const staging = this.store();
    if (this.deps.clock.now() - this.lastSweep >= SWEEP_EVERY_MS) await this.sweep();
    const uploadId = randomBytes(20).toString('hex');
    await staging.create(uploadId, { path, num_parts: n, created_ms: this.deps.clock.now() } satisfies SessionMeta);
    return { uploadId, numParts: n };
  }

  /** Stores part `partNumber` (1-based) of an upload; sending a part again replaces it. Returns its etag. */
  async uploadPart(uploadId: string, partNumber: string, body: Readable, size?: number): Promise<{ etag: string; size: number }> {
    const { id, meta } = await this.session(uploadId);
    const n = wholeNumber(partNumber);
    if (n === undefined || n < 1 || n > meta.num_parts) {
      throw invalid(`part number ${JSON.stringify(partNumber)} is outside 1-${meta.num_parts} of multipart upload ${id}`, {
        field: 'part_number',
        upload_id: id,
      });
    }
    if (this.closing.has(id)) throw this.busy(id);
    const part = await this.store().writePart(id, n, body, { expectedSize: size, maxBytes: this.deps.config.maxBlobBytes });
    return { etag: partEtag(part.sha256), size: part.size };
  }

  /**
   * Checks that `parts` lists every part 1..num_parts once, each uploaded with that etag, then
   * streams them in order into the blob store and records the artifact; the staged parts are
   * removed. INVALID_ARGUMENT names the first part missing, unlisted or with another etag.
   */
  async complete(actor: Actor, path: string, uploadId: unknown, parts: unknown): Promise<ArtifactRecord> {
    requireRole(actor, 'editor', 'writing artifacts');
    validateFilePath(path);
    if (!Array.isArray(parts)) throw required('parts');
    const { id, meta } = await this.session(uploadId);
    this.checkPath(id, meta, path);
    const wanted = new Map<number, string>();
    for (const p of parts as unknown[]) {
      const rec = (p ?? {}) as Record<string, unknown>;
      const n = wholeNumber(rec.part_number);
      if (n === undefined || n < 1 || n > meta.num_parts)
        throw invalid(`part number ${JSON.stringify(rec.part_number)} is outside 1-${meta.num_parts} of multipart upload ${id}`, {
          field: 'parts',
          upload_id: id,
        });
      if (wanted.has(n)) throw invalid(`part ${n} is listed twice`, { field: 'parts', part_number: n });
      const sha = etagSha(rec.etag);
      if (!sha) throw invalid(`part ${n}: etag ${JSON.stringify(rec.etag ?? null)} is not one this server gave`, { field: 'parts', part_number: n });
      wanted.set(n, sha);
    }
    for (let n = 1; n <= meta.num_parts; n++)
      if (!wanted.has(n)) throw invalid(`part ${n} of ${meta.num_parts} is not listed`, { field: 'parts', part_number: n });
    if (this.closing.has(id)) throw this.busy(id);
    this.closing.add(id);
    try {
      const list = [...wanted].sort((a, b) => a[0] - b[0]).map(([partNumber, sha256]) => ({ partNumber, sha256 }));
      const found = await this.store().openParts(id, list);
      if (!found.ok) {
        const n = found.partNumber;
        throw found.actual
          ? invalid(`part ${n}: etag ${partEtag(wanted.get(n)!)} does not match the uploaded part's ${partEtag(found.actual)}`, {
              field: 'parts',
              part_number: n,
            })
          : invalid(`part ${n} was not uploaded`, { field: 'parts', part_number: n });
      }
      let rec: ArtifactRecord;
      try {
        const total = found.parts.reduce((s, p) => s + p.size, 0);
        rec = await this.artifacts.put(actor, path, Readable.from(concat(found.parts), { objectMode: false, highWaterMark: READ_CHUNK }), total);
      } finally {
        // Parts no stream reached (the put failed early) are still open.
        await Promise.all(found.parts.map((p) => p.close()));
      }
      await this.store().remove(id);
      return rec;
    } finally {
      this.closing.delete(id);
    }
  }

  /** Drops an upload and its parts. */
  async abort(actor: Actor, path: string, uploadId: unknown): Promise<void> {
    requireRole(actor, 'editor', 'writing artifacts');
    validateFilePath(path);
    const { id, meta } = await this.session(uploadId);
    this.checkPath(id, meta, path);
    if (this.closing.has(id)) throw this.busy(id);
    this.closing.add(id);
    try {
      if (!(await this.store().remove(id))) throw notFound(`multipart upload ${JSON.stringify(id)} not found`, { upload_id: id });
    } finally {
      this.closing.delete(id);
    }
  }

  /** Removes sessions untouched for longer than `uploadTtlMs`; returns how many. */
  async sweep(): Promise<number> {
    if (!this.staging) return 0;
    this.lastSweep = this.deps.clock.now();
    return this.staging.sweep(this.deps.config.uploadTtlMs);
  }
}

/** The parts' bytes in order. */
async function* concat(parts: OpenedPart[]): AsyncGenerator<Buffer> {
  for (const p of parts) {
    for await (const chunk of p.read()) yield chunk as Buffer;
  }
}
