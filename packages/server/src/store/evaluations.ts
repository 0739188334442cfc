import type { Kysely, Selectable } from 'kysely';
import type { Database, EvaluationsTable } from './schema.js';
import { parseJson, toJson } from './json.js';

/** An evaluation as stored; `id` is the row id (the wire id is `evl_<id>`). */
export interface EvaluationRecord {
  id: number;
  model_id: number;
  version: number;
  metrics: Record<string, number>;
  dataset: string | null;
  source: string | null;
  details: Record<string, unknown>;
  recorded_by: string;
  measured_at: number;
  recorded_at: number;
}

function toEvaluation(row: Selectable<EvaluationsTable>): EvaluationRecord {
  return {
    id: Number(row.id),
    model_id: Number(row.model_id),
    version: Number(row.version),
    metrics: parseJson(row.metrics, {}),
    dataset: row.dataset,
    source: row.source,
    details: parseJson(row.details, {}),
    recorded_by: row.recorded_by,
    measured_at: Number(row.measured_at),
    recorded_at: Number(row.recorded_at),
  };
}

/** Evaluations of versions (migration 0006), read newest first (index evaluations_version_newest). */
export class EvaluationRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(e: Omit<EvaluationRecord, 'id'>): Promise<EvaluationRecord> {
    const row = await this.db
      .insertInto('evaluations')
      .values({ ...e, metrics: toJson(e.metrics), details: toJson(e.details) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...e, id: Number(row.id) };
  }

  /** Newest first; `before` is the id of the last row of the previous page; `until`: recorded at or before that time only. */
  async listForVersion(modelId: number, version: number, opts: { before?: number; limit: number; until?: number }): Promise<EvaluationRecord[]> {
    let q = this.db
      .selectFrom('evaluations')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('version', '=', version)
      .orderBy('id', 'desc')
      .limit(opts.limit);
    if (opts.before !== undefined) q = q.where('id', '<', opts.before);
    if (opts.until !== undefined) q = q.where('recorded_at', '<=', opts.until);
    return (await q.execute()).map(toEvaluation);
  }
}
