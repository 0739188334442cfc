import type { Kysely } from 'kysely';

/**
 * External versions (decision 0021): a version registered from a URI in a store Berth does not
 * read keeps that URI here and holds no files. Null on every existing row: they are all
 * content-addressed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('versions').addColumn('external_uri', 'text').execute();
}
