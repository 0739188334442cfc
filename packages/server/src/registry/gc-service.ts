import { invalid, type GcResult } from '@berth/core';
import type { BlobInfo } from '../blobs/blob-store.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';

export const DEFAULT_GC_GRACE_SECONDS = 24 * 3600;

/**
 * Removes blobs that no version references, no run or logged-model artifact holds, no open
 * upload session lists, and that
 * were not written or touched within the grace period; and leftovers of uploads (temp files,
 * partial uploads of sessions no longer open) older than the grace period, at least an hour. Each candidate is checked again just
 * before it is deleted, so an upload that opened while the collector ran keeps its blobs.
 */
export class GcService {
  constructor(private readonly deps: RegistryDeps) {}

  async run(actor: Actor, opts: { dry_run?: boolean; grace_seconds?: number } = {}): Promise<GcResult> {
    requireRole(actor, 'admin', 'garbage collection');
    const grace = opts.grace_seconds ?? DEFAULT_GC_GRACE_SECONDS;
    if (!Number.isFinite(grace) || grace < 0) throw invalid('grace_seconds must be a non-negative number', { field: 'grace_seconds' });
    const dryRun = opts.dry_run ?? false;
    const now = this.deps.clock.now();
    const cutoff = now - grace * 1000;
    const { store, blobs } = this.deps;
    let expiredUploads = 0;
    if (!dryRun) expiredUploads = await store.transaction((tx) => tx.uploads.deleteExpired(now));
    // A partial upload is kept while its session is open (its client may still resume it).
    const keepUpload = async (id: string) => ((await store.read.uploads.find(id))?.expires_at ?? 0) > now;
    const temp = await blobs.cleanTemp(Math.max(grace * 1000, 3600 * 1000), { dryRun, keepUpload });
    const result: GcResult = {
      dry_run: dryRun,
      grace_seconds: grace,
      scanned: 0,
      candidates: 0,
      bytes: 0,
      removed: 0,
      expired_uploads: expiredUploads,
      temp_files: temp.files,
      temp_bytes: temp.bytes,
      temp_files_removed: dryRun ? 0 : temp.files,
    };
    let batch: BlobInfo[] = [];
    const flush = async () => {
      const old = batch.filter((b) => b.mtimeMs < cutoff);
      batch = [];
      if (old.length === 0) return;
      const shas = old.map((b) => b.sha256);
      const [referenced, open, artifacts] = await Promise.all([
        store.read.versions.referencedAmong(shas),
        store.read.uploads.protectedAmong(shas, now),
        store.read.artifacts.referencedAmong(shas),
      ]);
      for (const b of old) {
        if (referenced.has(b.sha256) || open.has(b.sha256) || artifacts.has(b.sha256)) continue;
        result.candidates++;
        result.bytes += b.size;
        if (dryRun) continue;
        const again = await blobs.stat(b.sha256);
        if (!again || again.mtimeMs >= cutoff) continue;
        const [stillRef, stillOpen, stillArtifact] = await Promise.all([
          store.read.versions.referencedAmong([b.sha256]),
          store.read.uploads.protectedAmong([b.sha256], now),
          store.read.artifacts.referencedAmong([b.sha256]),
        ]);
        if (stillRef.size || stillOpen.size || stillArtifact.size) continue;
        if (await blobs.delete(b.sha256)) result.removed++;
      }
    };
    for await (const b of blobs.list()) {
      result.scanned++;
      batch.push(b);
      if (batch.length >= 500) await flush();
    }
    await flush();
    if (!dryRun && (result.removed > 0 || expiredUploads > 0)) {
      const after = { removed: result.removed, bytes: result.bytes, expired_uploads: expiredUploads };
      await store.transaction((tx) =>
        recordChange(tx, actor, this.deps.clock.now(), { action: 'blobs.gc', subject: { type: 'system', name: 'blobs' }, after }),
      );
    }
    return result;
  }
}
