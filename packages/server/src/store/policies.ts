import type { Kysely, Selectable } from 'kysely';
import type { PolicyDocument } from '@berth/core';
import type { Database, PoliciesTable } from './schema.js';
import { parseJson, toJson } from './json.js';
import { uniquely } from './errors.js';
import { BerthError } from '@berth/core';

export interface PolicyRecord {
  name: string;
  version: number;
  digest: string;
  document: PolicyDocument;
  yaml: string;
  created_by: string;
  created_at: number;
}

function toPolicy(row: Selectable<PoliciesTable>): PolicyRecord {
  return {
    name: row.name,
    version: Number(row.version),
    digest: row.digest,
    document: parseJson(row.document, {} as PolicyDocument),
    yaml: row.yaml,
    created_by: row.created_by,
    created_at: Number(row.created_at),
  };
}

/** Versioned policies (migration 0006); the newest version of each name is flagged `latest`. */
export class PolicyRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async latest(name: string): Promise<PolicyRecord | undefined> {
    const row = await this.db.selectFrom('policies').selectAll().where('name', '=', name).where('latest', '=', 1).executeTakeFirst();
    return row && toPolicy(row);
  }

  async find(name: string, version: number): Promise<PolicyRecord | undefined> {
    const row = await this.db.selectFrom('policies').selectAll().where('name', '=', name).where('version', '=', version).executeTakeFirst();
    return row && toPolicy(row);
  }

  /** The newest version of each policy, by name; `after` is the last name of the previous page. */
  async listLatest(opts: { after?: string; limit: number }): Promise<PolicyRecord[]> {
    let q = this.db.selectFrom('policies').selectAll().where('latest', '=', 1).orderBy('name').limit(opts.limit);
    if (opts.after !== undefined) q = q.where('name', '>', opts.after);
    return (await q.execute()).map(toPolicy);
  }

  /** The newest versions that bind models for `alias` (index policies_binding). */
  async boundTo(alias: string): Promise<PolicyRecord[]> {
    const rows = await this.db.selectFrom('policies').selectAll().where('target_alias', '=', alias).where('latest', '=', 1).where('bound', '=', 1).execute();
    return rows.map(toPolicy);
  }

  /** The policies that bind any model (for refusing a second binding of the same model and alias). */
  async allBound(): Promise<PolicyRecord[]> {
    const rows = await this.db.selectFrom('policies').selectAll().where('latest', '=', 1).where('bound', '=', 1).orderBy('name').execute();
    return rows.map(toPolicy);
  }

  /** Adds the next version and makes it the latest; a concurrent apply of the same name loses on the unique constraint. */
  async insertLatest(p: PolicyRecord): Promise<void> {
    await this.db.updateTable('policies').set({ latest: 0 }).where('name', '=', p.name).where('latest', '=', 1).execute();
    await uniquely(
      this.db
        .insertInto('policies')
        .values({
          name: p.name,
          version: p.version,
          digest: p.digest,
          document: toJson(p.document),
          yaml: p.yaml,
          target_alias: p.document.target_alias,
          bound: p.document.models.length > 0 ? 1 : 0,
          latest: 1,
          created_by: p.created_by,
          created_at: p.created_at,
        })
        .execute(),
      () => new BerthError('CONFLICT', `policy ${p.name} was applied by someone else meanwhile; apply it again`, { policy: p.name }),
    );
  }
}
