import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * Governance (issue 9): evaluations recorded for versions, versioned policies, promotions with
 * their stored gate reports, and the approvals of pending promotions. JSON columns are text.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigint;

  await db.schema
    .createTable('evaluations')
    .addColumn('id', 'integer', dialect.serialId)
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('metrics', 'text', (c) => c.notNull())
    .addColumn('dataset', 'text')
    .addColumn('source', 'text')
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('measured_at', big, (c) => c.notNull())
    .addColumn('recorded_at', big, (c) => c.notNull())
    .addForeignKeyConstraint('evaluations_version_fk', ['model_id', 'version'], 'versions', ['model_id', 'version'], (fk) => fk.onDelete('cascade'))
    .execute();
  // The evaluations of one version newest first: what gate evidence reads, where the newest
  // evaluation of each metric is the first that has it.
  await db.schema.createIndex('evaluations_version_newest').on('evaluations').columns(['model_id', 'version', 'id desc']).execute();

  await db.schema
    .createTable('policies')
    .addColumn('id', 'integer', dialect.serialId)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('yaml', 'text', (c) => c.notNull())
    .addColumn('target_alias', 'text', (c) => c.notNull())
    /** 1 when the document binds models (its `models:` list is not empty). */
    .addColumn('bound', 'integer', (c) => c.notNull())
    /** 1 on the newest version of each name. */
    .addColumn('latest', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addUniqueConstraint('policies_name_version_unique', ['name', 'version'])
    .execute();
  // Every alias move asks "is a policy bound to this alias?": one lookup on this index.
  await db.schema.createIndex('policies_binding').on('policies').columns(['target_alias', 'latest', 'bound']).execute();
  await db.schema.createIndex('policies_latest').on('policies').columns(['latest', 'name']).execute();

  await db.schema
    .createTable('promotions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('previous_version', 'integer')
    .addColumn('policy_name', 'text')
    .addColumn('policy_version', 'integer')
    .addColumn('policy_digest', 'text')
    .addColumn('report', 'text')
    .addColumn('required_approvals', 'integer', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('decided_at', big)
    .execute();
  // The promotions of a model newest first (ids sort by creation time within a millisecond too).
  await db.schema.createIndex('promotions_model_newest').on('promotions').columns(['model_id', 'created_at desc', 'id desc']).execute();

  await db.schema
    .createTable('approvals')
    .addColumn('promotion_id', 'text', (c) => c.notNull().references('promotions.id').onDelete('cascade'))
    .addColumn('approver', 'text', (c) => c.notNull())
    .addColumn('at', big, (c) => c.notNull())
    .addColumn('reason', 'text')
    // One approval per approver: the same approver twice is a unique violation, whatever the race.
    .addPrimaryKeyConstraint('approvals_pk', ['promotion_id', 'approver'])
    .execute();
}
