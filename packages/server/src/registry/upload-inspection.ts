import { BerthError, BlobInspector, inspectionFlags, invalid, type BlobInspection, type InspectionFlag, type ManifestFile } from '@berth/core';
import type { RegistryDeps } from './deps.js';

/** Version metadata keys the server writes from the inspections of the version's files (decision 0016). */
export const INSPECTION_KEY = 'berth.inspection';
export const FLAGS_KEY = 'berth.flags';

/**
 * One blob's inspection while it streams into the blob store: `observe` is handed to the put
 * and sees every byte once; the result counts only once the put succeeded. A scanner bug must
 * not fail an upload: it leaves the blob uninspected instead.
 */
export class UploadInspection {
  private readonly inspector = new BlobInspector();
  private broken = false;

  readonly observe = (chunk: Uint8Array): void => {
    if (this.broken) return;
    try {
      this.inspector.push(chunk);
    } catch {
      this.broken = true;
    }
  };

  /** Bytes the inspection holds (a safetensors header, the sniffing window). */
  get bufferedBytes(): number {
    return this.inspector.bufferedBytes;
  }

  result(): BlobInspection | undefined {
    if (this.broken) return undefined;
    try {
      return this.inspector.finish();
    } catch {
      return undefined;
    }
  }

  /** A fresh inspection when uploads are inspected (always, but for a benchmark's baseline). */
  static start(deps: RegistryDeps): UploadInspection | undefined {
    return deps.config.inspectUploads === false ? undefined : new UploadInspection();
  }

  /** Inspects bytes already in memory (inline blobs of a commit). */
  static of(data: Uint8Array): BlobInspection | undefined {
    const i = new UploadInspection();
    i.observe(data);
    return i.result();
  }
}

/** Keeps what `inspection` found for the blob `sha256`, for the commits that name it. */
export async function saveInspection(deps: RegistryDeps, sha256: string, inspection: UploadInspection | undefined): Promise<void> {
  const found = inspection?.result();
  if (found) await deps.store.transaction((tx) => tx.blobInspections.set(sha256, found, deps.clock.now()));
}

/** Per flag, the files raising it and why. */
export type VersionFlags = Partial<Record<InspectionFlag, Record<string, string[]>>>;

/** The inspections of a version's files by path, and the flags they raise. */
export function versionInspections(files: readonly ManifestFile[], found: ReadonlyMap<string, BlobInspection>) {
  const byPath: Record<string, BlobInspection> = {};
  const flags: VersionFlags = {};
  for (const f of files) {
    const inspection = found.get(f.sha256);
    if (!inspection) continue;
    byPath[f.path] = inspection;
    const raised = inspectionFlags(inspection);
    if (!raised) continue;
    const paths = flags[raised.flag] ?? {};
    paths[f.path] = raised.reasons;
    flags[raised.flag] = paths;
  }
  return { byPath, flags };
}

/**
 * The metadata a version is stored with: the caller's, with the server's own keys replaced by
 * what inspecting its files found (absent when nothing was inspected or flagged).
 */
export function withInspections(metadata: Record<string, unknown>, files: readonly ManifestFile[], found: ReadonlyMap<string, BlobInspection>) {
  const { byPath, flags } = versionInspections(files, found);
  const out: Record<string, unknown> = { ...metadata };
  delete out[INSPECTION_KEY];
  delete out[FLAGS_KEY];
  if (Object.keys(byPath).length > 0) out[INSPECTION_KEY] = byPath;
  if (Object.keys(flags).length > 0) out[FLAGS_KEY] = flags;
  return out;
}

/** FAILED_PRECONDITION naming each flagged pickle and what it imports, when the server refuses them. */
export function refuseUnsafePickles(deps: RegistryDeps, files: readonly ManifestFile[], found: ReadonlyMap<string, BlobInspection>): void {
  if (!deps.config.refuseUnsafePickle) return;
  const unsafe = versionInspections(files, found).flags['unsafe-pickle'];
  if (!unsafe) return;
  const list = Object.entries(unsafe).map(([path, reasons]) => `${path} (${reasons.join('; ')})`);
  throw new BerthError(
    'FAILED_PRECONDITION',
    `this server refuses unsafe pickles (refuse_unsafe_pickle): ${list.join(', ')}. Convert the weights to safetensors, or ask an admin to lift the setting`,
    { unsafe_pickles: unsafe },
  );
}

/** The keys only the server writes; an edit naming one is refused. */
export function refuseServerKeys(metadata: Record<string, unknown>): void {
  for (const key of [INSPECTION_KEY, FLAGS_KEY])
    if (Object.hasOwn(metadata, key))
      throw invalid(`metadata key ${key} is written by the server from the files' inspection and cannot be edited`, { field: 'metadata' });
}
