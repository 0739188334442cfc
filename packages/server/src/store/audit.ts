import type { Kysely, Selectable } from 'kysely';
import { chainEvent } from '@berth/core';
import type { AuditEventsTable, Database } from './schema.js';
import { parseJson, toJson } from './json.js';

export type SubjectType = 'model' | 'version' | 'alias' | 'run' | 'promotion' | 'policy' | 'token' | 'webhook' | 'system' | 'deployment';

/** An audit_events row with `before` and `after` parsed: a link of the chain (ChainedAuditEvent) and what it is about. */
export type AuditRecord = Omit<Selectable<AuditEventsTable>, 'subject_type' | 'before' | 'after'> & {
  subject_type: SubjectType;
  before: unknown;
  after: unknown;
};

/** An event to append: the chain position (seq) and hashes are assigned by `append`. */
export type NewAuditEvent = Omit<AuditRecord, 'seq' | 'prev_hash' | 'hash'>;

export function toAudit(row: Selectable<AuditEventsTable>): AuditRecord {
  return {
    seq: Number(row.seq),
    at: Number(row.at),
    actor: row.actor,
    action: row.action,
    model_id: row.model_id === null ? null : Number(row.model_id),
    model: row.model,
    subject_type: row.subject_type as SubjectType,
    subject: row.subject,
    before: parseJson(row.before, null),
    after: parseJson(row.after, null),
    reason: row.reason,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

export class AuditRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Appends one event to the hash chain. Must run inside the transaction that makes the
   * change. Bumping the single head row first takes its row lock (PostgreSQL) so concurrent
   * writers queue up and the chain never forks; SQLite serialises writers anyway.
   */
  async append(e: NewAuditEvent): Promise<AuditRecord> {
    const head = await this.db
      .updateTable('audit_head')
      .set((eb) => ({ seq: eb('seq', '+', 1) }))
      .where('id', '=', 1)
      .returning(['seq', 'hash'])
      .executeTakeFirstOrThrow();
    const seq = Number(head.seq);
    // Normalise JSON through a round trip so the hash covers exactly what is stored.
    const before = e.before === undefined ? null : JSON.parse(toJson(e.before));
    const after = e.after === undefined ? null : JSON.parse(toJson(e.after));
    const chained = chainEvent(head.hash, {
      seq,
      at: e.at,
      actor: e.actor,
      action: e.action,
      model: e.model,
      subject: e.subject,
      before,
      after,
      reason: e.reason,
    });
    await this.db
      .insertInto('audit_events')
      .values({
        seq,
        at: e.at,
        actor: e.actor,
        action: e.action,
        model_id: e.model_id,
        model: e.model,
        subject_type: e.subject_type,
        subject: e.subject,
        before: toJson(before),
        after: toJson(after),
        reason: e.reason,
        prev_hash: chained.prev_hash,
        hash: chained.hash,
      })
      .execute();
    await this.db.updateTable('audit_head').set({ hash: chained.hash }).where('id', '=', 1).execute();
    return { ...chained, model_id: e.model_id, subject_type: e.subject_type };
  }

  async head(): Promise<{ seq: number; hash: string }> {
    const h = await this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { seq: Number(h.seq), hash: h.hash };
  }

  /** Oldest first. */
  async list(opts: {
    modelId?: number;
    action?: string;
    actor?: string;
    since?: number;
    until?: number;
    afterSeq?: number;
    limit: number;
  }): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_events').selectAll().orderBy('seq').limit(opts.limit);
    if (opts.modelId !== undefined) q = q.where('model_id', '=', opts.modelId);
    if (opts.action !== undefined) q = q.where('action', '=', opts.action);
    if (opts.actor !== undefined) q = q.where('actor', '=', opts.actor);
    if (opts.since !== undefined) q = q.where('at', '>=', opts.since);
    if (opts.until !== undefined) q = q.where('at', '<', opts.until);
    if (opts.afterSeq !== undefined) q = q.where('seq', '>', opts.afterSeq);
    return (await q.execute()).map(toAudit);
  }

  /** The last event with one of `actions` about a subject of a model at or before `at` (index audit_events_subject_at). */
  async lastOfSubjectAt(modelId: number, subjectType: SubjectType, subject: string, actions: readonly string[], at: number): Promise<AuditRecord | undefined> {
    const row = await this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('subject_type', '=', subjectType)
      .where('at', '<=', at)
      .where('subject', '=', subject)
      .where('action', 'in', [...actions])
      .orderBy('at', 'desc')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toAudit(row);
  }

  /** The last event about the model itself (create/update/rename) at or before `at`. */
  async lastModelEventAt(modelId: number, at: number): Promise<AuditRecord | undefined> {
    const row = await this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('subject_type', '=', 'model')
      .where('at', '<=', at)
      .orderBy('at', 'desc')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toAudit(row);
  }

  /** Model ids a name referred to up to `at`, newest first (a rename keeps the id). */
  async modelIdsNamed(name: string, at: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('audit_events')
      .select('model_id')
      .distinct()
      .where('model', '=', name)
      .where('subject_type', '=', 'model')
      .where('at', '<=', at)
      .execute();
    return rows.map((r) => Number(r.model_id)).filter((n) => Number.isFinite(n));
  }
}
