import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../schema.js';

/**
 * The scale-out backend. `pg` is imported lazily so the embedded default never loads it.
 * int8 columns (timestamps, sizes, seq) are parsed to numbers: all of ours stay below 2^53.
 */
export async function createPostgresDb(url: string, poolSize = 10): Promise<{ db: Kysely<Database>; close(): Promise<void> }> {
  const pg = (await import('pg')).default;
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
  // Fail fast with a clear message when the server cannot be reached.
  const client = await pool.connect();
  client.release();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, close: () => db.destroy() };
}
