import type { Kysely } from 'kysely';

/**
 * "What uses this version" pages by the pinning version's id: with it in the index the page is
 * a range read in index order, never a sort of every pin (10,000 bundles on one base). The
 * old index is a prefix of the new one, so it goes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('version_dependencies_used_by').on('version_dependencies').columns(['dep_model_id', 'dep_version', 'version_id']).execute();
  await db.schema.dropIndex('version_dependencies_target').execute();
}
