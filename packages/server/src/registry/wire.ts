import { isoTime, type Model, type ModelKind, type Version, type ManifestFile, type Alias, type AuditEvent, type AliasHistoryEntry } from '@berth/core';
import type { ModelRecord, ModelStats } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import type { AliasRecord, AliasHistoryRecord } from '../store/aliases.js';
import type { AuditRecord } from '../store/audit.js';

/** Record → wire entity mappers: the only place internal records turn into API JSON. */
export function toWireModel(m: ModelRecord, stats: ModelStats | undefined, aliases: Record<string, number>, frozen: string[]): Model {
  return {
    name: m.name,
    kind: m.kind as ModelKind,
    description: m.description,
    tags: m.tags,
    aliases,
    protected_aliases: m.protected_aliases,
    frozen_aliases: frozen,
    latest_version: stats?.latest_version ?? null,
    version_count: stats?.version_count ?? 0,
    created_at: isoTime(m.created_at),
    updated_at: isoTime(m.updated_at),
  };
}

export function toWireVersion(modelName: string, v: VersionRecord, aliases: string[], files?: ManifestFile[]): Version {
  return {
    model: modelName,
    version: v.version,
    digest: v.digest,
    status: v.status,
    stage: v.stage,
    size: v.size,
    file_count: v.file_count,
    ...(files ? { files } : {}),
    metadata: v.metadata,
    tags: v.tags,
    description: v.description,
    source: v.source,
    run_id: v.run_id,
    dependencies: v.dependencies,
    aliases,
    created_by: v.created_by,
    created_at: isoTime(v.created_at),
    updated_at: isoTime(v.updated_at),
  };
}

export function toWireAlias(modelName: string, a: AliasRecord, protectedAliases: readonly string[]): Alias {
  return {
    model: modelName,
    alias: a.alias,
    version: a.version,
    protected: protectedAliases.includes(a.alias),
    frozen: a.frozen,
    updated_by: a.updated_by,
    updated_at: isoTime(a.updated_at),
  };
}

export function toWireHistory(modelName: string, h: AliasHistoryRecord): AliasHistoryEntry {
  return {
    seq: h.seq,
    at: isoTime(h.at),
    actor: h.actor,
    action: h.action as AliasHistoryEntry['action'],
    model: modelName,
    alias: h.alias,
    from_version: h.from_version,
    to_version: h.to_version,
    reason: h.reason,
  };
}

export function toWireAudit(e: AuditRecord): AuditEvent {
  return {
    seq: e.seq,
    at: isoTime(e.at),
    actor: e.actor,
    action: e.action,
    model: e.model,
    subject: e.subject,
    before: e.before,
    after: e.after,
    reason: e.reason,
    prev_hash: e.prev_hash,
    hash: e.hash,
  };
}

/** The part of a model the audit trail snapshots (what "model at T" returns). */
export function modelSnapshot(m: ModelRecord): Record<string, unknown> {
  return { name: m.name, kind: m.kind, description: m.description, tags: m.tags, protected_aliases: m.protected_aliases };
}
