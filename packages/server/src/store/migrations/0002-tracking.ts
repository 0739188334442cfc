import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * Tracking for the MLflow front (issue 3): experiments, the MLflow fields of runs, logged
 * models, and the artifact index that maps artifact paths to blobs. Files live in the blob
 * store; this table says which blob each artifact path holds, so registering a run's model
 * snapshots it by digest without copying bytes.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigint;
  await db.schema
    .createTable('experiments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('artifact_location', 'text', (c) => c.notNull())
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('experiment_counter')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('last', 'integer', (c) => c.notNull())
    .execute();
  await sql`insert into experiment_counter (id, last) values (1, 0)`.execute(db);

  await db.schema.alterTable('runs').addColumn('experiment_id', 'text').execute();
  await db.schema.alterTable('runs').addColumn('start_time', big).execute();
  await db.schema.alterTable('runs').addColumn('end_time', big).execute();
  await db.schema.alterTable('runs').addColumn('lifecycle_stage', 'text').execute();
  await db.schema.alterTable('runs').addColumn('outputs', 'text').execute();

  await db.schema
    .createTable('logged_models')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('experiment_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('source_run_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('model_type', 'text')
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('logged_models_experiment_name').on('logged_models').columns(['experiment_id', 'name']).execute();

  await db.schema
    .createTable('artifacts')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  // get-download-uri hands out content-addressed URIs: find a version by its digest alone.
  // MLflow's default version order within one model: newest edit first.
  await db.schema.createIndex('versions_model_updated').on('versions').columns(['model_id', 'updated_at', 'version']).execute();
  await db.schema.createIndex('versions_digest').on('versions').column('digest').execute();
  await db.schema.createIndex('artifacts_sha256').on('artifacts').column('sha256').execute();
}
