import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database } from '../schema.js';
import { PostgresHotReads } from '../hot-reads.js';
import type { OpenedDatabase } from './opened-database.js';
import type { SqlDialect } from './sql-dialect.js';
import { probePostgres } from './postgres-probe.js';

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  singleWriter: false,
  bigint: 'bigint',
  serialId: (col) => col.primaryKey().generatedAlwaysAsIdentity(),
  // READ COMMITTED lets another transaction change a row between our read and our write.
  lockRows: (query) => query.forUpdate(),
  // An empty ESCAPE turns off LIKE's default backslash escape.
  like: (lhs, pattern) => sql`${lhs} like ${pattern} escape ''`,
  ilike: (lhs, pattern) => sql`${lhs} ilike ${pattern} escape ''`,
  jsonText: (json, path) =>
    path.reduce(
      (doc, key, i) => (i === path.length - 1 ? sql`(${doc} ->> cast(${key} as text))` : sql`(${doc} -> cast(${key} as text))`),
      sql`cast(${json} as jsonb)`,
    ),
  jsonElements: (json, alias) => ({ from: sql`jsonb_array_elements(cast(${json} as jsonb)) as ${sql.id(alias)}(v)`, element: sql.ref(`${alias}.v`) }),
  // The database's default collation follows the locale; "C" compares code points.
  textOrder: (expr) => sql`${expr} collate "C"`,
};

/**
 * The scale-out backend. `pg` is imported lazily so the embedded default never loads it.
 * int8 columns (timestamps, sizes, seq) are parsed to numbers: all of ours stay below 2^53.
 */
export async function createPostgresDb(url: string, poolSize = 10): Promise<{ db: Kysely<Database>; close(): Promise<void> }> {
  const pg = (await import('pg')).default;
  // Fail fast when the server cannot be reached. The pool keeps no connect timeout of its
  // own, since that also bounds the wait for a free pooled connection under load.
  await probePostgres(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection that dies (server restart, failover, an admin's terminate) is dropped by
  // the pool and replaced on next use; without a listener its error would crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, close: () => db.destroy() };
}

/** Other servers may write too, so there is no change counter: nothing is cached. */
export async function openPostgres(url: string, poolSize?: number): Promise<OpenedDatabase> {
  const { db, close } = await createPostgresDb(url, poolSize);
  return { db, dialect: postgresDialect, hotReads: () => new PostgresHotReads(db), close };
}
