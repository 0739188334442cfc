import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../../test-support/app.js';

interface Listed {
  items: { seq: number; action: string; actor: string; model: string | null }[];
  next_cursor: string | null;
}

describe('GET /api/v1/audit filters', () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp('berth-audit-routes-');
    const post = async (url: string, payload: object) => {
      const res = await t.app.inject({ method: 'POST', url, payload });
      assert.ok(res.statusCode < 300, res.body);
    };
    await post('/api/v1/models', { name: 'chatbot' });
    await post('/api/v1/models', { name: 'ranker' });
    for (let i = 0; i < 3; i++) await post('/api/v1/models/chatbot/versions', { files: [] });
    for (const v of [1, 2, 3]) {
      const res = await t.app.inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/challenger', payload: { version: v } });
      assert.equal(res.statusCode, 200, res.body);
    }
  });
  after(async () => {
    await t?.close();
  });

  const list = async (query: string): Promise<Listed> => {
    const res = await t.app.inject(`/api/v1/audit?${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as Listed;
  };

  it('lists only the events of one action when action is given, paging by cursor through them', async () => {
    const first = await list('action=alias.set&limit=2');
    assert.deepEqual(
      first.items.map((e) => e.action),
      ['alias.set', 'alias.set'],
    );
    assert.ok(first.next_cursor);
    const rest = await list(`action=alias.set&limit=2&cursor=${encodeURIComponent(first.next_cursor)}`);
    assert.deepEqual(
      rest.items.map((e) => e.action),
      ['alias.set'],
    );
    assert.equal(rest.next_cursor, null);
    assert.ok(rest.items[0]!.seq > first.items[1]!.seq);
  });

  it('combines action, actor and model, and treats an empty value as no filter', async () => {
    const all = await list('limit=1000');
    const creates = await list('action=model.create&actor=&model=');
    assert.deepEqual(
      creates.items.map((e) => e.model),
      ['chatbot', 'ranker'],
    );
    const actor = all.items[0]!.actor;
    assert.equal((await list(`actor=${encodeURIComponent(actor)}&limit=1000`)).items.length, all.items.length);
    assert.deepEqual((await list('actor=nobody-at-all')).items, []);
    assert.deepEqual((await list('model=ranker&action=version.create')).items, []);
  });

  it('refuses an over-long action or actor with 400 and lists nothing', async () => {
    for (const q of [`action=${'a'.repeat(129)}`, `actor=${'b'.repeat(257)}`]) {
      const res = await t.app.inject(`/api/v1/audit?${q}`);
      assert.equal(res.statusCode, 400, q);
      assert.equal((res.json() as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
    }
  });
});
