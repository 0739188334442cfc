import { sql, type Kysely, type Selectable } from 'kysely';
import type { RunFilterClause, RunOrderKey } from '@berth/core';
import type { Database, RunsTable } from './schema.js';
import { nullableNumber, parseJson, rowTimes, toJson } from './json.js';
import { filterSql, operandOrder, orderSql, type Operand, type OrderTerm, type SearchTarget } from './search-sql.js';
import type { Sql, SqlDialect } from './dialects/sql-dialect.js';

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

/** The row as it is, less what needs converting: JSON columns parsed, times as numbers. */
function toRun(row: Selectable<RunsTable>): RunRecord {
  return {
    ...row,
    ...rowTimes(row),
    params: parseJson(row.params, {}),
    tags: parseJson(row.tags, {}),
    datasets: parseJson(row.datasets, []),
    outputs: parseJson(row.outputs, []),
    start_time: nullableNumber(row.start_time),
    end_time: nullableNumber(row.end_time),
  };
}

export class RunRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Like find, and holds the row until the transaction ends (read-modify-write). */
  async lock(id: string): Promise<RunRecord | undefined> {
    const row = await this.dialect.lockRows(this.db.selectFrom('runs').selectAll().where('id', '=', id)).executeTakeFirst();
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

  async update(
    id: string,
    patch: Partial<Pick<RunRecord, 'status' | 'params' | 'tags' | 'datasets' | 'name' | 'end_time' | 'outputs' | 'lifecycle_stage'>>,
    at: number,
  ): Promise<void> {
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
    return searchRuns(this.db, this.dialect, q);
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
  /** ORed: a run is a candidate when any scope takes it. */
  scopes: readonly RunScope[];
  clauses: readonly RunFilterClause[];
  order: readonly RunOrderKey[];
  offset: number;
  limit: number;
}

/** The latest value of a metric (highest step, then newest, then last logged), or NULL. */
function latestMetric(key: string): Sql {
  return sql`(select m.value from run_metrics m where m.run_id = r.id and m.key = ${key} order by m.step desc, m.timestamp desc, m.id desc limit 1)`;
}

/** Run attributes as MLflow shows them (tracking-routes' runInfo): the same defaults. */
const RUN_ATTRIBUTES: Record<string, Operand> = {
  run_id: { kind: 'value', expr: sql`r.id` },
  run_name: { kind: 'value', expr: sql`r.name`, emptyIfNull: true },
  user_id: { kind: 'value', expr: sql`r.created_by` },
  status: { kind: 'value', expr: sql`r.status` },
  artifact_uri: { kind: 'value', expr: sql`('mlflow-artifacts:/' || coalesce(r.experiment_id, '0') || '/' || r.id || '/artifacts')` },
  start_time: { kind: 'value', expr: sql`coalesce(r.start_time, r.created_at)`, numeric: true },
  end_time: { kind: 'value', expr: sql`r.end_time`, numeric: true },
};

/** How run search reads metrics (latest value), params and tags (JSON columns), attributes and datasets. */
function runTarget(dialect: SqlDialect): SearchTarget {
  return {
    attributes: RUN_ATTRIBUTES,
    keyed: {
      metric: (key) => ({ kind: 'value', expr: latestMetric(key), numeric: true }),
      param: (key) => ({ kind: 'value', expr: dialect.jsonText(sql`r.params`, [key]) }),
      tag: (key) => ({ kind: 'value', expr: dialect.jsonText(sql`r.tags`, [key]) }),
      // A dataset clause holds when any dataset input of the run satisfies it (MLflow's `any`).
      dataset: (key) => {
        const { from, element } = dialect.jsonElements(sql`r.datasets`, 'd');
        return { kind: 'any', from, value: dialect.jsonText(element, key === 'context' ? ['tags', 'mlflow.data.context'] : [key]) };
      },
    },
  };
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
function runOrder(target: SearchTarget, order: readonly RunOrderKey[]): OrderTerm[] {
  const terms = order.map((o) => operandOrder(o.type === 'attribute' ? target.attributes[o.key]! : target.keyed[o.type]!(o.key), !o.ascending));
  if (!order.some((o) => o.type === 'attribute' && o.key === 'start_time')) terms.push({ expr: sql`coalesce(r.start_time, r.created_at)`, desc: true });
  terms.push({ expr: sql`r.id`, desc: false, text: true });
  return terms;
}

async function searchRuns(db: Kysely<Database>, dialect: SqlDialect, q: RunSearchQuery): Promise<RunRecord[]> {
  const scopes = q.scopes.filter((s) => s.experimentIds.length > 0);
  if (scopes.length === 0 || q.limit <= 0) return [];
  const target = runTarget(dialect);
  const where = [sql`(${sql.join(scopes.map(scopePredicate), sql` or `)})`, ...filterSql(dialect, q.clauses, target)];
  const order = orderSql(dialect, runOrder(target, q.order));
  const rows = await sql<
    Selectable<RunsTable>
  >`select r.* from runs r where ${sql.join(where, sql` and `)} order by ${order} limit ${q.limit} offset ${q.offset}`.execute(db);
  return rows.rows.map(toRun);
}
