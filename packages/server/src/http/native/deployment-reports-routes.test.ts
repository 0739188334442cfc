import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ServedReport, ServedVersion } from '@berth/core';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

const DOC = `deployment: chatbot
model: cs-bot
strategy: single
stable: champion
upstreams: [{versions: "*", url: "http://127.0.0.1:9/v1"}]
`;

const served = (version: number, requests: number, p99: number): ServedVersion => ({
  version,
  weight: 100,
  shadow: false,
  requests,
  errors: 0,
  p50_ms: p99 / 2,
  p99_ms: p99,
  tokens_in: 0,
  tokens_out: 0,
  judged: 0,
  below: 0,
  mean_score: null,
});

describe('GET /api/v1/deployments/{name}/reports', () => {
  let t: TestApp;
  let viewer = '';
  const local = localActor();
  const t0 = Date.now() - 60_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const get = (url: string) => t.app.inject({ method: 'GET', url: `/api/v1/deployments/${url}`, headers: { authorization: `Bearer ${viewer}` } });
  const ends = (items: ServedReport[]) => items.map((r) => [r.gateway, Date.parse(r.to) - t0]);

  before(async () => {
    t = await openTestApp('berth-deployment-reports-', { auth: true });
    viewer = (await t.registry.tokens.create(local, { name: 'viewer', role: 'viewer' })).token;
    const data = Buffer.from('weights');
    const h = createHash('sha256').update(data).digest('hex');
    await t.registry.blobs.put(local, h, Readable.from([data]));
    await t.registry.versions.create(local, 'cs-bot', { files: [{ path: 'w.bin', size: data.length, sha256: h }] });
    await t.registry.aliases.set(local, 'cs-bot', 'champion', { version: 1 });
    await t.registry.deployments.apply(local, DOC);
    // Two gateways, windows of 10 s; g1 and g2 both end a window at t0 + 20 s.
    for (const [gateway, from, to, p99] of [
      ['g1', 0, 10_000, 40],
      ['g1', 10_000, 20_000, 50],
      ['g2', 10_000, 20_000, 60],
      ['g1', 20_000, 30_000, 70],
    ] as const) {
      await t.registry.deployments.reportServed(local, 'chatbot', { gateway, from: iso(t0 + from), to: iso(t0 + to), versions: [served(1, 5, p99)] });
    }
  });
  after(async () => t?.close());

  it('answers the reports whose window ended in [since, until], newest first', async () => {
    const all = await get('chatbot/reports');
    assert.equal(all.statusCode, 200, all.body);
    assert.deepEqual(ends(all.json().items), [
      ['g1', 30_000],
      ['g2', 20_000],
      ['g1', 20_000],
      ['g1', 10_000],
    ]);
    assert.deepEqual(
      all.json().items.map((r: ServedReport) => r.versions[0]?.p99_ms),
      [70, 60, 50, 40],
    );
    assert.equal(all.json().next_cursor, null);
    const range = await get(`chatbot/reports?since=${iso(t0 + 20_000)}&until=${iso(t0 + 20_000)}`);
    assert.deepEqual(ends(range.json().items), [
      ['g2', 20_000],
      ['g1', 20_000],
    ]);
    assert.deepEqual(ends((await get(`chatbot/reports?until=${iso(t0 + 15_000)}`)).json().items), [['g1', 10_000]]);
    assert.deepEqual((await get(`chatbot/reports?since=${iso(t0 + 40_000)}`)).json(), { items: [], next_cursor: null });
  });

  it('pages by cursor without skipping reports that end at the same time', async () => {
    const seen: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await get(`chatbot/reports?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.statusCode, 200, page.body);
      seen.push(...ends(page.json().items));
      cursor = page.json().next_cursor;
      pages += 1;
    } while (cursor);
    assert.equal(pages, 4);
    assert.deepEqual(seen, [
      ['g1', 30_000],
      ['g2', 20_000],
      ['g1', 20_000],
      ['g1', 10_000],
    ]);
  });

  it('still answers for a deployment deleted since', async () => {
    await t.registry.deployments.apply(local, DOC.replace('chatbot', 'retired'));
    await t.registry.deployments.reportServed(local, 'retired', { gateway: 'g1', from: iso(t0), to: iso(t0 + 10_000), versions: [served(1, 1, 10)] });
    await t.registry.deployments.delete(local, 'retired', 'done');
    const r = await get('retired/reports');
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().items.length, 1);
  });

  it('refuses bad input with a clear 4xx', async () => {
    const cases: [string, number, RegExp][] = [
      ['never/reports', 404, /never/],
      ['chatbot/reports?since=yesterday', 400, /since/],
      ['chatbot/reports?until=soon', 400, /until/],
      [`chatbot/reports?since=${iso(t0 + 20_000)}&until=${iso(t0)}`, 400, /must not be after until/],
      ['chatbot/reports?cursor=nonsense', 400, /cursor/],
      [`chatbot/reports?cursor=${Buffer.from(JSON.stringify({ r: 'x:1' })).toString('base64url')}`, 400, /cursor/],
      ['chatbot/reports?limit=0', 400, /limit/],
      ['chatbot/reports?limit=1001', 400, /limit/],
    ];
    for (const [url, status, message] of cases) {
      const r = await get(url);
      assert.equal(r.statusCode, status, `${url}: ${r.body}`);
      assert.match(r.json().error.message, message, url);
    }
  });

  it('needs a token when auth is on', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/v1/deployments/chatbot/reports' });
    assert.equal(r.statusCode, 401);
  });
});
