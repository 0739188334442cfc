import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * The outbox: one row per state change, written in the transaction that makes it (through
 * registry/changes.ts), keyed by the audit event's sequence number. Webhook dispatch and the
 * event stream read it; a crash between the commit and a delivery loses nothing.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigint;
  await db.schema
    .createTable('events')
    .addColumn('seq', big, (c) => c.primaryKey())
    .addColumn('at', big, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .execute();
}
