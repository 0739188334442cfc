import { sql, type Kysely } from 'kysely';
import { metadataFields } from '@berth/core';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * The catalog's search (issue 13, docs/decisions/0024): version metadata fields as rows, so
 * `meta.base_model=llama` is an indexed lookup instead of reading every version's JSON, and an
 * index on alias names for `alias:champion`. As with the tag rows of 0003, the JSON `metadata`
 * column stays the copy reads return; the version repository writes both in one transaction.
 */
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('version_metadata')
    .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('version_metadata_key_value').on('version_metadata').columns(['key', 'value', 'version_id']).execute();
  await db.schema.createIndex('version_metadata_version').on('version_metadata').column('version_id').execute();
  await db.schema.createIndex('aliases_alias').on('aliases').columns(['alias', 'model_id', 'version']).execute();

  // Backfill in pages, so a large registry migrates in bounded memory.
  let after = 0;
  for (;;) {
    const rows = (await sql<{ id: number; metadata: string }>`select id, metadata from versions where id > ${after} order by id limit 1000`.execute(db)).rows;
    if (rows.length === 0) break;
    const values: { id: number; key: string; value: string }[] = [];
    for (const r of rows) for (const f of metadataFields(JSON.parse(r.metadata) as Record<string, unknown>)) values.push({ id: Number(r.id), ...f });
    for (let i = 0; i < values.length; i += 300) {
      const chunk = values.slice(i, i + 300);
      await sql`insert into version_metadata (version_id, key, value) values ${sql.join(chunk.map((v) => sql`(${v.id}, ${v.key}, ${v.value})`))}`.execute(db);
    }
    after = Number(rows[rows.length - 1]!.id);
  }
}
