import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { WebhookReceiver } from '../../../test-support/webhook-receiver.js';
import { DEFAULT_REGISTRY_CONFIG } from '../../registry/deps.js';
import { WebhookDispatcher } from '../../webhooks/dispatcher.js';

describe('webhook routes', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let rx: WebhookReceiver;

  before(async () => {
    t = await openTestApp('berth-webhooks-');
    app = t.app;
    rx = await WebhookReceiver.start();
  });
  after(async () => {
    await rx.close();
    await t.close();
  });

  const post = (url: string, payload: object = {}) => app.inject({ method: 'POST', url: `/api/v1${url}`, payload });
  const count = async (table: 'webhooks' | 'audit_events') =>
    Number(
      (
        await t.store.db
          .selectFrom(table)
          .select((e) => e.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('registers a webhook, shows the secret only once, lists, changes and deletes it', async () => {
    const res = await post('/webhooks', { url: `${rx.url}/a`, events: ['alias.moved', 'version.*'], description: 'deploy' });
    assert.equal(res.statusCode, 201, res.body);
    const w = res.json();
    assert.match(w.id, /^wh_[0-9a-f]{26}$/);
    assert.match(w.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.deepEqual([w.url, w.events, w.description, w.active, w.created_by], [`${rx.url}/a`, ['alias.moved', 'version.*'], 'deploy', true, 'local']);
    const got = (await app.inject(`/api/v1/webhooks/${w.id}`)).json();
    assert.equal(got.secret, undefined);
    const list = (await app.inject('/api/v1/webhooks')).json();
    assert.deepEqual(
      list.items.map((x: { id: string }) => x.id),
      [w.id],
    );
    assert.ok(list.items.every((x: { secret?: string }) => x.secret === undefined));
    const patched = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${w.id}`, payload: { events: ['*'], active: false } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual([patched.json().events, patched.json().active], [['*'], false]);
    // The secret is in no audit event and no outbox row.
    const audit = await t.store.db.selectFrom('audit_events').select(['before', 'after']).where('subject_type', '=', 'webhook').execute();
    const outbox = await t.store.db.selectFrom('events').select('payload').where('type', 'like', 'webhook.%').execute();
    assert.equal(audit.length, 2);
    assert.deepEqual(
      outbox.map((o) => JSON.parse(o.payload).type),
      ['webhook.created', 'webhook.updated'],
    );
    assert.ok(!JSON.stringify([audit, outbox]).includes(w.secret.slice(6, 20)), 'the secret never reaches the audit trail or the events');
    assert.equal((await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${w.id}` })).statusCode, 204);
    const gone = await app.inject(`/api/v1/webhooks/${w.id}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error.code, 'NOT_FOUND');
  });

  it('refuses a URL that is not http(s), carries credentials or is no URL, an unknown event type and a malformed secret; nothing is stored', async () => {
    const before = [await count('webhooks'), await count('audit_events')];
    const cases: [object, RegExp][] = [
      [{ url: 'ftp://example.com/hook' }, /must be http or https, not ftp/],
      [{ url: 'javascript:alert(1)' }, /must be http or https, not javascript/],
      [{ url: 'file:///etc/passwd' }, /must be http or https, not file/],
      [{ url: 'https://user:pw@example.com/hook' }, /must not carry credentials/],
      [{ url: 'example.com/hook' }, /is not a URL/],
      [{ url: 'https://example.com/hook', events: ['alias.moves'] }, /unknown event type "alias\.moves"/],
      [{ url: 'https://example.com/hook', events: ['nothing.*'] }, /unknown event type "nothing\.\*"/],
      [{ url: 'https://example.com/hook', secret: 'hunter2' }, /secret must be whsec_/],
      [{ url: 'https://example.com/hook', secret: 'whsec_c2hvcnQ=' }, /24 to 64 bytes/],
    ];
    for (const [body, message] of cases) {
      const res = await post('/webhooks', body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
      assert.match(res.json().error.message, message);
    }
    const extra = await post('/webhooks', { url: 'https://example.com/hook', colour: 'red' });
    assert.equal(extra.statusCode, 400);
    const w = (await post('/webhooks', { url: 'https://example.com/hook' })).json();
    const bad = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${w.id}`, payload: { url: 'gopher://example.com' } });
    assert.equal(bad.statusCode, 400);
    assert.equal((await app.inject(`/api/v1/webhooks/${w.id}`)).json().url, 'https://example.com/hook');
    assert.deepEqual([await count('webhooks'), await count('audit_events')], [before[0]! + 1, before[1]! + 1]);
    await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${w.id}` });
    assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/webhooks/wh_nope', payload: {} })).statusCode, 404);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/webhooks/wh_nope' })).statusCode, 404);
  });

  it('a test send is refused for a loopback receiver unless private targets are allowed, then arrives signed', async () => {
    const w = (await post('/webhooks', { url: `${rx.url}/test` })).json();
    rx.expect('/test', w.secret);
    const refused = await post(`/webhooks/${w.id}/test`);
    assert.equal(refused.statusCode, 200);
    assert.equal(refused.json().success, false);
    assert.match(refused.json().error, /refused 127\.0\.0\.1.*BERTH_WEBHOOK_ALLOW_PRIVATE=1/);
    assert.equal(rx.on('/test').length, 0);
    t.registry.deps.config = { ...DEFAULT_REGISTRY_CONFIG, webhookAllowPrivate: true };
    try {
      const ok = await post(`/webhooks/${w.id}/test`);
      assert.deepEqual([ok.json().success, ok.json().status], [true, 200]);
      const [call] = rx.on('/test');
      assert.ok(call?.signed);
      assert.match(String(call?.headers['webhook-id']), /^evt_test_/);
      assert.equal(JSON.parse(call?.body ?? '{}').type, 'webhook.test');
      rx.answer('/test', [500]);
      const failing = (await post(`/webhooks/${w.id}/test`)).json();
      assert.deepEqual([failing.success, failing.status], [false, 500]);
    } finally {
      t.registry.deps.config = DEFAULT_REGISTRY_CONFIG;
      await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${w.id}` });
    }
  });

  it('lists deliveries by state, shows one with its attempts, and replays it', async () => {
    const w = (await post('/webhooks', { url: `${rx.url}/log`, events: ['alias.moved'] })).json();
    rx.expect('/log', w.secret);
    rx.answer('/log', [500, 500]);
    const sha = createHash('sha256').update('x').digest('hex');
    await app.inject({ method: 'PUT', url: `/api/v1/blobs/${sha}`, payload: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } });
    for (let i = 0; i < 2; i++) await post('/models/hooked/versions', { files: [{ path: 'x', size: 1, sha256: sha }] });
    await app.inject({ method: 'PUT', url: '/api/v1/models/hooked/aliases/staging', payload: { version: 1 } });
    await app.inject({ method: 'PUT', url: '/api/v1/models/hooked/aliases/staging', payload: { version: 2 } });
    const d = new WebhookDispatcher({ store: t.store, allowPrivate: true, maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, pollMs: 20 });
    d.start();
    try {
      await rx.waitFor(() => rx.on('/log').length >= 3);
      await d.drain();
      const all = (await app.inject(`/api/v1/webhooks/${w.id}/deliveries`)).json();
      assert.deepEqual(
        all.items.map((x: { state: string }) => x.state),
        ['delivered', 'failed'],
      );
      const failed = (await app.inject(`/api/v1/webhooks/${w.id}/deliveries?state=failed`)).json().items;
      assert.equal(failed.length, 1);
      assert.deepEqual([failed[0].attempts, failed[0].last_status, failed[0].event_type, failed[0].webhook], [2, 500, 'alias.moved', w.id]);
      const detail = (await app.inject(`/api/v1/deliveries/${failed[0].id}`)).json();
      assert.deepEqual(
        detail.attempts_log.map((a: { status: number }) => a.status),
        [500, 500],
      );
      const replay = await post(`/deliveries/${failed[0].id}/replay`);
      assert.equal(replay.statusCode, 201, replay.body);
      assert.match(replay.json().id, /^dlv_/);
      assert.equal(replay.json().event_seq, failed[0].event_seq);
      await rx.waitFor(() => rx.on('/log').length >= 4);
      await d.drain();
      assert.equal(rx.on('/log')[3]?.headers['webhook-id'], `evt_${failed[0].event_seq}`);
      assert.equal((await app.inject(`/api/v1/deliveries/${replay.json().id}`)).json().state, 'delivered');
      const badState = await app.inject(`/api/v1/webhooks/${w.id}/deliveries?state=lost`);
      assert.equal(badState.statusCode, 400);
      assert.match(badState.json().error.message, /state must be pending, delivered or failed/);
      assert.equal((await app.inject('/api/v1/deliveries/dlv_nope')).statusCode, 404);
      assert.equal((await post('/deliveries/dlv_nope/replay')).statusCode, 404);
      assert.equal((await app.inject('/api/v1/webhooks/wh_nope/deliveries')).statusCode, 404);
    } finally {
      await d.stop();
    }
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await app.inject('/api/v1/openapi.json')).json();
    for (const p of ['/webhooks', '/webhooks/{id}', '/webhooks/{id}/deliveries', '/webhooks/{id}/test', '/deliveries/{id}', '/deliveries/{id}/replay'])
      assert.ok(doc.paths[`/api/v1${p}`] ?? doc.paths[p], `${p} in OpenAPI`);
  });
});
