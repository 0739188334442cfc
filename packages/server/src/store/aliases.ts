import type { Kysely, Selectable } from 'kysely';
import { BerthError } from '@berth/core';
import type { AliasesTable, AliasHistoryTable, Database } from './schema.js';
import { uniquely } from './errors.js';

/** An aliases row; `frozen` is stored as 0/1 (SQLite has no boolean). */
export type AliasRecord = Omit<Selectable<AliasesTable>, 'frozen'> & { frozen: boolean };

export type AliasHistoryRecord = Selectable<AliasHistoryTable>;

function toAlias(row: Selectable<AliasesTable>): AliasRecord {
  return {
    model_id: Number(row.model_id),
    alias: row.alias,
    version: Number(row.version),
    frozen: Number(row.frozen) === 1,
    updated_by: row.updated_by,
    updated_at: Number(row.updated_at),
  };
}

function toHistory(row: Selectable<AliasHistoryTable>): AliasHistoryRecord {
  return {
    id: Number(row.id),
    seq: Number(row.seq),
    model_id: Number(row.model_id),
    alias: row.alias,
    action: row.action,
    from_version: row.from_version === null ? null : Number(row.from_version),
    to_version: row.to_version === null ? null : Number(row.to_version),
    actor: row.actor,
    at: Number(row.at),
    reason: row.reason,
  };
}

export class AliasRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async find(modelId: number, alias: string): Promise<AliasRecord | undefined> {
    const row = await this.db.selectFrom('aliases').selectAll().where('model_id', '=', modelId).where('alias', '=', alias).executeTakeFirst();
    return row && toAlias(row);
  }

  async listForModel(modelId: number): Promise<AliasRecord[]> {
    return (await this.db.selectFrom('aliases').selectAll().where('model_id', '=', modelId).orderBy('alias').execute()).map(toAlias);
  }

  async namesForVersion(modelId: number, version: number): Promise<string[]> {
    const rows = await this.db.selectFrom('aliases').select('alias').where('model_id', '=', modelId).where('version', '=', version).orderBy('alias').execute();
    return rows.map((r) => r.alias);
  }

  /** Aliases of several models at once, grouped by model id. */
  async groupForModels(modelIds: number[]): Promise<Map<number, AliasRecord[]>> {
    const out = new Map<number, AliasRecord[]>();
    if (modelIds.length === 0) return out;
    const rows = await this.db.selectFrom('aliases').selectAll().where('model_id', 'in', modelIds).orderBy('alias').execute();
    for (const r of rows) {
      const list = out.get(Number(r.model_id)) ?? [];
      list.push(toAlias(r));
      out.set(Number(r.model_id), list);
    }
    return out;
  }

  /** Insert a new alias; ALREADY_EXISTS means somebody set it first (a lost compare-and-swap). */
  async insert(a: AliasRecord): Promise<void> {
    await uniquely(
      this.db
        .insertInto('aliases')
        .values({ model_id: a.model_id, alias: a.alias, version: a.version, frozen: a.frozen ? 1 : 0, updated_by: a.updated_by, updated_at: a.updated_at })
        .execute(),
      () => new BerthError('ALREADY_EXISTS', `alias ${a.alias} is already set`, { alias: a.alias }),
    );
  }

  /** Compare-and-swap: moves the alias only if it still holds `expected`. */
  async compareAndSet(modelId: number, alias: string, expected: number, next: number, actor: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('aliases')
      .set({ version: next, updated_by: actor, updated_at: at })
      .where('model_id', '=', modelId)
      .where('alias', '=', alias)
      .where('version', '=', expected)
      .where('frozen', '=', 0)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async compareAndDelete(modelId: number, alias: string, expected: number): Promise<boolean> {
    const r = await this.db
      .deleteFrom('aliases')
      .where('model_id', '=', modelId)
      .where('alias', '=', alias)
      .where('version', '=', expected)
      .where('frozen', '=', 0)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async setFrozen(modelId: number, alias: string, frozen: boolean, actor: string, at: number): Promise<void> {
    await this.db
      .updateTable('aliases')
      .set({ frozen: frozen ? 1 : 0, updated_by: actor, updated_at: at })
      .where('model_id', '=', modelId)
      .where('alias', '=', alias)
      .execute();
  }

  async deleteAllOfModel(modelId: number): Promise<void> {
    await this.db.deleteFrom('aliases').where('model_id', '=', modelId).execute();
  }

  async appendHistory(h: Omit<AliasHistoryRecord, 'id'>): Promise<void> {
    await this.db.insertInto('alias_history').values(h).execute();
  }

  /** Oldest first; `after` is the id of the last row of the previous page. */
  async history(modelId: number, alias: string, opts: { after?: number; limit: number }): Promise<AliasHistoryRecord[]> {
    let q = this.db.selectFrom('alias_history').selectAll().where('model_id', '=', modelId).where('alias', '=', alias).orderBy('id').limit(opts.limit);
    if (opts.after !== undefined) q = q.where('id', '>', opts.after);
    return (await q.execute()).map(toHistory);
  }

  /** The last history row of this alias at or before `at` (index alias_history_lookup). */
  async historyAt(modelId: number, alias: string, at: number): Promise<AliasHistoryRecord | undefined> {
    const row = await this.db
      .selectFrom('alias_history')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('alias', '=', alias)
      .where('at', '<=', at)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toHistory(row);
  }

  /** Every alias of a model as it stood at `at`: alias → version (unset ones left out). */
  async allAt(modelId: number, at: number): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('alias_history')
      .select(['alias', 'to_version', 'action'])
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('alias_history')
          .select((e) => e.fn.max('id').as('id'))
          .where('model_id', '=', modelId)
          .where('at', '<=', at)
          .where('action', 'in', ['alias.set', 'alias.delete'])
          .groupBy('alias'),
      )
      .orderBy('alias')
      .execute();
    const out: Record<string, number> = {};
    for (const r of rows) if (r.to_version !== null) out[r.alias] = Number(r.to_version);
    return out;
  }

  /** The version whose alias history row was most recently written: for rollback. */
  async previousVersion(modelId: number, alias: string): Promise<AliasHistoryRecord | undefined> {
    const row = await this.db
      .selectFrom('alias_history')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('alias', '=', alias)
      .where('action', '=', 'alias.set')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toHistory(row);
  }
}
