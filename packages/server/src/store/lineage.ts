import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** One pin seen from either end: the model, its kind, the version and its manifest digest. */
export interface LineageRow {
  model: string;
  kind: string;
  version: number;
  digest: string;
}

/**
 * Both directions of the pin graph (version_dependencies), each one indexed query: what a
 * version pins (the primary key's prefix) and what pins it (migration 0010's index, paged
 * by the pinning version's id).
 */
export class LineageRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** What this version pins, by model name then version. */
  async uses(versionId: number): Promise<LineageRow[]> {
    const rows = await this.db
      .selectFrom('version_dependencies as d')
      .innerJoin('models as m', 'm.id', 'd.dep_model_id')
      .select(['m.name', 'm.kind', 'd.dep_version', 'd.dep_digest'])
      .where('d.version_id', '=', versionId)
      .orderBy('m.name')
      .orderBy('d.dep_version')
      .execute();
    return rows.map((r) => ({ model: r.name, kind: r.kind, version: Number(r.dep_version), digest: r.dep_digest }));
  }

  /** The versions that pin this one, after the pinning version id `after`, oldest pin first. */
  async usedBy(modelId: number, version: number, opts: { after?: number; limit: number }): Promise<(LineageRow & { id: number })[]> {
    let q = this.db
      .selectFrom('version_dependencies as d')
      .innerJoin('versions as v', 'v.id', 'd.version_id')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['d.version_id', 'm.name', 'm.kind', 'v.version', 'v.digest'])
      .where('d.dep_model_id', '=', modelId)
      .where('d.dep_version', '=', version)
      .orderBy('d.version_id')
      .limit(opts.limit);
    if (opts.after !== undefined) q = q.where('d.version_id', '>', opts.after);
    const rows = await q.execute();
    return rows.map((r) => ({ id: Number(r.version_id), model: r.name, kind: r.kind, version: Number(r.version), digest: r.digest }));
  }
}
