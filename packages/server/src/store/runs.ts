import type { Kysely, Selectable } from 'kysely';
import type { Database, RunsTable } from './schema.js';
import { parseJson, toJson } from './json.js';

export interface RunDataset {
  name: string;
  digest: string;
  source: string | null;
  /** MLflow's dataset fields, kept as sent (mlflow.entities.Dataset). */
  source_type?: string;
  schema?: string;
  profile?: string;
  tags?: Record<string, string>;
}

export interface RunRecord {
  id: string;
  experiment: string;
  name: string | null;
  status: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  datasets: RunDataset[];
  created_by: string;
  created_at: number;
  updated_at: number;
  /** MLflow's view of the run (issue 3); null for runs Berth recorded by id only. */
  experiment_id?: string | null;
  start_time?: number | null;
  end_time?: number | null;
  lifecycle_stage?: string | null;
  outputs?: { model_id: string; step: number }[];
}

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

function toRun(row: Selectable<RunsTable>): RunRecord {
  return {
    id: row.id,
    experiment: row.experiment,
    name: row.name,
    status: row.status,
    params: parseJson(row.params, {}),
    tags: parseJson(row.tags, {}),
    datasets: parseJson(row.datasets, []),
    created_by: row.created_by,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    experiment_id: row.experiment_id,
    start_time: row.start_time === null ? null : Number(row.start_time),
    end_time: row.end_time === null ? null : Number(row.end_time),
    lifecycle_stage: row.lifecycle_stage,
    outputs: parseJson(row.outputs, []),
  };
}

export class RunRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks = false,
  ) {}

  /** Like find, and holds the row until the transaction ends (read-modify-write). */
  async lock(id: string): Promise<RunRecord | undefined> {
    let q = this.db.selectFrom('runs').selectAll().where('id', '=', id);
    if (this.rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toRun(row);
  }

  async insert(r: RunRecord): Promise<void> {
    await this.db
      .insertInto('runs')
      .values({ ...r, params: toJson(r.params), tags: toJson(r.tags), datasets: toJson(r.datasets), outputs: toJson(r.outputs ?? []) })
      .execute();
  }

  async find(id: string): Promise<RunRecord | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRun(row);
  }

  async update(id: string, patch: Partial<Pick<RunRecord, 'status' | 'params' | 'tags' | 'datasets' | 'name' | 'end_time' | 'outputs' | 'lifecycle_stage'>>, at: number): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.params !== undefined ? { params: toJson(patch.params) } : {}),
        ...(patch.tags !== undefined ? { tags: toJson(patch.tags) } : {}),
        ...(patch.datasets !== undefined ? { datasets: toJson(patch.datasets) } : {}),
        ...(patch.end_time !== undefined ? { end_time: patch.end_time } : {}),
        ...(patch.outputs !== undefined ? { outputs: toJson(patch.outputs) } : {}),
        ...(patch.lifecycle_stage !== undefined ? { lifecycle_stage: patch.lifecycle_stage } : {}),
        updated_at: at,
      })
      .where('id', '=', id)
      .execute();
  }

  async logMetrics(runId: string, points: readonly MetricPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i += 500) {
      await this.db
        .insertInto('run_metrics')
        .values(points.slice(i, i + 500).map((p) => ({ run_id: runId, ...p })))
        .execute();
    }
  }

  /** The last logged value of each metric (highest step, then newest). */
  async latestMetrics(runId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const p of await this.latestMetricPoints(runId)) out[p.key] = p.value;
    return out;
  }

  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const rows = await this.db
      .selectFrom('run_metrics')
      .select(['key', 'value', 'step', 'timestamp'])
      .where('run_id', '=', runId)
      .where('key', '=', key)
      .orderBy('step')
      .orderBy('timestamp')
      .execute();
    return rows.map((r) => ({ key: r.key, value: Number(r.value), step: Number(r.step), timestamp: Number(r.timestamp) }));
  }

  /** The last point of each metric (highest step, then newest), with its step and time. */
  async latestMetricPoints(runId: string): Promise<MetricPoint[]> {
    const rows = await this.db
      .selectFrom('run_metrics')
      .select(['key', 'value', 'step', 'timestamp', 'id'])
      .where('run_id', '=', runId)
      .orderBy('key')
      .orderBy('step')
      .orderBy('timestamp')
      .orderBy('id')
      .execute();
    const last = new Map<string, MetricPoint>();
    for (const r of rows) last.set(r.key, { key: r.key, value: Number(r.value), step: Number(r.step), timestamp: Number(r.timestamp) });
    return [...last.values()];
  }
}
