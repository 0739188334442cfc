import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { HotReads } from '../hot-reads.js';
import type { SqlDialect } from './sql-dialect.js';

/** An opened database: the Kysely instance, its dialect, and what the store needs besides. */
export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: SqlDialect;
  /** The hot-path reads, prepared once the schema is migrated. */
  hotReads(): HotReads;
  /** Changes whenever any connection (another process too) commits; undefined when it cannot be known. */
  dataVersion?: () => number;
  close(): Promise<void>;
}
