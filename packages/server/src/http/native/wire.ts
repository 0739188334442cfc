import {
  isoTime,
  type Alias,
  type AliasAt,
  type AliasHistoryEntry,
  type AuditEvent,
  type Evaluation,
  type Model,
  type ModelAt,
  type ModelKind,
  type OpenUploadResult,
  type Page,
  type Policy,
  type Promotion,
  type Run,
  type Version,
} from '@berth/core';
import type {
  AliasAtTime,
  AliasHistoryView,
  AliasView,
  AuditRecord,
  ModelAtTime,
  ModelView,
  ResultPage,
  UploadSession,
  VersionView,
} from '../../registry/results.js';
import type { RunWithLatestMetrics } from '../../registry/tracking.js';
import { evaluationId, type EvaluationView } from '../../registry/evaluations-service.js';
import type { PromotionView } from '../../registry/promotions-service.js';
import type { PolicyView } from '../../registry/policies-service.js';

/** Registry results → the native API's JSON (the core schemas): the only place they turn into it. */
export function toWireModel(m: ModelView): Model {
  return {
    name: m.name,
    kind: m.kind as ModelKind,
    description: m.description,
    tags: m.tags,
    aliases: m.aliases,
    protected_aliases: m.protected_aliases,
    frozen_aliases: m.frozen_aliases,
    latest_version: m.latest_version,
    version_count: m.version_count,
    created_at: isoTime(m.created_at),
    updated_at: isoTime(m.updated_at),
  };
}

/** The version as the registry holds it, less the row ids, with its times as ISO text (`files` only when it was read with them). */
export function toWireVersion(v: VersionView): Version {
  const { id: _id, model_id: _modelId, created_at, updated_at, ...fields } = v;
  return { ...fields, created_at: isoTime(created_at), updated_at: isoTime(updated_at) };
}

export function toWireAlias(a: AliasView): Alias {
  return {
    model: a.model,
    alias: a.alias,
    version: a.version,
    protected: a.protected,
    frozen: a.frozen,
    updated_by: a.updated_by,
    updated_at: isoTime(a.updated_at),
  };
}

export function toWireHistory(h: AliasHistoryView): AliasHistoryEntry {
  return {
    seq: h.seq,
    at: isoTime(h.at),
    actor: h.actor,
    action: h.action as AliasHistoryEntry['action'],
    model: h.model,
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

export function toWireRun({ run: r, metrics }: RunWithLatestMetrics): Run {
  return {
    run_id: r.id,
    experiment: r.experiment,
    name: r.name,
    status: r.status,
    params: r.params,
    metrics,
    tags: r.tags,
    datasets: r.datasets,
    created_at: isoTime(r.created_at),
    updated_at: isoTime(r.updated_at),
  };
}

export function toWireAliasAt(a: AliasAtTime): AliasAt {
  return { at: isoTime(a.at), ref: a.ref, version: a.version, set_at: a.set_at === null ? null : isoTime(a.set_at), set_by: a.set_by, reason: a.reason };
}

export function toWireModelAt(m: ModelAtTime): ModelAt {
  return { at: isoTime(m.at), model: m.model as ModelAt['model'], aliases: m.aliases };
}

export function toWireUpload(u: UploadSession): OpenUploadResult {
  return { upload_id: u.upload_id, missing: u.missing, resume: u.resume, expires_at: isoTime(u.expires_at) };
}

export function toWirePage<T, W>(page: ResultPage<T>, map: (item: T) => W): Page<W> {
  return { items: page.items.map(map), next_cursor: page.next_cursor };
}

export function toWireEvaluation(e: EvaluationView): Evaluation {
  return {
    id: evaluationId(e.id),
    model: e.model,
    version: e.version,
    metrics: e.metrics,
    dataset: e.dataset,
    source: e.source,
    recorded_by: e.recorded_by,
    measured_at: isoTime(e.measured_at),
    recorded_at: isoTime(e.recorded_at),
    details: e.details,
  };
}

export function toWirePolicy(p: Omit<PolicyView, 'unchanged'> & { unchanged?: boolean }): Policy {
  return {
    name: p.name,
    version: p.version,
    digest: p.digest,
    document: p.document,
    yaml: p.yaml,
    created_by: p.created_by,
    created_at: isoTime(p.created_at),
    unchanged: p.unchanged ?? false,
  };
}

export function toWirePromotion(p: PromotionView): Promotion {
  return {
    id: p.id,
    model: p.model,
    version: p.version,
    alias: p.alias,
    kind: p.kind,
    state: p.state,
    previous_version: p.previous_version,
    policy: p.policy,
    report: p.report,
    required_approvals: p.required_approvals,
    approvals: p.approvals.map((a) => ({ by: a.by, at: isoTime(a.at), reason: a.reason })),
    requested_by: p.requested_by,
    reason: p.reason,
    created_at: isoTime(p.created_at),
    decided_at: p.decided_at === null ? null : isoTime(p.decided_at),
  };
}
