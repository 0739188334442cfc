import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * What inspecting a blob on upload found (decision 0016), keyed by its sha256: the same bytes
 * always inspect the same, so a version commit looks its files up here instead of reading them.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('blob_inspections')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('inspection', 'text', (c) => c.notNull())
    .addColumn('inspected_at', dialect.bigint, (c) => c.notNull())
    .execute();
}
