import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import type { Database } from './schema.js';
import { migrate } from './store.js';
import { sqliteDialect } from './dialects/sqlite.js';
import { PromotionRepo } from './promotions.js';
import { AuditRepo } from './audit.js';

/**
 * The UI's lists across the registry (promotions of every model, all or one state's; the audit
 * timeline by action or actor) are read a page at a time. Each page must walk an index from the
 * cursor and stop, never sort or scan the whole table: SQLite's plan of the very queries the
 * repositories send says which.
 */
describe('the lists across the registry are read through an index', () => {
  const handle = new SqliteDatabase(':memory:');
  const sent: CompiledQuery[] = [];
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }), log: (e) => void (e.level === 'query' && sent.push(e.query)) });
  const repo = new PromotionRepo(db, sqliteDialect);
  const audit = new AuditRepo(db);

  async function planOf(read: () => Promise<unknown>): Promise<string> {
    sent.length = 0;
    await read();
    assert.equal(sent.length, 1);
    const q = sent[0]!;
    const rows = handle.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[];
    return rows.map((r) => r.detail).join('\n');
  }

  it('promotions in one state (pending approvals), first page and after a cursor', async () => {
    await migrate(db, sqliteDialect);
    for (const before of [undefined, { created_at: 1_700_000_000_000, id: 'p-1' }]) {
      const plan = await planOf(() => repo.listAll({ state: 'pending', limit: 21, ...(before ? { before } : {}) }));
      assert.match(plan, /promotions_state_newest/, plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
    }
  });

  it('promotions in every state (the history)', async () => {
    for (const before of [undefined, { created_at: 1_700_000_000_000, id: 'p-1' }]) {
      const plan = await planOf(() => repo.listAll({ limit: 26, ...(before ? { before } : {}) }));
      assert.match(plan, /promotions_newest/, plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
    }
  });

  it('audit events of one action or one actor, first page and after a cursor', async () => {
    for (const [filter, index] of [
      [{ action: 'alias.set' }, /audit_events_action/],
      [{ actor: 'ci' }, /audit_events_actor/],
    ] as const) {
      for (const afterSeq of [undefined, 120]) {
        const plan = await planOf(() => audit.list({ ...filter, limit: 51, ...(afterSeq ? { afterSeq } : {}) }));
        assert.match(plan, index, plan);
        assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
      }
    }
  });
});
