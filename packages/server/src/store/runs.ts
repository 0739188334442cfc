import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { RunFilterClause, RunOrderKey } from '@berth/core';
import type { Database, DialectName, RunsTable } from './schema.js';
import { parseJson, toJson } from './json.js';
import { likeToGlob } from './search-sql.js';

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

/** MLflow's view of the run (issue 3); null for runs Berth recorded by id only. */
type MlflowRunColumns = 'experiment_id' | 'start_time' | 'end_time' | 'lifecycle_stage';

/** A runs row with its JSON columns parsed; the MLflow columns may be left out when inserting. */
export type RunRecord = Omit<Selectable<RunsTable>, 'params' | 'tags' | 'datasets' | 'outputs' | MlflowRunColumns> &
  Partial<Pick<Selectable<RunsTable>, MlflowRunColumns>> & {
    params: Record<string, string>;
    tags: Record<string, string>;
    datasets: RunDataset[];
    outputs?: { model_id: string; step: number }[];
  };

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

  /** The runs of a search page, in MLflow's order (see searchRuns). */
  async search(q: RunSearchQuery): Promise<RunRecord[]> {
    return searchRuns(this.db, q);
  }

  /** The last point of each metric of each run, for a page of runs in one query per 500 runs. */
  async latestMetricPointsOf(runIds: readonly string[]): Promise<Map<string, MetricPoint[]>> {
    const out = new Map<string, MetricPoint[]>(runIds.map((id) => [id, []]));
    for (let i = 0; i < runIds.length; i += 500) {
      const chunk = runIds.slice(i, i + 500);
      const rows = await sql<{ run_id: string; key: string; value: number; step: number; timestamp: number }>`
        select run_id, key, value, step, timestamp from (
          select run_id, key, value, step, timestamp,
                 row_number() over (partition by run_id, key order by step desc, timestamp desc, id desc) as rn
          from run_metrics where run_id in (${sql.join(chunk)})
        ) latest where rn = 1 order by run_id, key`.execute(this.db);
      for (const r of rows.rows) out.get(r.run_id)?.push({ key: r.key, value: Number(r.value), step: Number(r.step), timestamp: Number(r.timestamp) });
    }
    return out;
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

/**
 * Which runs a search looks at: runs of these experiments, optionally only those whose own
 * lifecycle stage is `runStage`. Runs recorded without an experiment id belong to `0`.
 */
export interface RunScope {
  experimentIds: readonly string[];
  runStage?: 'active' | 'deleted';
}

export interface RunSearchQuery {
  dialect: DialectName;
  /** ORed: a run is a candidate when any scope takes it. */
  scopes: readonly RunScope[];
  clauses: readonly RunFilterClause[];
  order: readonly RunOrderKey[];
  offset: number;
  limit: number;
}

type Sql = RawBuilder<unknown>;

/** The string value under `key` of a JSON object column, or NULL when the key is absent. */
export function jsonField(dialect: DialectName, column: string, key: string): Sql {
  return dialect === 'sqlite'
    ? sql`(select j.value from json_each(${sql.ref(column)}) j where j.key = ${key})`
    : sql`(cast(${sql.ref(column)} as jsonb) ->> cast(${key} as text))`;
}

/**
 * One comparison with MLflow's semantics: a NULL left side (missing metric, param, tag or end
 * time) matches nothing except `IS NULL`; `LIKE` is case-sensitive and `ILIKE` is not, `%` and
 * `_` are the only wildcards and there is no escape character.
 */
export function comparison(dialect: DialectName, lhs: Sql, op: RunFilterClause['op'], value: RunFilterClause['value']): Sql {
  switch (op) {
    case 'IS NULL':
      return sql`${lhs} is null`;
    case 'IS NOT NULL':
      return sql`${lhs} is not null`;
    case 'IN':
      return sql`${lhs} in (${sql.join(value as string[])})`;
    case 'NOT IN':
      return sql`${lhs} not in (${sql.join(value as string[])})`;
    case 'LIKE':
      return dialect === 'sqlite' ? sql`${lhs} glob ${likeToGlob(value as string)}` : sql`${lhs} like ${value as string} escape ''`;
    case 'ILIKE':
      return dialect === 'sqlite' ? sql`lower(${lhs}) glob lower(${likeToGlob(value as string)})` : sql`${lhs} ilike ${value as string} escape ''`;
    default:
      return sql`${lhs} ${sql.raw(op === '!=' ? '<>' : op)} ${value as string | number}`;
  }
}

/** Text sorts by code point in both databases (PostgreSQL's default collation would not). */
export function textOrder(dialect: DialectName, expr: Sql): Sql {
  return dialect === 'postgres' ? sql`${expr} collate "C"` : expr;
}

/** The latest value of a metric (highest step, then newest, then last logged), or NULL. */
function latestMetric(key: string): Sql {
  return sql`(select m.value from run_metrics m where m.run_id = r.id and m.key = ${key} order by m.step desc, m.timestamp desc, m.id desc limit 1)`;
}

/** Run attributes as MLflow shows them (tracking-routes' runInfo): the same defaults. */
function runAttribute(key: string): { expr: Sql; text: boolean } {
  switch (key) {
    case 'run_id':
      return { expr: sql`r.id`, text: true };
    case 'run_name':
      return { expr: sql`coalesce(r.name, '')`, text: true };
    case 'user_id':
      return { expr: sql`r.created_by`, text: true };
    case 'status':
      return { expr: sql`r.status`, text: true };
    case 'artifact_uri':
      return { expr: sql`('mlflow-artifacts:/' || coalesce(r.experiment_id, '0') || '/' || r.id || '/artifacts')`, text: true };
    case 'start_time':
      return { expr: sql`coalesce(r.start_time, r.created_at)`, text: false };
    default:
      return { expr: sql`r.end_time`, text: false };
  }
}

function runValue(dialect: DialectName, type: RunOrderKey['type'], key: string): { expr: Sql; text: boolean } {
  if (type === 'metric') return { expr: latestMetric(key), text: false };
  if (type === 'param') return { expr: jsonField(dialect, 'r.params', key), text: true };
  if (type === 'tag') return { expr: jsonField(dialect, 'r.tags', key), text: true };
  return runAttribute(key);
}

/** A number compared with a bigint column: fractions compare as doubles (PostgreSQL refuses '1.5' as a bigint). */
function numericComparison(dialect: DialectName, expr: Sql, op: RunFilterClause['op'], value: number): Sql {
  return comparison(dialect, Number.isInteger(value) ? expr : sql`cast(${expr} as double precision)`, op, value);
}

/** A dataset clause holds when any dataset input of the run satisfies it (MLflow's `any`). */
function datasetPredicate(dialect: DialectName, c: RunFilterClause): Sql {
  if (dialect === 'sqlite') {
    const field = c.key === 'context' ? sql`json_extract(d.value, '$.tags."mlflow.data.context"')` : sql`json_extract(d.value, ${`$.${c.key}`})`;
    return sql`exists (select 1 from json_each(r.datasets) d where ${comparison(dialect, field, c.op, c.value)})`;
  }
  const field = c.key === 'context' ? sql`(d.v -> 'tags' ->> 'mlflow.data.context')` : sql`(d.v ->> ${sql.lit(c.key)})`;
  return sql`exists (select 1 from jsonb_array_elements(cast(r.datasets as jsonb)) as d(v) where ${comparison(dialect, field, c.op, c.value)})`;
}

function clausePredicate(dialect: DialectName, c: RunFilterClause): Sql {
  if (c.type === 'dataset') return datasetPredicate(dialect, c);
  const { expr, text } = runValue(dialect, c.type, c.key);
  if (!text && typeof c.value === 'number') return numericComparison(dialect, expr, c.op, c.value);
  return comparison(dialect, expr, c.op, c.value);
}

function scopePredicate(s: RunScope): Sql {
  const ids = [...s.experimentIds];
  const inExperiment = ids.includes('0') ? sql`(r.experiment_id in (${sql.join(ids)}) or r.experiment_id is null)` : sql`r.experiment_id in (${sql.join(ids)})`;
  return s.runStage ? sql`(${inExperiment} and coalesce(r.lifecycle_stage, 'active') = ${s.runStage})` : inExperiment;
}

/**
 * MLflow's order: each key with runs lacking it last whichever the direction, then start time
 * newest first (unless ordered by it), then run id.
 */
function orderBy(dialect: DialectName, order: readonly RunOrderKey[]): Sql {
  const parts: Sql[] = [];
  for (const o of order) {
    const { expr, text } = runValue(dialect, o.type, o.key);
    parts.push(sql`case when ${expr} is null then 1 else 0 end`);
    parts.push(sql`${text ? textOrder(dialect, expr) : expr} ${sql.raw(o.ascending ? 'asc' : 'desc')}`);
  }
  if (!order.some((o) => o.type === 'attribute' && o.key === 'start_time')) parts.push(sql`coalesce(r.start_time, r.created_at) desc`);
  parts.push(sql`${textOrder(dialect, sql`r.id`)} asc`);
  return sql.join(parts);
}

export async function searchRuns(db: Kysely<Database>, q: RunSearchQuery): Promise<RunRecord[]> {
  const scopes = q.scopes.filter((s) => s.experimentIds.length > 0);
  if (scopes.length === 0 || q.limit <= 0) return [];
  const where = [sql`(${sql.join(scopes.map(scopePredicate), sql` or `)})`, ...q.clauses.map((c) => clausePredicate(q.dialect, c))];
  const rows = await sql<Selectable<RunsTable>>`select r.* from runs r where ${sql.join(where, sql` and `)} order by ${orderBy(q.dialect, q.order)} limit ${q.limit} offset ${q.offset}`.execute(db);
  return rows.rows.map(toRun);
}
