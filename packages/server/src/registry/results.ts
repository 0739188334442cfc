import type { ManifestFile } from '@berth/core';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import type { AliasRecord, AliasHistoryRecord } from '../store/aliases.js';
import type { AuditRecord } from '../store/audit.js';

/**
 * What the registry services answer: records as stored (times in epoch milliseconds) with the
 * little context a reader needs beside them. Each front maps these to its own JSON; none of
 * them is an API's wire shape.
 */
export type { AuditRecord };

/** A model with what its versions and aliases say about it. */
export interface ModelView extends ModelRecord {
  /** The highest READY version, or null before the first. */
  latest_version: number | null;
  version_count: number;
  /** Alias → version, in the order the store lists the aliases. */
  aliases: Record<string, number>;
  frozen_aliases: string[];
}

/** A version with its model's name, the aliases pointing at it and, when asked for, its files. */
export interface VersionView extends VersionRecord {
  model: string;
  aliases: string[];
  files?: ManifestFile[];
}

/** An alias with its model's name and whether the model protects it. */
export interface AliasView extends AliasRecord {
  model: string;
  protected: boolean;
}

/** One move of an alias, with its model's name. */
export interface AliasHistoryView extends AliasHistoryRecord {
  model: string;
}

/** A model as its audit trail recorded it (what "model at T" returns). */
export type ModelSnapshot = Pick<ModelRecord, 'name' | 'kind' | 'description' | 'tags' | 'protected_aliases'>;

/** Where an alias pointed at a point in time, and the move that put it there. */
export interface AliasAtTime {
  at: number;
  ref: string;
  version: number | null;
  set_at: number | null;
  set_by: string | null;
  reason: string | null;
}

/**
 * A model's snapshot and its aliases at a point in time (null: the model did not exist then).
 * The snapshot is as it was recorded: an older one may lack fields a model has today.
 */
export interface ModelAtTime {
  at: number;
  model: Partial<ModelSnapshot> | null;
  aliases: Record<string, number>;
}

/** An open upload session: the blobs of its manifest the store lacks, and when it lapses. */
export interface UploadSession {
  upload_id: string;
  missing: string[];
  /** Missing blobs of which the server holds a partial upload, and how many bytes (decision 0011). */
  resume: { sha256: string; offset: number }[];
  expires_at: number;
}

/** A page of results in a stable order; `next_cursor` continues it. */
export interface ResultPage<T> {
  items: T[];
  next_cursor: string | null;
}
