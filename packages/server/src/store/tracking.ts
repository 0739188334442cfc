import { sql, type Kysely, type Selectable } from 'kysely';
import { BerthError, type ExperimentFilterClause, type ExperimentOrderKey } from '@berth/core';
import { uniquely } from './errors.js';
import type { ArtifactsTable, Database, ExperimentsTable, LoggedModelsTable } from './schema.js';
import { parseJson, rowTimes, toJson } from './json.js';
import { filterSql, orderSql, type OrderTerm, type SearchTarget } from './search-sql.js';
import type { SqlDialect } from './dialects/sql-dialect.js';

/** Rows with their JSON columns parsed. */
export type ExperimentRecord = Omit<Selectable<ExperimentsTable>, 'tags'> & { tags: Record<string, string> };
export type LoggedModelRecord = Omit<Selectable<LoggedModelsTable>, 'params' | 'tags'> & { params: Record<string, string>; tags: Record<string, string> };
export type ArtifactRecord = Selectable<ArtifactsTable>;

// Row → record: the row as it is, less what needs converting (JSON columns parsed, times as numbers).
const toExperiment = (r: Selectable<ExperimentsTable>): ExperimentRecord => ({ ...r, ...rowTimes(r), tags: parseJson(r.tags, {}) });

const toLoggedModel = (r: Selectable<LoggedModelsTable>): LoggedModelRecord => ({
  ...r,
  ...rowTimes(r),
  params: parseJson(r.params, {}),
  tags: parseJson(r.tags, {}),
});

const toArtifact = (r: Selectable<ArtifactsTable>): ArtifactRecord => ({ ...r, size: Number(r.size), updated_at: Number(r.updated_at) });

export class ExperimentRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async nextId(): Promise<string> {
    const r = await this.db
      .updateTable('experiment_counter')
      .set((eb) => ({ last: eb('last', '+', 1) }))
      .where('id', '=', 1)
      .returning('last')
      .executeTakeFirstOrThrow();
    return String(r.last);
  }

  async insert(e: ExperimentRecord): Promise<void> {
    await uniquely(
      this.db
        .insertInto('experiments')
        .values({ ...e, tags: toJson(e.tags) })
        .execute(),
      () => new BerthError('ALREADY_EXISTS', `Experiment '${e.name}' already exists.`, { experiment: e.name }),
    );
  }

  async findById(id: string): Promise<ExperimentRecord | undefined> {
    const r = await this.db.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toExperiment(r);
  }

  async findByName(name: string): Promise<ExperimentRecord | undefined> {
    const r = await this.db.selectFrom('experiments').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toExperiment(r);
  }

  /**
   * Rename or change the lifecycle stage; a name another experiment holds is ALREADY_EXISTS.
   * With `fromStage`, only an experiment still in that stage changes (a compare-and-set, so two
   * concurrent deletes change it once). Returns whether a row changed.
   */
  async update(id: string, patch: { name?: string; lifecycle_stage?: string }, at: number, fromStage?: string): Promise<boolean> {
    let q = this.db
      .updateTable('experiments')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.lifecycle_stage !== undefined ? { lifecycle_stage: patch.lifecycle_stage } : {}),
        updated_at: at,
      })
      .where('id', '=', id);
    if (fromStage !== undefined) q = q.where('lifecycle_stage', '=', fromStage);
    const r = await uniquely(
      q.executeTakeFirst(),
      () => new BerthError('ALREADY_EXISTS', `Experiment '${patch.name}' already exists.`, { experiment: patch.name }),
    );
    return Number(r.numUpdatedRows) > 0;
  }

  /** MLflow's search_experiments: stages, filter clauses, order, one page by offset. */
  async search(q: ExperimentSearchQuery): Promise<ExperimentRecord[]> {
    if (q.stages.length === 0 || q.limit <= 0) return [];
    const where = [sql`e.lifecycle_stage in (${sql.join([...q.stages])})`, ...filterSql(this.dialect, q.clauses, experimentTarget(this.dialect))];
    const order = orderSql(this.dialect, experimentOrder(q.order));
    const rows = await sql<
      Selectable<ExperimentsTable>
    >`select e.* from experiments e where ${sql.join(where, sql` and `)} order by ${order} limit ${q.limit} offset ${q.offset}`.execute(this.db);
    return rows.rows.map(toExperiment);
  }

  /** In id order (ids are decimal strings from a counter), one page at a time. */
  async list(opts: { afterId?: number; limit: number }): Promise<ExperimentRecord[]> {
    let q = this.db.selectFrom('experiments').selectAll().orderBy(sql`cast(id as integer)`).limit(opts.limit);
    if (opts.afterId !== undefined) q = q.where(sql<number>`cast(id as integer)`, '>', opts.afterId);
    return (await q.execute()).map(toExperiment);
  }
}

export interface ExperimentSearchQuery {
  stages: readonly ('active' | 'deleted')[];
  clauses: readonly ExperimentFilterClause[];
  /** Empty for MLflow's default order: newest first, then id. */
  order: readonly ExperimentOrderKey[];
  offset: number;
  limit: number;
}

function experimentTarget(dialect: SqlDialect): SearchTarget {
  return {
    attributes: {
      name: { kind: 'value', expr: sql`e.name` },
      experiment_id: { kind: 'value', expr: sql`e.id` },
      creation_time: { kind: 'value', expr: sql`e.created_at`, numeric: true },
      last_update_time: { kind: 'value', expr: sql`e.updated_at`, numeric: true },
    },
    keyed: { tag: (key) => ({ kind: 'value', expr: dialect.jsonText(sql`e.tags`, [key]) }) },
  };
}

const EXPERIMENT_ORDER: Record<ExperimentOrderKey['key'], Omit<OrderTerm, 'desc'>> = {
  name: { expr: sql`e.name`, text: true },
  // Ids are decimal strings from a counter: numeric order is creation order.
  experiment_id: { expr: sql`cast(e.id as integer)` },
  creation_time: { expr: sql`e.created_at` },
  last_update_time: { expr: sql`e.updated_at` },
};

/** MLflow's experiment order: the keys asked for, then the id (descending, as MLflow's tie-break); by default newest first. */
function experimentOrder(order: readonly ExperimentOrderKey[]): OrderTerm[] {
  const keys: ExperimentOrderKey[] = order.length
    ? [...order]
    : [
        { key: 'creation_time', ascending: false },
        { key: 'experiment_id', ascending: true },
      ];
  if (!keys.some((k) => k.key === 'experiment_id')) keys.push({ key: 'experiment_id', ascending: false });
  return keys.map((k) => ({ ...EXPERIMENT_ORDER[k.key], desc: !k.ascending }));
}

export class LoggedModelRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(m: LoggedModelRecord): Promise<void> {
    await this.db
      .insertInto('logged_models')
      .values({ ...m, params: toJson(m.params), tags: toJson(m.tags) })
      .execute();
  }

  async find(id: string): Promise<LoggedModelRecord | undefined> {
    const r = await this.db.selectFrom('logged_models').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toLoggedModel(r);
  }

  async update(id: string, patch: { status?: string; tags?: Record<string, string> }, at: number): Promise<void> {
    await this.db
      .updateTable('logged_models')
      .set({ ...(patch.status ? { status: patch.status } : {}), ...(patch.tags ? { tags: toJson(patch.tags) } : {}), updated_at: at })
      .where('id', '=', id)
      .execute();
  }

  async search(experimentIds: string[], name: string | undefined, limit: number): Promise<LoggedModelRecord[]> {
    if (experimentIds.length === 0) return [];
    let q = this.db.selectFrom('logged_models').selectAll().where('experiment_id', 'in', experimentIds).orderBy('created_at', 'desc').limit(limit);
    if (name !== undefined) q = q.where('name', '=', name);
    return (await q.execute()).map(toLoggedModel);
  }
}

export class ArtifactRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async set(a: ArtifactRecord): Promise<void> {
    await this.db
      .insertInto('artifacts')
      .values(a)
      .onConflict((oc) => oc.column('path').doUpdateSet({ sha256: a.sha256, size: a.size, updated_at: a.updated_at }))
      .execute();
  }

  async find(path: string): Promise<ArtifactRecord | undefined> {
    const r = await this.db.selectFrom('artifacts').selectAll().where('path', '=', path).executeTakeFirst();
    return r && toArtifact(r);
  }

  /** Every artifact below `dir/` (the whole subtree), ordered by path. */
  async under(dir: string, limit = 100_000): Promise<ArtifactRecord[]> {
    const prefix = dir === '' ? '' : `${dir}/`;
    let q = this.db.selectFrom('artifacts').selectAll().orderBy('path').limit(limit);
    // '/' + 1 is '0': the range [prefix, prefix-with-'/'-bumped) holds exactly the subtree.
    if (prefix) q = q.where('path', '>', prefix).where('path', '<', `${dir}0`);
    return (await q.execute()).map(toArtifact);
  }

  async delete(path: string): Promise<number> {
    const r = await this.db.deleteFrom('artifacts').where('path', '=', path).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async referencedAmong(sha256s: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < sha256s.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifacts')
        .select('sha256')
        .distinct()
        .where('sha256', 'in', sha256s.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.sha256);
    }
    return out;
  }
}
