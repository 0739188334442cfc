import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, ModelsTable } from './schema.js';
import { BerthError, type FilterClause } from '@berth/core';
import { afterSql, filterSql, keysetOrder, orderSql, tagRows, whereSql, type OrderKey, type SearchSqlOptions, type SearchTarget } from './search-sql.js';
import type { SqlDialect } from './dialects/sql-dialect.js';
import { parseJson, rowTimes, toJson } from './json.js';
import { uniquely } from './errors.js';

/** A models row with its JSON columns parsed. */
export type ModelRecord = Omit<Selectable<ModelsTable>, 'tags' | 'protected_aliases'> & { tags: Record<string, string>; protected_aliases: string[] };

export interface ModelStats {
  latest_version: number | null;
  version_count: number;
}

/** The row as it is, less what needs converting: JSON columns parsed, numbers as numbers. */
export function toModel(row: Selectable<ModelsTable>): ModelRecord {
  return {
    ...row,
    ...rowTimes(row),
    id: Number(row.id),
    last_version: Number(row.last_version),
    tags: parseJson(row.tags, {}),
    protected_aliases: parseJson(row.protected_aliases, []),
  };
}

export class ModelRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async findByName(name: string): Promise<ModelRecord | undefined> {
    const row = await this.db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toModel(row);
  }

  /** Like findByName, and holds the row until the transaction ends (read-modify-write). */
  async lockByName(name: string): Promise<ModelRecord | undefined> {
    const row = await this.dialect.lockRows(this.db.selectFrom('models').selectAll().where('name', '=', name)).executeTakeFirst();
    return row && toModel(row);
  }

  async findById(id: number): Promise<ModelRecord | undefined> {
    const row = await this.db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toModel(row);
  }

  async insert(m: Omit<ModelRecord, 'id' | 'last_version'>): Promise<ModelRecord> {
    const insert = this.db
      .insertInto('models')
      .values({
        name: m.name,
        kind: m.kind,
        description: m.description,
        tags: toJson(m.tags),
        protected_aliases: toJson(m.protected_aliases),
        last_version: 0,
        created_at: m.created_at,
        updated_at: m.updated_at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const row = await uniquely(insert, () => new BerthError('ALREADY_EXISTS', `model ${JSON.stringify(m.name)} already exists`, { model: m.name }));
    await this.writeTags(Number(row.id), m.tags, false);
    return toModel(row);
  }

  async update(id: number, patch: Partial<Pick<ModelRecord, 'name' | 'description' | 'tags' | 'protected_aliases'>>, at: number): Promise<ModelRecord> {
    const row = await this.db
      .updateTable('models')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.tags !== undefined ? { tags: toJson(patch.tags) } : {}),
        ...(patch.protected_aliases !== undefined ? { protected_aliases: toJson(patch.protected_aliases) } : {}),
        updated_at: at,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (patch.tags !== undefined) await this.writeTags(id, patch.tags, true);
    return toModel(row);
  }

  /** The tag rows search reads (migration 0003), kept equal to the JSON column. */
  private async writeTags(id: number, tags: Record<string, string>, replace: boolean): Promise<void> {
    if (replace) await this.db.deleteFrom('model_tags').where('model_id', '=', id).execute();
    const rows = Object.entries(tags).map(([key, value]) => ({ model_id: id, key, value }));
    for (let i = 0; i < rows.length; i += 500)
      await this.db
        .insertInto('model_tags')
        .values(rows.slice(i, i + 500))
        .execute();
  }

  /** One page of a model search in SQL (see VersionRepo.search). Columns: `m.*`. */
  async search(
    opts: SearchSqlOptions & { clauses: readonly FilterClause[]; order: readonly OrderKey[]; after?: readonly (string | number)[]; limit: number },
  ): Promise<ModelRecord[]> {
    const target: SearchTarget = {
      attributes: { name: { kind: 'value', expr: sql`m.name` } },
      keyed: { tag: tagRows('model_tags', 'model_id', 'm.id', opts.absentIsNotEqual) },
    };
    const preds = filterSql(this.dialect, opts.clauses, target);
    if (opts.after) preds.push(afterSql(opts.order, opts.after));
    const order = orderSql(this.dialect, keysetOrder(opts.order));
    const { rows } = await sql<Selectable<ModelsTable>>`select m.* from models m ${whereSql(preds)} order by ${order} limit ${opts.limit}`.execute(this.db);
    return rows.map(toModel);
  }

  /** Hands out the next version number. The row update also serialises concurrent creators. */
  async nextVersion(id: number): Promise<number> {
    const row = await this.db
      .updateTable('models')
      .set((eb) => ({ last_version: eb('last_version', '+', 1) }))
      .where('id', '=', id)
      .returning('last_version')
      .executeTakeFirstOrThrow();
    return Number(row.last_version);
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('model_tags').where('model_id', '=', id).execute();
    await this.db.deleteFrom('models').where('id', '=', id).execute();
  }

  /** Ordered by name; `after` is the last name of the previous page. */
  async list(opts: { after?: string; limit: number; kind?: string; prefix?: string }): Promise<ModelRecord[]> {
    let q = this.db.selectFrom('models').selectAll().orderBy('name').limit(opts.limit);
    if (opts.after !== undefined) q = q.where('name', '>', opts.after);
    if (opts.kind !== undefined) q = q.where('kind', '=', opts.kind);
    if (opts.prefix) q = q.where('name', '>=', opts.prefix).where('name', '<', `${opts.prefix}\uffff`);
    return (await q.execute()).map(toModel);
  }

  /** Latest READY version and version count, for a page of models in one query. */
  async stats(ids: number[]): Promise<Map<number, ModelStats>> {
    const out = new Map<number, ModelStats>();
    if (ids.length === 0) return out;
    const rows = await this.db
      .selectFrom('versions')
      .select((eb) => ['model_id', eb.fn.max('version').as('latest'), eb.fn.countAll().as('n')])
      .where('model_id', 'in', ids)
      .where('status', '=', 'READY')
      .groupBy('model_id')
      .execute();
    for (const r of rows) out.set(Number(r.model_id), { latest_version: r.latest === null ? null : Number(r.latest), version_count: Number(r.n) });
    return out;
  }

  async findByNames(names: string[]): Promise<ModelRecord[]> {
    if (names.length === 0) return [];
    return (await this.db.selectFrom('models').selectAll().where('name', 'in', names).execute()).map(toModel);
  }
}
