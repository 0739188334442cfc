import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * The Promotions page (issue 13) lists promotions of every model newest first, all of them or
 * those in one state (pending approvals): both read an index in that order from the cursor and
 * stop at the page's end, instead of sorting the whole table for each page.
 */
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.createIndex('promotions_newest').on('promotions').columns(['created_at desc', 'id desc']).execute();
  await db.schema.createIndex('promotions_state_newest').on('promotions').columns(['state', 'created_at desc', 'id desc']).execute();
}
