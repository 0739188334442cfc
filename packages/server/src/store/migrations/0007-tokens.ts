import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * Bearer tokens (docs/decisions/0013): only the SHA-256 of the secret is stored, looked up by
 * its unique index. A revoked token keeps its row, so the audit trail's actor names stay
 * resolvable and a name is never handed out twice.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigint;
  await db.schema
    .createTable('tokens')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('models', 'text')
    .addColumn('expires_at', big)
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('revoked_at', big)
    .addColumn('revoked_by', 'text')
    .execute();
}
