import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { FakeClock } from '../../../test-support/expect.js';
import { localActor } from '../../registry/actor.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function inline(content: string) {
  return {
    files: [{ path: 'model.bin', size: Buffer.byteLength(content), sha256: sha(content) }],
    blobs: [{ sha256: sha(content), base64: Buffer.from(content).toString('base64') }],
  };
}

const T0 = Date.parse('2026-03-08T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('the versions table reads (latest-metrics, versions?at=)', () => {
  let t: TestApp;
  let reader: string;
  const clock = new FakeClock(T0);
  const get = (url: string, token = reader) => t.app.inject({ method: 'GET', url, headers: bearer(token) } satisfies InjectOptions);

  before(async () => {
    t = await openTestApp('berth-latest-metrics-', { auth: true, clock });
    const local = localActor();
    reader = (await t.registry.tokens.create(local, { name: 'reader', role: 'viewer' })).token;
    // v1 at T0, v2 at T0+1h, v3 at T0+2h; evaluations spread over the same hours.
    for (let v = 1; v <= 3; v++) {
      clock.t = T0 + (v - 1) * 3_600_000;
      await t.registry.versions.create(local, 'chatbot', inline(`weights ${v}`));
    }
    clock.t = T0 + 10 * 60_000;
    await t.registry.evaluations.record(local, 'chatbot', 1, { metrics: { accuracy: 0.8, f1: 0.7 } });
    clock.t = T0 + 3 * 3_600_000;
    await t.registry.evaluations.record(local, 'chatbot', 1, { metrics: { accuracy: 0.85 } });
    await t.registry.evaluations.record(local, 'chatbot', 3, { metrics: { accuracy: 0.93, p99_latency_ms: 410 } });
    await t.registry.versions.create(local, 'other', inline('other weights'));
  });
  after(async () => t?.close());

  it('answers the newest value of each metric per version in one request, in the order asked', async () => {
    const r = await get('/api/v1/models/chatbot/latest-metrics?versions=3,2,1');
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().items, [
      { version: 3, metrics: { accuracy: 0.93, p99_latency_ms: 410 }, recorded_at: iso(T0 + 3 * 3_600_000) },
      { version: 2, metrics: {}, recorded_at: null },
      // accuracy from the newer evaluation, f1 still from the older one.
      { version: 1, metrics: { accuracy: 0.85, f1: 0.7 }, recorded_at: iso(T0 + 3 * 3_600_000) },
    ]);
  });

  it('answers the metrics as recorded by then when given at, and leaves out versions created later', async () => {
    const r = await get(`/api/v1/models/chatbot/latest-metrics?versions=3,2,1&at=${iso(T0 + 90 * 60_000)}`);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().items, [
      { version: 2, metrics: {}, recorded_at: null },
      { version: 1, metrics: { accuracy: 0.8, f1: 0.7 }, recorded_at: iso(T0 + 10 * 60_000) },
    ]);
  });

  it('leaves out versions that do not exist, and reads only the named model', async () => {
    const r = await get('/api/v1/models/other/latest-metrics?versions=1,3,99');
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().items, [{ version: 1, metrics: {}, recorded_at: null }]);
  });

  it('lists only the versions created at or before at, newest first, paging within them', async () => {
    const at = iso(T0 + 90 * 60_000);
    const r = await get(`/api/v1/models/chatbot/versions?at=${at}`);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(
      r.json().items.map((v: { version: number }) => v.version),
      [2, 1],
    );
    const p1 = (await get(`/api/v1/models/chatbot/versions?at=${at}&limit=1`)).json();
    assert.deepEqual([p1.items[0].version, typeof p1.next_cursor], [2, 'string']);
    const p2 = (await get(`/api/v1/models/chatbot/versions?at=${at}&limit=1&cursor=${p1.next_cursor}`)).json();
    assert.deepEqual([p2.items[0].version, p2.next_cursor], [1, null]);
    const before = (await get(`/api/v1/models/chatbot/versions?at=${iso(T0 - 1)}`)).json();
    assert.deepEqual(before.items, []);
    const all = (await get('/api/v1/models/chatbot/versions')).json();
    assert.equal(all.items.length, 3);
  });

  it('refuses bad input with a clear 400 and changes nothing', async () => {
    const seqBefore = (await t.registry.audit.verify()).last_seq;
    for (const [query, message] of [
      ['versions=', /comma-separated list of version numbers/],
      ['versions=1,two', /not "two"/],
      ['versions=0', /not "0"/],
      ['versions=-1', /not "-1"/],
      ['versions=1.5', /not "1.5"/],
      ['versions=99999999999', /not "99999999999"/],
      [`versions=${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}`, /at most 100 versions/],
      ['versions=1&at=yesterday', /at/],
      ['versions=1&at=2026-02-30', /at/],
    ] as const) {
      const r = await get(`/api/v1/models/chatbot/latest-metrics?${query}`);
      assert.equal(r.statusCode, 400, `${query}: ${r.body}`);
      assert.equal(r.json().error.code, 'INVALID_ARGUMENT', query);
      assert.match(r.json().error.message, message, query);
    }
    const missing = await get('/api/v1/models/chatbot/latest-metrics');
    assert.equal(missing.statusCode, 400, missing.body);
    const badAt = await get('/api/v1/models/chatbot/versions?at=soon');
    assert.equal(badAt.statusCode, 400, badAt.body);
    assert.equal(badAt.json().error.code, 'INVALID_ARGUMENT');
    assert.equal((await t.registry.audit.verify()).last_seq, seqBefore);
  });

  it('answers 404 for a model that does not exist and 401 without a token', async () => {
    const r = await get('/api/v1/models/nope/latest-metrics?versions=1');
    assert.equal(r.statusCode, 404, r.body);
    assert.equal(r.json().error.code, 'NOT_FOUND');
    const anon = await t.app.inject({ method: 'GET', url: '/api/v1/models/chatbot/latest-metrics?versions=1' });
    assert.equal(anon.statusCode, 401, anon.body);
  });
});
