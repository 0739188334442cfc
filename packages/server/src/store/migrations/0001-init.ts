import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';

/**
 * The first schema. Migrations are append-only: never edit a released one, add the next.
 * Integer ids: SQLite's INTEGER PRIMARY KEY AUTOINCREMENT (never reuses an id), PostgreSQL's
 * identity column. Timestamps are bigint milliseconds.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const id = (table: string) => db.schema.createTable(table).addColumn('id', 'integer', dialect.serialId);
  const big = dialect.bigint;

  await id('models')
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('protected_aliases', 'text', (c) => c.notNull())
    .addColumn('last_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await id('versions')
    .addColumn('model_id', 'integer', (c) => c.notNull().references('models.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('file_count', 'integer', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('run_id', 'text')
    .addColumn('dependencies', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addUniqueConstraint('versions_model_version_unique', ['model_id', 'version'])
    .execute();
  await db.schema.createIndex('versions_model_digest').on('versions').columns(['model_id', 'digest']).execute();
  await db.schema.createIndex('versions_run_id').on('versions').column('run_id').execute();

  await db.schema
    .createTable('version_files')
    .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id').onDelete('cascade'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_files_pk', ['version_id', 'path'])
    .execute();
  await db.schema.createIndex('version_files_sha256').on('version_files').column('sha256').execute();

  // Pins from a version to the versions it depends on (an adapter's base, a bundle's parts),
  // so "what refers to this version?" is one indexed query.
  await db.schema
    .createTable('version_dependencies')
    .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id').onDelete('cascade'))
    .addColumn('dep_model_id', 'integer', (c) => c.notNull())
    .addColumn('dep_version', 'integer', (c) => c.notNull())
    .addColumn('dep_digest', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_dependencies_pk', ['version_id', 'dep_model_id', 'dep_version'])
    .execute();
  await db.schema.createIndex('version_dependencies_target').on('version_dependencies').columns(['dep_model_id', 'dep_version']).execute();

  // The foreign key to (model_id, version) makes a dangling alias impossible even under a race.
  await db.schema
    .createTable('aliases')
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('frozen', 'integer', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('aliases_pk', ['model_id', 'alias'])
    .addForeignKeyConstraint('aliases_version_fk', ['model_id', 'version'], 'versions', ['model_id', 'version'])
    .execute();
  await db.schema.createIndex('aliases_model_version').on('aliases').columns(['model_id', 'version']).execute();

  await id('alias_history')
    .addColumn('seq', big, (c) => c.notNull())
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('from_version', 'integer')
    .addColumn('to_version', 'integer')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', big, (c) => c.notNull())
    .addColumn('reason', 'text')
    .execute();
  await db.schema.createIndex('alias_history_lookup').on('alias_history').columns(['model_id', 'alias', 'at']).execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('seq', big, (c) => c.primaryKey())
    .addColumn('at', big, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('model_id', 'integer')
    .addColumn('model', 'text')
    .addColumn('subject_type', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('reason', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_model').on('audit_events').columns(['model_id', 'seq']).execute();
  await db.schema.createIndex('audit_events_subject_at').on('audit_events').columns(['model_id', 'subject_type', 'at']).execute();
  await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('seq', big, (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into audit_head (id, seq, hash) values (1, 0, ${'0'.repeat(64)})`.execute(db);

  await db.schema
    .createTable('uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('expires_at', big, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('upload_blobs')
    .addColumn('upload_id', 'text', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('upload_blobs_pk', ['upload_id', 'sha256'])
    .execute();
  await db.schema.createIndex('upload_blobs_sha256').on('upload_blobs').column('sha256').execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('experiment', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('datasets', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await id('run_metrics')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('step', big, (c) => c.notNull())
    .addColumn('timestamp', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('run_metrics_run_key').on('run_metrics').columns(['run_id', 'key', 'step']).execute();
}
