import type { ColumnDefinitionBuilder, RawBuilder } from 'kysely';

export type Sql = RawBuilder<unknown>;

/**
 * Every question whose answer depends on the database, answered once per database
 * (`sqlite.ts`, `postgres.ts`); nothing outside `store/dialects/` asks which one it runs on.
 * Upserts are not a question: both speak `INSERT … ON CONFLICT … DO UPDATE` (Kysely's
 * `onConflict`). Neither are constraint errors: `store/errors.ts` reads both databases' codes.
 */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * One writer at a time (SQLite): transactions queue and commit in groups instead of running
   * concurrently and retrying.
   */
  readonly singleWriter: boolean;
  /** Column type of millisecond timestamps, sizes and sequence numbers. */
  readonly bigint: 'integer' | 'bigint';
  /** An integer `id` primary key that never hands out a value twice. */
  serialId(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** `SELECT … FOR UPDATE` where read-modify-write needs it to hold the row until commit. */
  lockRows<Q extends { forUpdate(): Q }>(query: Q): Q;
  /** MLflow's `LIKE`: case-sensitive, `%` and `_` the only wildcards, no escape character. */
  like(lhs: Sql, pattern: string): Sql;
  /** MLflow's `ILIKE`: as `like`, ignoring case. */
  ilike(lhs: Sql, pattern: string): Sql;
  /** The text under `path` (object keys, any characters) of a JSON document, NULL when absent. */
  jsonText(json: Sql, path: readonly string[]): Sql;
  /** A JSON array as rows: the FROM item, named `alias`, and each element as a JSON document. */
  jsonElements(json: Sql, alias: string): { from: Sql; element: Sql };
  /** Text that sorts by code point (the order SQLite gives and MLflow's tests expect). */
  textOrder(expr: Sql): Sql;
}
