import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * Search from indexes (issue 3): tags of models and versions as rows, so a tag clause is an
 * indexed lookup instead of a JSON scan, and an index on the version order MLflow's search
 * uses by default (newest edit first) so a page is read in order and stops when it is full.
 * The JSON `tags` columns stay the copy that reads return; the repositories write both in the
 * same statement sequence of one transaction.
 */
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('model_tags')
    .addColumn('model_id', 'integer', (c) => c.notNull().references('models.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_tags_pk', ['model_id', 'key'])
    .execute();
  await db.schema.createIndex('model_tags_key_value').on('model_tags').columns(['key', 'value']).execute();
  await db.schema
    .createTable('version_tags')
    .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_tags_pk', ['version_id', 'key'])
    .execute();
  await db.schema.createIndex('version_tags_key_value').on('version_tags').columns(['key', 'value']).execute();
  await db.schema.createIndex('versions_updated').on('versions').columns(['updated_at', 'id']).execute();
  await db.schema.createIndex('models_updated').on('models').columns(['updated_at', 'id']).execute();

  // Backfill from the JSON columns, in pages so a large registry migrates in bounded memory.
  for (const [table, child, fk] of [
    ['models', 'model_tags', 'model_id'],
    ['versions', 'version_tags', 'version_id'],
  ] as const) {
    let after = 0;
    for (;;) {
      const rows = (await sql<{ id: number; tags: string }>`select id, tags from ${sql.table(table)} where id > ${after} order by id limit 1000`.execute(db))
        .rows;
      if (rows.length === 0) break;
      const values: { owner: number; key: string; value: string }[] = [];
      for (const r of rows) {
        const tags = JSON.parse(r.tags) as Record<string, string>;
        for (const [key, value] of Object.entries(tags)) values.push({ owner: Number(r.id), key, value: String(value) });
      }
      for (let i = 0; i < values.length; i += 300) {
        const chunk = values.slice(i, i + 300);
        await sql`insert into ${sql.table(child)} (${sql.ref(fk)}, key, value) values ${sql.join(chunk.map((v) => sql`(${v.owner}, ${v.key}, ${v.value})`))}`.execute(
          db,
        );
      }
      after = Number(rows[rows.length - 1]!.id);
    }
  }
}
