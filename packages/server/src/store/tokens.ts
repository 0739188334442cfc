import type { Kysely, Selectable } from 'kysely';
import type { Database, TokensTable } from './schema.js';
import { nullableNumber, parseJson } from './json.js';

export interface TokenRecord {
  name: string;
  /** Hex SHA-256 of the secret; the secret itself is never stored. */
  hash: string;
  role: string;
  /** Model-name patterns the role holds for; null: every model. */
  models: string[] | null;
  expires_at: number | null;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
}

function toRecord(row: Selectable<TokensTable>): TokenRecord {
  return {
    name: row.name,
    hash: row.hash,
    role: row.role,
    models: row.models === null ? null : parseJson<string[]>(row.models, []),
    expires_at: nullableNumber(row.expires_at),
    created_by: row.created_by,
    created_at: Number(row.created_at),
    revoked_at: nullableNumber(row.revoked_at),
    revoked_by: row.revoked_by,
  };
}

/** Bearer tokens (migration 0007). */
export class TokenRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Fails with the store's ALREADY_EXISTS when the name (or, astronomically unlikely, the hash) is taken. */
  async insert(t: Omit<TokenRecord, 'revoked_at' | 'revoked_by'>): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({ ...t, models: t.models === null ? null : JSON.stringify(t.models), revoked_at: null, revoked_by: null })
      .execute();
  }

  async findByName(name: string): Promise<TokenRecord | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Every token, revoked ones too, by name. */
  async list(): Promise<TokenRecord[]> {
    const rows = await this.db.selectFrom('tokens').selectAll().orderBy('name').execute();
    return rows.map(toRecord);
  }

  /** Tokens neither revoked nor expired at `now`. */
  async countActive(now: number): Promise<number> {
    const row = await this.db
      .selectFrom('tokens')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Marks the token revoked unless it already is; whether this call revoked it. */
  async revoke(name: string, at: number, by: string): Promise<boolean> {
    const r = await this.db
      .updateTable('tokens')
      .set({ revoked_at: at, revoked_by: by })
      .where('name', '=', name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
