import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isoTime, normalizeManifest, parseSha256, type OpenUploadResult } from '@berth/core';
import type { BlobInfo, PutResult } from '../blobs/blob-store.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';


export class BlobService {
  constructor(private readonly deps: RegistryDeps) {}

  /**
   * Opens an upload session (DESIGN §2): says which blobs the server lacks, and protects every
   * listed blob from garbage collection until the session is committed or expires. Blobs that
   * exist are touched, so a collector that listed them before this call sees them as fresh.
   */
  async openUpload(actor: Actor, files: unknown): Promise<OpenUploadResult> {
    requireRole(actor, 'editor', 'uploading');
    const manifest = normalizeManifest(files);
    const distinct = [...new Set(manifest.map((f) => f.sha256))];
    const now = this.deps.clock.now();
    const id = randomUUID();
    const expires = now + this.deps.config.uploadTtlMs;
    await this.deps.store.transaction((tx) => tx.uploads.create(id, distinct, actor.name, now, expires));
    const missing: string[] = [];
    const CONCURRENCY = 16;
    for (let i = 0; i < distinct.length; i += CONCURRENCY) {
      await Promise.all(
        distinct.slice(i, i + CONCURRENCY).map(async (sha) => {
          if (await this.deps.blobs.stat(sha)) await this.deps.blobs.touch(sha);
          else missing.push(sha);
        }),
      );
    }
    return { upload_id: id, missing: missing.sort(), expires_at: isoTime(expires) };
  }

  async put(actor: Actor, sha256: string, body: AsyncIterable<Uint8Array> | Readable, expectedSize?: number): Promise<PutResult> {
    requireRole(actor, 'editor', 'uploading');
    const hex = parseSha256(sha256);
    return this.deps.blobs.put(hex, body, { expectedSize, maxBytes: this.deps.config.maxBlobBytes });
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    return this.deps.blobs.stat(parseSha256(sha256));
  }

  async open(sha256: string, range?: { start: number; end?: number }) {
    return this.deps.blobs.open(parseSha256(sha256), range);
  }
}
