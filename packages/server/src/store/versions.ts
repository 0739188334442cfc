import { sql, type Kysely, type Selectable } from 'kysely';
import { metadataFields, type Dependency, type FilterClause, type ManifestFile, type Stage, type VersionStatus } from '@berth/core';
import type { Database, VersionsTable } from './schema.js';
import { parseJson, toJson } from './json.js';
import { afterSql, filterSql, keysetOrder, orderSql, tagRows, whereSql, type OrderKey, type SearchSqlOptions, type SearchTarget } from './search-sql.js';
import type { SqlDialect } from './dialects/sql-dialect.js';

/**
 * A versions row with its JSON columns parsed and its status and stage narrowed to their values;
 * `content_addressed` is false exactly when the row is an external version (decision 0021).
 */
export type VersionRecord = Omit<Selectable<VersionsTable>, 'status' | 'stage' | 'metadata' | 'tags' | 'dependencies'> & {
  status: VersionStatus;
  stage: Stage;
  metadata: Record<string, unknown>;
  tags: Record<string, string>;
  dependencies: Dependency[];
  content_addressed: boolean;
};

export function toVersion(row: Selectable<VersionsTable>): VersionRecord {
  return {
    id: Number(row.id),
    model_id: Number(row.model_id),
    version: Number(row.version),
    digest: row.digest,
    status: row.status as VersionStatus,
    stage: row.stage as Stage,
    size: Number(row.size),
    file_count: Number(row.file_count),
    metadata: parseJson(row.metadata, {}),
    tags: parseJson(row.tags, {}),
    description: row.description,
    source: row.source,
    run_id: row.run_id,
    dependencies: parseJson(row.dependencies, []),
    external_uri: row.external_uri ?? null,
    content_addressed: row.external_uri == null,
    created_by: row.created_by,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

/** Rows per multi-row insert: 4 parameters each stays far below both dialects' limits. */
const FILE_CHUNK = 500;

export class VersionRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Like find, and holds the row until the transaction ends (read-modify-write). */
  async lock(modelId: number, version: number): Promise<VersionRecord | undefined> {
    const row = await this.dialect
      .lockRows(this.db.selectFrom('versions').selectAll().where('model_id', '=', modelId).where('version', '=', version))
      .executeTakeFirst();
    return row && toVersion(row);
  }

  async insert(
    v: Omit<VersionRecord, 'id' | 'content_addressed' | 'external_uri'> & { external_uri?: string | null },
    files: readonly ManifestFile[],
  ): Promise<VersionRecord> {
    const row = await this.db
      .insertInto('versions')
      .values({
        model_id: v.model_id,
        version: v.version,
        digest: v.digest,
        status: v.status,
        stage: v.stage,
        size: v.size,
        file_count: v.file_count,
        metadata: toJson(v.metadata),
        tags: toJson(v.tags),
        description: v.description,
        source: v.source,
        run_id: v.run_id,
        dependencies: toJson(v.dependencies),
        external_uri: v.external_uri ?? null,
        created_by: v.created_by,
        created_at: v.created_at,
        updated_at: v.updated_at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    await this.writeTags(id, v.tags, false);
    await this.writeMetadata(id, v.metadata, false);
    for (let i = 0; i < files.length; i += FILE_CHUNK) {
      await this.db
        .insertInto('version_files')
        .values(files.slice(i, i + FILE_CHUNK).map((f) => ({ version_id: id, path: f.path, size: f.size, sha256: f.sha256 })))
        .execute();
    }
    return toVersion(row);
  }

  async find(modelId: number, version: number): Promise<VersionRecord | undefined> {
    const row = await this.db.selectFrom('versions').selectAll().where('model_id', '=', modelId).where('version', '=', version).executeTakeFirst();
    return row && toVersion(row);
  }

  /** When each of `versions` that exists was created, in one read of the (model_id, version) key. */
  async createdAt(modelId: number, versions: readonly number[]): Promise<Map<number, number>> {
    if (versions.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('versions')
      .select(['version', 'created_at'])
      .where('model_id', '=', modelId)
      .where('version', 'in', [...versions])
      .execute();
    return new Map(rows.map((r) => [Number(r.version), Number(r.created_at)]));
  }

  async findLatest(modelId: number): Promise<VersionRecord | undefined> {
    const row = await this.db
      .selectFrom('versions')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('status', '=', 'READY')
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  /** The newest content-addressed version with that manifest digest (an external version's digest names no content). */
  async findByDigest(modelId: number, digest: string): Promise<VersionRecord | undefined> {
    const row = await this.db
      .selectFrom('versions')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('digest', '=', digest)
      .where('external_uri', 'is', null)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  /**
   * The newest READY content-addressed version whose digest starts with `sha256:<prefix>` (a Hub commit id, 40
   * hex): a range scan on the (model_id, digest) index, `g` sorting after every hex digit.
   */
  async findByDigestPrefix(modelId: number, prefix: string): Promise<VersionRecord | undefined> {
    const row = await this.db
      .selectFrom('versions')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('digest', '>=', `sha256:${prefix}`)
      .where('digest', '<', `sha256:${prefix}g`)
      .where('status', '=', 'READY')
      .where('external_uri', 'is', null)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  /** Newest first; `before` is the last version number of the previous page; `createdUntil`: only versions created at or before that time. */
  async list(modelId: number, opts: { before?: number; limit: number; createdUntil?: number }): Promise<VersionRecord[]> {
    let q = this.db.selectFrom('versions').selectAll().where('model_id', '=', modelId).orderBy('version', 'desc').limit(opts.limit);
    if (opts.before !== undefined) q = q.where('version', '<', opts.before);
    if (opts.createdUntil !== undefined) q = q.where('created_at', '<=', opts.createdUntil);
    return (await q.execute()).map(toVersion);
  }

  async count(modelId: number): Promise<number> {
    const row = await this.db
      .selectFrom('versions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('model_id', '=', modelId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async files(versionId: number): Promise<ManifestFile[]> {
    const rows = await this.db.selectFrom('version_files').select(['path', 'size', 'sha256']).where('version_id', '=', versionId).orderBy('path').execute();
    return rows.map((r) => ({ path: r.path, size: Number(r.size), sha256: r.sha256 }));
  }

  async file(versionId: number, path: string): Promise<ManifestFile | undefined> {
    const r = await this.db
      .selectFrom('version_files')
      .select(['path', 'size', 'sha256'])
      .where('version_id', '=', versionId)
      .where('path', '=', path)
      .executeTakeFirst();
    return r && { path: r.path, size: Number(r.size), sha256: r.sha256 };
  }

  async update(id: number, patch: Partial<Pick<VersionRecord, 'description' | 'metadata' | 'tags' | 'stage'>>, at: number): Promise<VersionRecord> {
    const row = await this.db
      .updateTable('versions')
      .set({
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.metadata !== undefined ? { metadata: toJson(patch.metadata) } : {}),
        ...(patch.tags !== undefined ? { tags: toJson(patch.tags) } : {}),
        ...(patch.stage !== undefined ? { stage: patch.stage } : {}),
        updated_at: at,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (patch.tags !== undefined) await this.writeTags(id, patch.tags, true);
    if (patch.metadata !== undefined) await this.writeMetadata(id, patch.metadata, true);
    return toVersion(row);
  }

  /** The tag rows search reads (migration 0003), kept equal to the JSON column. */
  private async writeTags(id: number, tags: Record<string, string>, replace: boolean): Promise<void> {
    if (replace) await this.db.deleteFrom('version_tags').where('version_id', '=', id).execute();
    const rows = Object.entries(tags).map(([key, value]) => ({ version_id: id, key, value }));
    for (let i = 0; i < rows.length; i += FILE_CHUNK)
      await this.db
        .insertInto('version_tags')
        .values(rows.slice(i, i + FILE_CHUNK))
        .execute();
  }

  /** The metadata field rows search reads (migration 0013), kept equal to the JSON column. */
  private async writeMetadata(id: number, metadata: Record<string, unknown>, replace: boolean): Promise<void> {
    if (replace) await this.db.deleteFrom('version_metadata').where('version_id', '=', id).execute();
    const rows = metadataFields(metadata).map((f) => ({ version_id: id, ...f }));
    for (let i = 0; i < rows.length; i += FILE_CHUNK)
      await this.db
        .insertInto('version_metadata')
        .values(rows.slice(i, i + FILE_CHUNK))
        .execute();
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('version_tags').where('version_id', '=', id).execute();
    await this.db.deleteFrom('version_metadata').where('version_id', '=', id).execute();
    await this.db.deleteFrom('version_dependencies').where('version_id', '=', id).execute();
    await this.db.deleteFrom('version_files').where('version_id', '=', id).execute();
    await this.db.deleteFrom('versions').where('id', '=', id).execute();
  }

  async deleteAllOfModel(modelId: number): Promise<void> {
    await this.db
      .deleteFrom('version_metadata')
      .where('version_id', 'in', (eb) => eb.selectFrom('versions').select('id').where('model_id', '=', modelId))
      .execute();
    await this.db
      .deleteFrom('version_tags')
      .where('version_id', 'in', (eb) => eb.selectFrom('versions').select('id').where('model_id', '=', modelId))
      .execute();
    await this.db
      .deleteFrom('version_dependencies')
      .where('version_id', 'in', (eb) => eb.selectFrom('versions').select('id').where('model_id', '=', modelId))
      .execute();
    await this.db
      .deleteFrom('version_files')
      .where('version_id', 'in', (eb) => eb.selectFrom('versions').select('id').where('model_id', '=', modelId))
      .execute();
    await this.db.deleteFrom('versions').where('model_id', '=', modelId).execute();
  }

  /** Which of these blobs some version's manifest references. */
  async referencedAmong(sha256s: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < sha256s.length; i += FILE_CHUNK) {
      const rows = await this.db
        .selectFrom('version_files')
        .select('sha256')
        .distinct()
        .where('sha256', 'in', sha256s.slice(i, i + FILE_CHUNK))
        .execute();
      for (const r of rows) out.add(r.sha256);
    }
    return out;
  }

  async insertDependencies(versionId: number, deps: readonly { model_id: number; version: number; digest: string }[]): Promise<void> {
    if (deps.length === 0) return;
    await this.db
      .insertInto('version_dependencies')
      .values(deps.map((d) => ({ version_id: versionId, dep_model_id: d.model_id, dep_version: d.version, dep_digest: d.digest })))
      .execute();
  }

  /**
   * Versions whose dependencies pin this version (bundles, adapters), or without `version` any
   * version of this model: they keep it from deletion.
   */
  async dependents(modelId: number, version?: number): Promise<{ model: string; version: number }[]> {
    let q = this.db
      .selectFrom('version_dependencies as d')
      .innerJoin('versions as v', 'v.id', 'd.version_id')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['m.name', 'v.version'])
      .where('d.dep_model_id', '=', modelId);
    if (version !== undefined) q = q.where('d.dep_version', '=', version);
    const rows = await q.limit(50).execute();
    return rows.map((r) => ({ model: r.name, version: Number(r.version) }));
  }

  /** For each stage in use, its highest version number (MLflow's "latest versions"). */
  async latestPerStage(modelId: number): Promise<VersionRecord[]> {
    const tops = this.db
      .selectFrom('versions')
      .select((eb) => ['stage', eb.fn.max('version').as('top')])
      .where('model_id', '=', modelId)
      .groupBy('stage');
    const rows = await this.db
      .selectFrom('versions as v')
      .innerJoin(tops.as('t'), (j) => j.onRef('t.stage', '=', 'v.stage').onRef('t.top', '=', 'v.version'))
      .selectAll('v')
      .where('v.model_id', '=', modelId)
      .orderBy('v.version', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  /** Versions other than `except` in a stage (to archive them). */
  async inStage(modelId: number, stage: string, except: number): Promise<VersionRecord[]> {
    const rows = await this.db
      .selectFrom('versions')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('stage', '=', stage)
      .where('version', '!=', except)
      .execute();
    return rows.map(toVersion);
  }

  /** Any content-addressed version with this manifest digest (they all hold the same files). */
  async findAnyByDigest(digest: string): Promise<VersionRecord | undefined> {
    const row = await this.db.selectFrom('versions').selectAll().where('digest', '=', digest).where('external_uri', 'is', null).limit(1).executeTakeFirst();
    return row && toVersion(row);
  }

  /**
   * One page of a version search, in SQL: every clause a predicate, ordered by `order` (whose
   * last key must be unique), starting after the keyset position `after`. Columns: `v.*` and
   * `m.name`.
   */
  async search(
    opts: SearchSqlOptions & { clauses: readonly FilterClause[]; order: readonly OrderKey[]; after?: readonly (string | number)[]; limit: number },
  ): Promise<(VersionRecord & { model_name: string })[]> {
    const target: SearchTarget = {
      attributes: {
        name: { kind: 'value', expr: sql`m.name` },
        // A missing run id or source compares as ''.
        run_id: { kind: 'value', expr: sql`v.run_id`, emptyIfNull: true },
        source_path: { kind: 'value', expr: sql`v.source`, emptyIfNull: true },
        version_number: { kind: 'value', expr: sql`v.version`, numeric: true },
      },
      keyed: { tag: tagRows('version_tags', 'version_id', 'v.id', opts.absentIsNotEqual) },
    };
    const preds = filterSql(this.dialect, opts.clauses, target);
    if (opts.after) preds.push(afterSql(opts.order, opts.after));
    const order = orderSql(this.dialect, keysetOrder(opts.order));
    const { rows } = await sql<
      Selectable<VersionsTable> & { model_name: string }
    >`select v.*, m.name as model_name from versions v join models m on m.id = v.model_id ${whereSql(preds)} order by ${order} limit ${opts.limit}`.execute(
      this.db,
    );
    return rows.map((r) => ({ ...toVersion(r), model_name: r.model_name }));
  }
}
