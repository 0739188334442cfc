import { sql, type Kysely } from 'kysely';
import type Sqlite from 'better-sqlite3';
import type { Database, VersionsTable } from './schema.js';
import { toVersion, type VersionRecord } from './versions.js';
import type { Selectable } from 'kysely';

/**
 * The hottest read — "which version does name@alias point at, with all its aliases?" — as
 * one statement. On SQLite it is a prepared better-sqlite3 statement run synchronously
 * (no query building, no thread hop); on PostgreSQL one round trip.
 */
export interface HotReads {
  resolveAlias(name: string, alias: string): Promise<{ model: string; version: VersionRecord; aliases: string[] } | undefined>;
}

type Row = Selectable<VersionsTable> & { model_name: string; alias_names: string | null };

const SEP = '\u001f';

function toResult(row: Row | undefined) {
  if (!row) return undefined;
  const aliases = row.alias_names ? row.alias_names.split(SEP).sort() : [];
  return { model: row.model_name, version: toVersion(row), aliases };
}

const SQLITE_BY_ALIAS = `
  select v.*, m.name as model_name,
    (select group_concat(a2.alias, char(31)) from aliases a2 where a2.model_id = v.model_id and a2.version = v.version) as alias_names
  from models m
  join aliases a on a.model_id = m.id and a.alias = ?
  join versions v on v.model_id = m.id and v.version = a.version
  where m.name = ?`;

export class SqliteHotReads implements HotReads {
  private readonly byAlias: Sqlite.Statement;

  constructor(
    private readonly handle: Sqlite.Database,
    private readonly db: Kysely<Database>,
  ) {
    this.byAlias = handle.prepare(SQLITE_BY_ALIAS);
  }

  async resolveAlias(name: string, alias: string) {
    // The connection is shared: while a transaction is open on it, reading directly would see
    // its uncommitted writes. Wait behind it (Kysely queues queries on the connection), then
    // read; the check and the read run in one synchronous step.
    while (this.handle.inTransaction) await sql`select 1`.execute(this.db);
    return toResult(this.byAlias.get(alias, name) as Row | undefined);
  }
}

export class PostgresHotReads implements HotReads {
  constructor(private readonly db: Kysely<Database>) {}

  async resolveAlias(name: string, alias: string) {
    const r = await sql<Row>`
      select v.*, m.name as model_name,
        (select string_agg(a2.alias, chr(31)) from aliases a2 where a2.model_id = v.model_id and a2.version = v.version) as alias_names
      from models m
      join aliases a on a.model_id = m.id and a.alias = ${alias}
      join versions v on v.model_id = m.id and v.version = a.version
      where m.name = ${name}`.execute(this.db);
    return toResult(r.rows[0]);
  }
}
