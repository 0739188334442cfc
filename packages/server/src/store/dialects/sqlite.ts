import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.js';

/**
 * The embedded default: one file, WAL so readers never wait for the writer, NORMAL sync
 * (durable against a process crash; WAL is fsynced at checkpoints), foreign keys on.
 */
export function createSqliteDb(file: string): { db: Kysely<Database>; close(): void } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const handle = new SqliteDatabase(file);
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = NORMAL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('busy_timeout = 5000');
  handle.pragma('cache_size = -65536');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }) });
  return { db, close: () => handle.close() };
}
