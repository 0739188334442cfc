import type { Kysely, Selectable } from 'kysely';
import type { Dependency, ManifestFile, Stage, VersionStatus } from '@berth/core';
import type { Database, VersionsTable } from './schema.js';
import { parseJson, toJson } from './json.js';

export interface VersionRecord {
  id: number;
  model_id: number;
  version: number;
  digest: string;
  status: VersionStatus;
  stage: Stage;
  size: number;
  file_count: number;
  metadata: Record<string, unknown>;
  tags: Record<string, string>;
  description: string;
  source: string | null;
  run_id: string | null;
  dependencies: Dependency[];
  created_by: string;
  created_at: number;
  updated_at: number;
}

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
    private readonly rowLocks = false,
  ) {}

  /** Like find, and holds the row until the transaction ends (read-modify-write). */
  async lock(modelId: number, version: number): Promise<VersionRecord | undefined> {
    let q = this.db.selectFrom('versions').selectAll().where('model_id', '=', modelId).where('version', '=', version);
    if (this.rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toVersion(row);
  }

  async insert(v: Omit<VersionRecord, 'id'>, files: readonly ManifestFile[]): Promise<VersionRecord> {
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
        created_by: v.created_by,
        created_at: v.created_at,
        updated_at: v.updated_at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
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

  /** The newest version with that manifest digest. */
  async findByDigest(modelId: number, digest: string): Promise<VersionRecord | undefined> {
    const row = await this.db
      .selectFrom('versions')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('digest', '=', digest)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  /** Newest first; `before` is the last version number of the previous page. */
  async list(modelId: number, opts: { before?: number; limit: number }): Promise<VersionRecord[]> {
    let q = this.db.selectFrom('versions').selectAll().where('model_id', '=', modelId).orderBy('version', 'desc').limit(opts.limit);
    if (opts.before !== undefined) q = q.where('version', '<', opts.before);
    return (await q.execute()).map(toVersion);
  }

  async count(modelId: number): Promise<number> {
    const row = await this.db.selectFrom('versions').select((eb) => eb.fn.countAll().as('n')).where('model_id', '=', modelId).executeTakeFirstOrThrow();
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
    return toVersion(row);
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('version_dependencies').where('version_id', '=', id).execute();
    await this.db.deleteFrom('version_files').where('version_id', '=', id).execute();
    await this.db.deleteFrom('versions').where('id', '=', id).execute();
  }

  async deleteAllOfModel(modelId: number): Promise<void> {
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

  /** Versions whose dependencies pin this one (bundles, adapters): they keep it from deletion. */
  async dependents(modelId: number, version: number): Promise<{ model: string; version: number }[]> {
    const rows = await this.db
      .selectFrom('version_dependencies as d')
      .innerJoin('versions as v', 'v.id', 'd.version_id')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['m.name', 'v.version'])
      .where('d.dep_model_id', '=', modelId)
      .where('d.dep_version', '=', version)
      .limit(50)
      .execute();
    return rows.map((r) => ({ model: r.name, version: Number(r.version) }));
  }

  /** Versions of any model that pin some version of this model. */
  async dependentsOfModel(modelId: number): Promise<{ model: string; version: number }[]> {
    const rows = await this.db
      .selectFrom('version_dependencies as d')
      .innerJoin('versions as v', 'v.id', 'd.version_id')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['m.name', 'v.version'])
      .where('d.dep_model_id', '=', modelId)
      .limit(50)
      .execute();
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
    const rows = await this.db.selectFrom('versions').selectAll().where('model_id', '=', modelId).where('stage', '=', stage).where('version', '!=', except).execute();
    return rows.map(toVersion);
  }

  /** Any version with this manifest digest (they all hold the same files). */
  async findAnyByDigest(digest: string): Promise<VersionRecord | undefined> {
    const row = await this.db.selectFrom('versions').selectAll().where('digest', '=', digest).limit(1).executeTakeFirst();
    return row && toVersion(row);
  }

  /**
   * Versions for a search, narrowed in SQL by what the indexes serve (model ids, run ids,
   * version bounds); the caller applies the remaining clauses. Joined with the model name.
   */
  async searchCandidates(opts: { modelIds?: number[]; runIds?: string[]; minVersion?: number; maxVersion?: number; limit: number }): Promise<(VersionRecord & { model_name: string })[]> {
    let q = this.db.selectFrom('versions as v').innerJoin('models as m', 'm.id', 'v.model_id').selectAll('v').select('m.name as model_name').limit(opts.limit);
    if (opts.modelIds) q = q.where('v.model_id', 'in', opts.modelIds.length ? opts.modelIds : [-1]);
    if (opts.runIds) q = q.where('v.run_id', 'in', opts.runIds.length ? opts.runIds : ['']);
    if (opts.minVersion !== undefined) q = q.where('v.version', '>=', opts.minVersion);
    if (opts.maxVersion !== undefined) q = q.where('v.version', '<=', opts.maxVersion);
    const rows = await q.execute();
    return rows.map((r) => ({ ...toVersion(r), model_name: (r as unknown as { model_name: string }).model_name }));
  }

  /**
   * A page of a search whose every clause an index serves, ordered and limited in SQL:
   * `keys` are (column, descending) pairs over versions (`version`, `created_at`,
   * `updated_at`) or the model name.
   */
  async searchPage(opts: { modelIds?: number[]; runIds?: string[]; versionOps?: { op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: number }[]; order: { key: 'version' | 'created_at' | 'updated_at' | 'model_name'; desc: boolean }[]; offset: number; limit: number }): Promise<(VersionRecord & { model_name: string })[]> {
    let q = this.db.selectFrom('versions as v').innerJoin('models as m', 'm.id', 'v.model_id').selectAll('v').select('m.name as model_name');
    if (opts.modelIds) q = q.where('v.model_id', 'in', opts.modelIds.length ? opts.modelIds : [-1]);
    if (opts.runIds) q = q.where('v.run_id', 'in', opts.runIds.length ? opts.runIds : ['']);
    for (const c of opts.versionOps ?? []) q = q.where('v.version', c.op, c.value);
    for (const o of opts.order) q = q.orderBy(o.key === 'model_name' ? 'm.name' : `v.${o.key}`, o.desc ? 'desc' : 'asc');
    const rows = await q.limit(opts.limit).offset(opts.offset).execute();
    return rows.map((r) => ({ ...toVersion(r), model_name: (r as unknown as { model_name: string }).model_name }));
  }
}
