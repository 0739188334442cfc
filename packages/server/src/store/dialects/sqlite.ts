import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from '../schema.js';
import { SqliteHotReads } from '../hot-reads.js';
import type { OpenedDatabase } from './opened-database.js';
import type { SqlDialect } from './sql-dialect.js';

/** A LIKE pattern as a GLOB pattern: `%` → `*`, `_` → `?`, GLOB's own metacharacters quoted. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  singleWriter: true,
  bigint: 'integer',
  // AUTOINCREMENT: a deleted row's id is never handed out again.
  serialId: (col) => col.primaryKey().autoIncrement(),
  // One writer at a time, and no such clause.
  lockRows: (query) => query,
  // SQLite's LIKE ignores ASCII case; GLOB does not.
  like: (lhs, pattern) => sql`${lhs} glob ${likeToGlob(pattern)}`,
  // Without an ESCAPE clause SQLite's LIKE has no escape character.
  ilike: (lhs, pattern) => sql`${lhs} like ${pattern}`,
  // json_each rather than json_extract: a JSON path cannot quote every key (`odd "key"`).
  jsonText: (json, path) => path.reduce((doc, key) => sql`(select j.value from json_each(${doc}) j where j.key = ${key})`, json),
  jsonElements: (json, alias) => ({ from: sql`json_each(${json}) as ${sql.id(alias)}`, element: sql.ref(`${alias}.value`) }),
  // SQLite compares text by code point already.
  textOrder: (expr) => expr,
};

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

/** PRAGMA data_version changes when another connection (another process) commits. */
export function openSqlite(file: string): OpenedDatabase {
  const { db, handle } = createSqliteDb(file);
  const dataVersion = handle.prepare('pragma data_version').pluck();
  return {
    db,
    dialect: sqliteDialect,
    hotReads: () => new SqliteHotReads(handle, db),
    dataVersion: () => dataVersion.get() as number,
    close: () => db.destroy(),
  };
}
