import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.js';

type Handle = InstanceType<typeof SqliteDatabase>;
type Statement = ReturnType<Handle['prepare']>;

/**
 * Kysely prepares every query anew; better-sqlite3 statements are reusable, so this keeps
 * the compiled ones by SQL text. Kysely uses the one connection serially, so a statement is
 * never in use twice at once.
 */
function cachingHandle(handle: Handle, max = 500): { prepare(sql: string): Statement; close(): void } {
  const cache = new Map<string, Statement>();
  return {
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = handle.prepare(sql);
        if (cache.size >= max) cache.clear();
        cache.set(sql, stmt);
      }
      return stmt;
    },
    close() {
      cache.clear();
      handle.close();
    },
  };
}

/**
 * The embedded default: one file, WAL so readers never wait for the writer, NORMAL sync
 * (durable against a process crash; WAL is fsynced at checkpoints), foreign keys on.
 */
export function createSqliteDb(file: string): { db: Kysely<Database>; handle: Handle } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const handle = new SqliteDatabase(file);
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = NORMAL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('busy_timeout = 5000');
  handle.pragma('cache_size = -65536');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingHandle(handle) as never }) });
  return { db, handle };
}
