import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const inline = (c: string) => ({
  files: [{ path: 'w.bin', size: Buffer.byteLength(c), sha256: createHash('sha256').update(c).digest('hex') }],
  blobs: [{ sha256: createHash('sha256').update(c).digest('hex'), base64: Buffer.from(c).toString('base64') }],
});

describe('GET /api/v1/promotions (every model)', () => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  const ids: string[] = [];

  before(async () => {
    t = await openTestApp('berth-promotions-list-', { auth: true });
    const local = localActor();
    for (const [name, role] of [
      ['root', 'admin'],
      ['ci', 'editor'],
      ['reader', 'viewer'],
    ] as const) {
      tokens[name] = (await t.registry.tokens.create(local, { name, role })).token;
    }
    await t.registry.policies.apply(local, 'reviewed', 'policy: reviewed\ntarget_alias: champion\nrequire_approvals: 1\ngates: []\n');
    for (const model of ['chatbot', 'summarizer']) {
      const v = await t.app.inject({ method: 'POST', url: `/api/v1/models/${model}/versions`, headers: bearer(tokens.root as string), payload: inline(model) });
      assert.equal(v.statusCode, 201, v.body);
      const p = await t.app.inject({
        method: 'POST',
        url: `/api/v1/models/${model}/promotions`,
        headers: bearer(tokens.ci as string),
        payload: { version: 1, policy: 'reviewed' },
      });
      assert.equal(p.statusCode, 202, p.body);
      ids.push(p.json().id);
    }
  });
  after(async () => t?.close());

  it('answers a viewer with the pending promotions of every model, newest first, paged by cursor', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/api/v1/promotions?state=pending&limit=1', headers: bearer(tokens.reader as string) });
    assert.equal(first.statusCode, 200, first.body);
    const one = first.json();
    assert.deepEqual(
      one.items.map((p: { model: string; id: string; state: string }) => [p.model, p.id, p.state]),
      [['summarizer', ids[1], 'pending']],
    );
    assert.ok(one.next_cursor);
    const second = await t.app.inject({
      method: 'GET',
      url: `/api/v1/promotions?state=pending&limit=1&cursor=${encodeURIComponent(one.next_cursor)}`,
      headers: bearer(tokens.reader as string),
    });
    assert.deepEqual(
      second.json().items.map((p: { model: string }) => p.model),
      ['chatbot'],
    );
    assert.equal(second.json().next_cursor, null);
  });

  it('answers 401 without a token', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/v1/promotions?state=pending' });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().error.code, 'UNAUTHENTICATED');
  });

  it('refuses an unknown state, a bad limit, a bad cursor and a bad alias with 400, changing nothing', async () => {
    for (const [query, match] of [
      ['state=waiting', /invalid state "waiting"/],
      ['limit=0', /limit/],
      ['limit=1001', /limit/],
      ['cursor=zzz', /cursor/],
      ['alias=latest', /latest/],
    ] as const) {
      const r = await t.app.inject({ method: 'GET', url: `/api/v1/promotions?${query}`, headers: bearer(tokens.reader as string) });
      assert.equal(r.statusCode, 400, `${query}: ${r.body}`);
      assert.equal(r.json().error.code, 'INVALID_ARGUMENT', query);
      assert.match(r.json().error.message, match, query);
    }
    const all = await t.app.inject({ method: 'GET', url: '/api/v1/promotions', headers: bearer(tokens.reader as string) });
    assert.deepEqual(
      all.json().items.map((p: { state: string }) => p.state),
      ['pending', 'pending'],
    );
  });
});
