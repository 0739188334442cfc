import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * Deployments (issue 12, decision 0023): versioned documents like policies, the one current
 * rollout of each deployment (gateways decide it by compare-and-swap on its id and step), and
 * what gateways report they served, read back by time. JSON columns are text.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigint;

  await db.schema
    .createTable('deployments')
    .addColumn('id', 'integer', dialect.serialId)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    // The model by id (which survives renames) and by its name when applied.
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('yaml', 'text', (c) => c.notNull())
    /** 1 on the newest version of each live deployment; a deleted deployment keeps its rows with 0 (its served reports still answer). */
    .addColumn('latest', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    // Two concurrent applies of one name: the second insert of the same version loses here.
    .addUniqueConstraint('deployments_name_version_unique', ['name', 'version'])
    .execute();
  await db.schema.createIndex('deployments_latest').on('deployments').columns(['latest', 'name']).execute();
  // Every alias move asks which live deployments follow its model (a blue-green switch starts with the move).
  await db.schema.createIndex('deployments_model').on('deployments').columns(['model_id', 'latest']).execute();

  await db.schema
    .createTable('deployment_rollouts')
    // One current rollout per deployment: starting another replaces the row (the events keep the past).
    .addColumn('deployment', 'text', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('stable_version', 'integer')
    .addColumn('candidate_version', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('step', 'integer', (c) => c.notNull())
    .addColumn('weight', 'integer', (c) => c.notNull())
    .addColumn('started_at', big, (c) => c.notNull())
    .addColumn('step_started_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addColumn('last_decision', 'text')
    .execute();

  await db.schema
    .createTable('deployment_served')
    .addColumn('id', 'integer', dialect.serialId)
    .addColumn('deployment', 'text', (c) => c.notNull())
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('from_at', big, (c) => c.notNull())
    .addColumn('to_at', big, (c) => c.notNull())
    .addColumn('versions', 'text', (c) => c.notNull())
    .addColumn('shadow', 'text')
    /** The versions with their rounded weights and shadow flags, canonical: equal text, same mix. */
    .addColumn('mix', 'text', (c) => c.notNull())
    .addColumn('received_at', big, (c) => c.notNull())
    .execute();
  // "What was served at T": the windows ending after T, first ones first.
  await db.schema.createIndex('deployment_served_to').on('deployment_served').columns(['deployment', 'to_at']).execute();
  // A gateway's report before this one, to tell whether its mix changed.
  await db.schema.createIndex('deployment_served_gateway').on('deployment_served').columns(['deployment', 'gateway', 'to_at']).execute();
}
