import type { ModelKind } from './names.js';
import type { ManifestFile } from './manifest.js';

/** Wire entities of the native API (`/api/v1`). JSON is snake_case; times are ISO 8601 UTC. */

export interface Model {
  name: string;
  kind: ModelKind;
  description: string;
  tags: Record<string, string>;
  /** alias → version for every alias the model has now. */
  aliases: Record<string, number>;
  protected_aliases: string[];
  frozen_aliases: string[];
  latest_version: number | null;
  version_count: number;
  created_at: string;
  updated_at: string;
}

export type VersionStatus = 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION';
export type Stage = 'None' | 'Staging' | 'Production' | 'Archived';

export interface Dependency {
  model: string;
  version: number;
  digest: string;
}

export interface Version {
  model: string;
  version: number;
  digest: string;
  status: VersionStatus;
  stage: Stage;
  size: number;
  file_count: number;
  files?: ManifestFile[];
  metadata: Record<string, unknown>;
  tags: Record<string, string>;
  description: string;
  source: string | null;
  run_id: string | null;
  dependencies: Dependency[];
  aliases: string[];
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface Alias {
  model: string;
  alias: string;
  version: number;
  protected: boolean;
  frozen: boolean;
  updated_by: string;
  updated_at: string;
}

export interface AliasHistoryEntry {
  seq: number;
  at: string;
  actor: string;
  action: 'alias.set' | 'alias.delete' | 'alias.freeze' | 'alias.unfreeze';
  model: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  reason: string | null;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  model: string | null;
  subject: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  prev_hash: string;
  hash: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Run {
  run_id: string;
  experiment: string;
  name: string | null;
  status: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  datasets: { name: string; digest: string; source: string | null }[];
  created_at: string;
  updated_at: string;
}

/**
 * A small file's bytes sent inside the commit (base64), so a small version is one request
 * instead of three. Limits: INLINE_BLOB_MAX_BYTES each, INLINE_TOTAL_MAX_BYTES together.
 */
export interface InlineBlob {
  sha256: string;
  base64: string;
}

export const INLINE_BLOB_MAX_BYTES = 64 * 1024;
export const INLINE_TOTAL_MAX_BYTES = 1024 * 1024;

/** Body of `POST /api/v1/models/{name}/versions`. */
export interface CreateVersionRequest {
  files: ManifestFile[];
  /** Bytes of some of the files, stored (hash-checked, fsynced) before the commit. */
  blobs?: InlineBlob[];
  upload_id?: string;
  kind?: string;
  description?: string;
  metadata?: Record<string, unknown>;
  tags?: Record<string, string>;
  source?: string | null;
  run_id?: string | null;
  dependencies?: Dependency[];
}

export interface OpenUploadResult {
  upload_id: string;
  missing: string[];
  expires_at: string;
}

export interface AliasAt {
  at: string;
  ref: string;
  version: number | null;
  set_at: string | null;
  set_by: string | null;
  reason: string | null;
}

export interface ModelAt {
  at: string;
  model: Partial<Model> | null;
  aliases: Record<string, number>;
}

export interface GcResult {
  dry_run: boolean;
  grace_seconds: number;
  scanned: number;
  candidates: number;
  bytes: number;
  removed: number;
  expired_uploads: number;
  temp_files_removed: number;
}
