import { BerthError, notFound } from '@berth/core';
import type { Store, StoreTx } from '../store/store.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { PartStore } from '../blobs/part-store.js';
import type { ModelRecord } from '../store/models.js';
import type { AliasRecord } from '../store/aliases.js';
import type { VersionRecord } from '../store/versions.js';
import type { Clock } from './actor.js';

export interface RegistryConfig {
  /** Aliases protected on a new model unless it names its own list. */
  defaultProtectedAliases: string[];
  /** How long an upload session protects its blobs from garbage collection. */
  uploadTtlMs: number;
  /** Largest single blob accepted. */
  maxBlobBytes: number;
  /** Webhooks may call loopback, private and link-local addresses (BERTH_WEBHOOK_ALLOW_PRIVATE). */
  webhookAllowPrivate?: boolean;
  /** A commit naming a pickle flagged unsafe fails (BERTH_REFUSE_UNSAFE_PICKLE, decision 0016). */
  refuseUnsafePickle?: boolean;
  /** false: blobs are stored uninspected. Only a benchmark's baseline turns inspection off. */
  inspectUploads?: boolean;
}

export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = {
  defaultProtectedAliases: ['champion', 'production'],
  uploadTtlMs: 24 * 3600 * 1000,
  maxBlobBytes: 1024 ** 4,
};

export interface RegistryDeps {
  store: Store;
  blobs: BlobStore;
  clock: Clock;
  config: RegistryConfig;
  /** Where parts of multipart artifact uploads wait; without it MLflow clients upload whole files. */
  partStaging?: PartStore;
}

export async function requireModel(tx: StoreTx, name: string): Promise<ModelRecord> {
  const m = await tx.models.findByName(name);
  if (!m) throw notFound(`model ${JSON.stringify(name)} not found: list models with \`berth ls\``, { model: name });
  return m;
}

export async function requireVersion(tx: StoreTx, model: ModelRecord, version: number): Promise<VersionRecord> {
  const v = await tx.versions.find(model.id, version);
  if (!v) throw notFound(`version ${model.name}:${version} not found: list versions with \`berth ls ${model.name}\``, { model: model.name, version });
  return v;
}

export function cleanReason(reason: string | null | undefined): string | null {
  return reason?.trim() ? reason.trim() : null;
}

/** A protected alias always records why it moved; without a reason, how it was moved. */
export function protectedReason(reason: string | null | undefined, via: string): string {
  return cleanReason(reason) ?? `no reason given; moved through the ${via} API`;
}

export function conflict(message: string, details: Record<string, unknown>): BerthError {
  return new BerthError('CONFLICT', message, details);
}

/**
 * How a delete treats the aliases on what it deletes. By default any alias stops it; `force`
 * lets an admin delete them with it (the native `--force`). With `dropOrdinaryAliases`
 * (MLflow's semantics) ordinary aliases go with it for any caller allowed to delete, but a
 * protected or frozen alias still stops it: those move only with the approver role, or after
 * an unfreeze, so a delete must not be a way around either rule.
 */
export interface DeleteOptions {
  force?: boolean;
  dropOrdinaryAliases?: boolean;
}

/** The delete rule for `dropOrdinaryAliases`: refuses, naming them, when a protected or frozen alias would go. */
export function refuseGuardedAliases(what: string, model: ModelRecord, aliases: readonly AliasRecord[]): void {
  const guarded = aliases.filter((a) => a.frozen || model.protected_aliases.includes(a.alias)).map((a) => a.alias);
  if (guarded.length === 0) return;
  throw new BerthError(
    'FAILED_PRECONDITION',
    `${what} cannot be deleted: it holds protected or frozen alias(es) ${guarded.map((a) => `@${a}`).join(', ')}; move or delete them first`,
    { aliases: guarded },
  );
}
