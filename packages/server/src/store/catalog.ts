import { sql, type Kysely, type Selectable } from 'kysely';
import { isIndexedMetaField, type SearchExpr, type SearchTerm } from '@berth/core';
import type { AuditEventsTable, Database, ModelsTable, VersionsTable } from './schema.js';
import type { Sql, SqlDialect } from './dialects/sql-dialect.js';
import { toModel, type ModelRecord } from './models.js';
import { toVersion, type VersionRecord } from './versions.js';
import { toAudit } from './audit.js';

/** A name pattern (`*` the only wildcard) as a LIKE pattern with `\` escaping `%`, `_` and itself. */
function likePattern(glob: string): string {
  return glob
    .toLowerCase()
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, '%');
}

/**
 * Names compare lower-cased on both sides, so the match ignores case on every database
 * (names are ASCII by their grammar).
 */
function nameSql(column: Sql, pattern: string): Sql {
  return sql`lower(${column}) like ${likePattern(pattern)} escape '\\'`;
}

/** Where the row being matched lives: a version (`v`, joined to its model `m`) or a model (`m`). */
type Scope = 'versions' | 'models';

/**
 * Each term as a predicate that names a set by an indexed column: tags through their
 * `(key, value)` index, aliases through the alias table, names and kinds through the models
 * table (small beside versions), metadata through its field rows (migration 0013).
 */
function termSql(dialect: SqlDialect, scope: Scope, t: SearchTerm): Sql {
  const model = scope === 'versions' ? sql`v.model_id` : sql`m.id`;
  switch (t.type) {
    case 'name':
      return scope === 'versions' ? sql`${model} in (select id from models where ${nameSql(sql`name`, t.pattern)})` : nameSql(sql`m.name`, t.pattern);
    case 'kind':
      return sql`m.kind = ${t.kind}`;
    case 'tag': {
      const value = t.value === null ? sql`` : sql` and value = ${t.value}`;
      return scope === 'versions'
        ? sql`v.id in (select version_id from version_tags where key = ${t.key}${value})`
        : sql`m.id in (select model_id from model_tags where key = ${t.key}${value})`;
    }
    case 'alias':
      return scope === 'versions'
        ? sql`v.id in (select av.id from aliases a join versions av on av.model_id = a.model_id and av.version = a.version where a.alias = ${t.alias})`
        : sql`m.id in (select model_id from aliases where alias = ${t.alias})`;
    case 'meta': {
      // Long paths and values are not in the field index (core's metadataFields): read those from the JSON.
      const ids = isIndexedMetaField(t.path.join('.'), t.value)
        ? sql`select version_id from version_metadata where key = ${t.path.join('.')} and value = ${t.value}`
        : sql`select lv.id from versions lv where cast(${dialect.jsonText(sql`lv.metadata`, t.path)} as text) = ${t.value}`;
      return scope === 'versions' ? sql`v.id in (${ids})` : sql`m.id in (select mv.model_id from versions mv where mv.id in (${ids}))`;
    }
  }
}

function exprSql(dialect: SqlDialect, scope: Scope, e: SearchExpr): Sql {
  if (e.op === 'term') return termSql(dialect, scope, e.term);
  return sql`(${sql.join(
    e.args.map((a) => exprSql(dialect, scope, a)),
    e.op === 'and' ? sql` and ` : sql` or `,
  )})`;
}

function where(preds: Sql[]): Sql {
  return preds.length ? sql`where ${sql.join(preds, sql` and `)}` : sql``;
}

/** A model as it stood at a time: its last snapshot in the audit trail. */
export interface ModelAtRecord {
  model_id: number;
  snapshot: Record<string, unknown>;
}

/** The catalog's reads: search by the query language of `@berth/core`, and the models at a past time. */
export class CatalogRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Versions matching `query`, newest first (by id: the primary key serves the order), after id `after`. */
  async versions(query: SearchExpr | null, opts: { after?: number; limit: number }): Promise<(VersionRecord & { model_name: string; model_kind: string })[]> {
    const preds: Sql[] = [];
    if (query) preds.push(exprSql(this.dialect, 'versions', query));
    if (opts.after !== undefined) preds.push(sql`v.id < ${opts.after}`);
    const { rows } = await sql<Selectable<VersionsTable> & { model_name: string; model_kind: string }>`select v.*, m.name as model_name, m.kind as model_kind
      from versions v join models m on m.id = v.model_id ${where(preds)} order by v.id desc limit ${opts.limit}`.execute(this.db);
    return rows.map((r) => ({ ...toVersion(r), model_name: r.model_name, model_kind: r.model_kind }));
  }

  /** Models matching `query`, by name (the unique name index serves the order), after name `after`. */
  async models(query: SearchExpr | null, opts: { after?: string; limit: number }): Promise<ModelRecord[]> {
    const preds: Sql[] = [];
    if (query) preds.push(exprSql(this.dialect, 'models', query));
    if (opts.after !== undefined) preds.push(sql`${this.dialect.textOrder(sql`m.name`)} > ${opts.after}`);
    const { rows } = await sql<
      Selectable<ModelsTable>
    >`select m.* from models m ${where(preds)} order by ${this.dialect.textOrder(sql`m.name`)} limit ${opts.limit}`.execute(this.db);
    return rows.map(toModel);
  }

  /**
   * Models that existed at `at` (their last model event then is not a delete), by model id
   * after `after`: one grouped read of the audit index on (model_id, subject_type, at).
   */
  async modelsAt(at: number, opts: { after?: number; limit: number }): Promise<ModelAtRecord[]> {
    const after = opts.after ?? 0;
    const { rows } = await sql<Selectable<AuditEventsTable>>`select e.* from audit_events e where e.seq in (
        select max(seq) from audit_events where subject_type = 'model' and model_id > ${after} and at <= ${at} group by model_id
      ) and e.action <> 'model.delete' order by e.model_id limit ${opts.limit}`.execute(this.db);
    return rows.map((r) => {
      const a = toAudit(r);
      return { model_id: Number(a.model_id), snapshot: (a.after ?? {}) as Record<string, unknown> };
    });
  }
}
