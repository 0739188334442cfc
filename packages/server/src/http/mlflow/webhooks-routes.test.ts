import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mlflowCaller, openTestApp, type TestApp } from '../../../test-support/app.js';
import { WebhookReceiver } from '../../../test-support/webhook-receiver.js';
import { WebhookDispatcher } from '../../webhooks/dispatcher.js';

describe('MLflow webhooks front', () => {
  let t: TestApp;
  let rx: WebhookReceiver;
  const call = mlflowCaller(() => t.app);

  before(async () => {
    t = await openTestApp('berth-mlflow-webhooks-');
    rx = await WebhookReceiver.start();
  });
  after(async () => {
    await rx.close();
    await t.close();
  });

  it('creates, pages through, and refuses what MLflow refuses, in MLflow’s error shape', async () => {
    const events = [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }];
    const ids: string[] = [];
    for (const n of ['a', 'b']) {
      const r = await call('POST', '/webhooks', { name: n, url: `https://example.com/${n}`, events });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.webhook.name, r.body.webhook.status, r.body.webhook.events], [n, 'ACTIVE', events]);
      assert.equal(r.body.webhook.secret, undefined);
      ids.push(r.body.webhook.webhook_id);
    }
    const first = await call('GET', '/webhooks', { max_results: '1' });
    assert.equal(first.body.webhooks.length, 1);
    const second = await call('GET', '/webhooks', { max_results: '1', page_token: first.body.next_page_token });
    assert.deepEqual([...first.body.webhooks, ...second.body.webhooks].map((w: { webhook_id: string }) => w.webhook_id).sort(), ids.sort());
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', url: 'https://example.com', events: [] }, /events cannot be empty/],
      [{ name: 'x', url: 'https://example.com', events: [{ entity: 'PROMPT_ALIAS', action: 'CREATED' }] }, /does not send webhook event PROMPT_ALIAS\/CREATED/],
      [{ name: 'x', url: 'https://example.com', events, status: 'PAUSED' }, /status/],
      [{ url: 'https://example.com', events }, /name/],
      [{ name: 'x', url: 'gopher://example.com', events }, /must be http or https/],
    ];
    for (const [args, message] of bad) {
      const r = await call('POST', '/webhooks', args);
      assert.equal(r.status, 400, JSON.stringify(args));
      assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(r.body.message, message);
    }
    for (const [method, path] of [
      ['GET', '/webhooks/wh_nope'],
      ['PATCH', '/webhooks/wh_nope'],
      ['DELETE', '/webhooks/wh_nope'],
      ['POST', '/webhooks/wh_nope/test'],
    ] as const) {
      const r = await call(method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    }
    for (const id of ids) assert.equal((await call('DELETE', `/webhooks/${id}`)).status, 200);
  });

  it('delivers an alias move to a webhook made here in MLflow’s format, signed as MLflow signs', async () => {
    const secret = 'plain text secret';
    const r = await call('POST', '/webhooks', {
      name: 'deploy',
      url: `${rx.url}/mlflow`,
      secret,
      events: [{ entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await call('POST', '/registered-models/create', { name: 'mm' });
    const reg = t.registry;
    const { createHash } = await import('node:crypto');
    const { Readable } = await import('node:stream');
    const { localActor } = await import('../../registry/actor.js');
    const h = createHash('sha256').update('m').digest('hex');
    await reg.blobs.put(localActor(), h, Readable.from([Buffer.from('m')]));
    await reg.versions.create(localActor(), 'mm', { files: [{ path: 'm', size: 1, sha256: h }] });
    await call('POST', '/registered-models/alias', { name: 'mm', alias: 'prod', version: '1' });
    const d = new WebhookDispatcher({ store: t.store, allowPrivate: true, pollMs: 20 });
    d.start();
    try {
      await rx.waitFor(() => rx.on('/mlflow').length >= 1);
    } finally {
      await d.stop();
    }
    // Only the subscribed alias event: not the model or version creation.
    assert.equal(rx.on('/mlflow').length, 1);
    const [c] = rx.on('/mlflow');
    const id = String(c?.headers['x-mlflow-delivery-id']);
    const ts = String(c?.headers['x-mlflow-timestamp']);
    assert.match(id, /^evt_\d+$/);
    const want = `v1,${createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${id}.${ts}.${c?.body}`).digest('base64')}`;
    assert.equal(c?.headers['x-mlflow-signature'], want);
    const body = JSON.parse(c?.body ?? '{}');
    assert.deepEqual([body.entity, body.action, body.data], ['model_version_alias', 'created', { name: 'mm', alias: 'prod', version: '1' }]);
  });
});
