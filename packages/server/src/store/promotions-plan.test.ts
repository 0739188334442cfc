import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import type { Database } from './schema.js';
import { migrate } from './store.js';
import { sqliteDialect } from './dialects/sqlite.js';
import { PromotionRepo } from './promotions.js';

/**
 * The Promotions page reads promotions of every model newest first, a page at a time, all of
 * them or one state's. Each page must walk an index from the cursor and stop, never sort the
 * whole table: SQLite's plan of the very queries the repository sends says which.
 */
describe('promotions of every model are read through an index, not a sort', () => {
  const handle = new SqliteDatabase(':memory:');
  const sent: CompiledQuery[] = [];
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }), log: (e) => void (e.level === 'query' && sent.push(e.query)) });
  const repo = new PromotionRepo(db, sqliteDialect);

  async function planOf(read: () => Promise<unknown>): Promise<string> {
    sent.length = 0;
    await read();
    assert.equal(sent.length, 1);
    const q = sent[0]!;
    const rows = handle.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[];
    return rows.map((r) => r.detail).join('\n');
  }

  it('in one state (pending approvals), first page and after a cursor', async () => {
    await migrate(db, sqliteDialect);
    for (const before of [undefined, { created_at: 1_700_000_000_000, id: 'p-1' }]) {
      const plan = await planOf(() => repo.listAll({ state: 'pending', limit: 21, ...(before ? { before } : {}) }));
      assert.match(plan, /promotions_state_newest/, plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
    }
  });

  it('in every state (the history)', async () => {
    for (const before of [undefined, { created_at: 1_700_000_000_000, id: 'p-1' }]) {
      const plan = await planOf(() => repo.listAll({ limit: 26, ...(before ? { before } : {}) }));
      assert.match(plan, /promotions_newest/, plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
    }
  });
});
