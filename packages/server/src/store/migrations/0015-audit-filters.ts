import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * The audit timeline's filters (issue 13): every event of one action, or of one actor, oldest
 * first from a cursor. Each walks its own index in seq order and stops at the page's end, instead
 * of reading the whole trail to find a rare action or actor.
 */
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'seq']).execute();
  await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'seq']).execute();
}
