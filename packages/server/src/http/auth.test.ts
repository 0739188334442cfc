import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { openTestApp, type TestApp } from '../../test-support/app.js';
import { localActor } from '../registry/actor.js';
import { FakeClock } from '../../test-support/expect.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (token: string, user = 'anyone') => ({ authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` });
const inline = (c: string) => ({
  files: [{ path: 'w.bin', size: Buffer.byteLength(c), sha256: createHash('sha256').update(c).digest('hex') }],
  blobs: [{ sha256: createHash('sha256').update(c).digest('hex'), base64: Buffer.from(c).toString('base64') }],
});

describe('authentication and roles over HTTP', () => {
  const clock = new FakeClock();
  let t: TestApp;
  const tokens: Record<string, string> = {};
  const inject = (opts: InjectOptions) => t.app.inject(opts);

  async function aliasOf(model: string, alias: string): Promise<number | undefined> {
    return (await t.registry.models.get(model)).aliases[alias];
  }

  before(async () => {
    t = await openTestApp('berth-auth-', { clock, auth: true });
    const local = localActor();
    for (const [name, role, models] of [
      ['root', 'admin', undefined],
      ['ci-bot', 'editor', ['chatbot*']],
      ['reader', 'viewer', undefined],
      ['releaser', 'approver', undefined],
    ] as const) {
      tokens[name] = (await t.registry.tokens.create(local, { name, role, ...(models ? { models: [...models] } : {}) })).token;
    }
    for (const model of ['chatbot', 'other']) {
      for (const c of ['v1', 'v2']) {
        const r = await inject({
          method: 'POST',
          url: `/api/v1/models/${model}/versions`,
          headers: bearer(tokens.root as string),
          payload: inline(`${model}${c}`),
        });
        assert.equal(r.statusCode, 201, r.body);
      }
      await t.registry.aliases.set(local, model, 'staging', { version: 1 });
    }
  });
  after(async () => t?.close());

  it('answers 401 UNAUTHENTICATED with a Bearer challenge to a request without a token, on every front, but not on /healthz', async () => {
    const r = await inject({ method: 'GET', url: '/api/v1/models' });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().error.code, 'UNAUTHENTICATED');
    assert.match(r.json().error.message, /requires a token/);
    assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    const m = await inject({ method: 'GET', url: '/api/2.0/mlflow/registered-models/get?name=chatbot' });
    assert.equal(m.statusCode, 401);
    assert.equal(m.json().error_code, 'UNAUTHENTICATED');
    assert.equal(typeof m.json().message, 'string');
    const a = await inject({ method: 'GET', url: '/api/2.0/mlflow-artifacts/artifacts/x' });
    assert.equal(a.statusCode, 401);
    assert.equal(a.json().error_code, 'UNAUTHENTICATED');
    const w = await inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/staging', payload: { version: 2 } });
    assert.equal(w.statusCode, 401);
    assert.equal(await aliasOf('chatbot', 'staging'), 1);
    assert.equal((await inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  it('lets a viewer read but answers 403 to its writes, on both fronts, moving nothing', async () => {
    const h = bearer(tokens.reader as string);
    assert.equal((await inject({ method: 'GET', url: '/api/v1/models/chatbot', headers: h })).statusCode, 200);
    const r = await inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/staging', headers: h, payload: { version: 2 } });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().error.code, 'PERMISSION_DENIED');
    assert.match(r.json().error.message, /editor role; reader does not have it/);
    const m = await inject({
      method: 'POST',
      url: '/api/2.0/mlflow/registered-models/set-tag',
      headers: { ...h, 'content-type': 'application/json' },
      payload: { name: 'chatbot', key: 'team', value: 'x' },
    });
    assert.equal(m.statusCode, 403);
    assert.equal(m.json().error_code, 'PERMISSION_DENIED');
    const vt = await inject({
      method: 'POST',
      url: '/api/2.0/mlflow/model-versions/set-tag',
      headers: { ...h, 'content-type': 'application/json' },
      payload: { name: 'chatbot', version: '1', key: 'k', value: 'v' },
    });
    assert.equal(vt.statusCode, 403);
    const del = await inject({ method: 'DELETE', url: '/api/v1/models/other/versions/2', headers: h });
    assert.equal(del.statusCode, 403);
    assert.equal(await aliasOf('chatbot', 'staging'), 1);
    const model = await t.registry.models.get('chatbot');
    assert.deepEqual(model.tags, {});
    assert.equal(model.version_count, 2);
    assert.deepEqual((await t.registry.versions.get('chatbot', 1)).tags, {});
  });

  it('holds a scoped token to its models: 403 outside its patterns, nothing moved; its writes within are audited under its name', async () => {
    const h = bearer(tokens['ci-bot'] as string);
    const out = await inject({ method: 'PUT', url: '/api/v1/models/other/aliases/staging', headers: h, payload: { version: 2 } });
    assert.equal(out.statusCode, 403);
    assert.match(out.json().error.message, /outside the models ci-bot may change \(chatbot\*\)/);
    assert.equal(await aliasOf('other', 'staging'), 1);
    const push = await inject({ method: 'POST', url: '/api/v1/models/other-new/versions', headers: h, payload: inline('scoped') });
    assert.equal(push.statusCode, 403);
    assert.equal((await inject({ method: 'GET', url: '/api/v1/models/other-new', headers: h })).statusCode, 404);
    const rename = await inject({ method: 'PATCH', url: '/api/v1/models/chatbot', headers: h, payload: { new_name: 'renamed' } });
    assert.equal(rename.statusCode, 403, 'a scoped token cannot rename a model out of its patterns');
    const ok = await inject({
      method: 'PUT',
      url: '/api/v1/models/chatbot/aliases/staging',
      headers: { ...h, 'x-berth-actor': 'someone-else' },
      payload: { version: 2, reason: 'ci' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().updated_by, 'ci-bot');
    const audit = await inject({ method: 'GET', url: '/api/v1/audit?model=chatbot', headers: h });
    const last = audit.json().items.at(-1);
    assert.equal(last.action, 'alias.set');
    assert.equal(last.actor, 'ci-bot', 'the audit actor is the token name, whatever x-berth-actor says');
    const [event] = (await t.store.read.events.after(last.seq - 1, 1)).map((e) => e.event);
    assert.equal(event?.actor, 'ci-bot');
  });

  it('refuses a protected alias move to an editor and lets an approver make it', async () => {
    const r = await inject({
      method: 'PUT',
      url: '/api/v1/models/chatbot/aliases/champion',
      headers: bearer(tokens['ci-bot'] as string),
      payload: { version: 2 },
    });
    assert.equal(r.statusCode, 403);
    assert.equal(await aliasOf('chatbot', 'champion'), undefined);
    const ok = await inject({
      method: 'PUT',
      url: '/api/v1/models/chatbot/aliases/champion',
      headers: bearer(tokens.releaser as string),
      payload: { version: 2 },
    });
    assert.equal(ok.statusCode, 200);
  });

  it('answers 401 to a forged token sharing a prefix with a real one, to garbage, and to an unknown scheme', async () => {
    const real = tokens.root as string;
    for (const forged of [`${real.slice(0, -1)}${real.endsWith('a') ? 'b' : 'a'}`, real.slice(0, 10), `${real}x`, 'hf_']) {
      const r = await inject({ method: 'GET', url: '/api/v1/models', headers: bearer(forged) });
      assert.equal(r.statusCode, 401, forged);
      assert.ok(!r.body.includes(real.slice(3, 20)), 'the answer never echoes a token');
    }
    const digest = await inject({ method: 'GET', url: '/api/v1/models', headers: { authorization: `Token ${real}` } });
    assert.equal(digest.statusCode, 401);
    assert.match(digest.json().error.message, /Bearer <token>/);
  });

  it('takes the token as the Basic password (any user name) on the MLflow front', async () => {
    const r = await inject({ method: 'GET', url: '/api/2.0/mlflow/registered-models/get?name=chatbot', headers: basic(tokens.reader as string) });
    assert.equal(r.statusCode, 200, r.body);
    const w = await inject({
      method: 'POST',
      url: '/api/2.0/mlflow/registered-models/alias',
      headers: { ...basic(tokens.reader as string), 'content-type': 'application/json' },
      payload: { name: 'chatbot', alias: 'staging', version: '1' },
    });
    assert.equal(w.statusCode, 403);
    assert.equal(w.json().error_code, 'PERMISSION_DENIED');
    const bad = await inject({ method: 'GET', url: '/api/2.0/mlflow/registered-models/get?name=chatbot', headers: basic('not-a-token') });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().error_code, 'UNAUTHENTICATED');
    const edit = await inject({
      method: 'POST',
      url: '/api/2.0/mlflow/registered-models/set-tag',
      headers: { ...basic(tokens['ci-bot'] as string, 'ci'), 'content-type': 'application/json' },
      payload: { name: 'chatbot', key: 'team', value: 'nlp' },
    });
    assert.equal(edit.statusCode, 200, edit.body);
    assert.deepEqual((await t.registry.models.get('chatbot')).tags, { team: 'nlp' });
  });

  it('takes the parts of an MLflow multipart upload without a token: the upload id made by an editor authorises them', async () => {
    const url = '/api/2.0/mlflow-artifacts/mpu/create/1/runs/r/artifacts/big.bin';
    const anon = await inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: { path: 'big.bin', num_parts: 1 } });
    assert.equal(anon.statusCode, 401);
    const created = await inject({
      method: 'POST',
      url,
      headers: { ...bearer(tokens['ci-bot'] as string), 'content-type': 'application/json' },
      payload: { path: 'big.bin', num_parts: 1 },
    });
    assert.equal(created.statusCode, 200, created.body);
    const part = new URL(created.json().credentials[0].url);
    const put = await inject({ method: 'PUT', url: part.pathname, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('part one') });
    assert.equal(put.statusCode, 200, put.body);
    assert.ok(put.headers.etag);
    const forged = await inject({
      method: 'PUT',
      url: part.pathname.replace(/\/part\/[0-9a-f]+\//, `/part/${'0'.repeat(40)}/`),
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from('x'),
    });
    assert.equal(forged.statusCode, 404, 'an upload id nobody created authorises nothing');
  });

  it('answers 401 to a revoked token at once, and to an expired one', async () => {
    const local = localActor();
    const { token } = await t.registry.tokens.create(local, { name: 'soon-gone', role: 'viewer' });
    assert.equal((await inject({ method: 'GET', url: '/api/v1/models', headers: bearer(token) })).statusCode, 200);
    const rev = await inject({ method: 'DELETE', url: '/api/v1/tokens/soon-gone', headers: bearer(tokens.root as string) });
    assert.equal(rev.statusCode, 200);
    assert.notEqual(rev.json().revoked_at, null);
    const r = await inject({ method: 'GET', url: '/api/v1/models', headers: bearer(token) });
    assert.equal(r.statusCode, 401);
    assert.match(r.json().error.message, /unknown, revoked or expired/);
    const short = await t.registry.tokens.create(local, { name: 'hour', role: 'viewer', expires_in: '1h' });
    assert.equal((await inject({ method: 'GET', url: '/api/v1/models', headers: bearer(short.token) })).statusCode, 200);
    clock.t += 3_600_000;
    assert.equal((await inject({ method: 'GET', url: '/api/v1/models', headers: bearer(short.token) })).statusCode, 401);
    clock.t -= 3_600_000;
  });

  it('creates, lists and revokes tokens over /tokens as an admin only, never listing a secret', async () => {
    const root = bearer(tokens.root as string);
    const created = await inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: root,
      payload: { name: 'deployer', role: 'editor', models: ['team/*'], expires_in: '30d' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json();
    assert.match(body.token, /^hf_[0-9A-Za-z]{40}$/);
    assert.deepEqual(
      { ...body, token: undefined },
      {
        token: undefined,
        name: 'deployer',
        role: 'editor',
        models: ['team/*'],
        expires_at: new Date(clock.t + 30 * 86_400_000).toISOString(),
        created_by: 'root',
        created_at: new Date(clock.t).toISOString(),
      },
    );
    const me = await inject({ method: 'GET', url: '/api/v1/whoami', headers: bearer(body.token) });
    assert.deepEqual(me.json(), { name: 'deployer', roles: ['viewer', 'editor'], models: ['team/*'], via: 'api', authenticated: true });
    const list = await inject({ method: 'GET', url: '/api/v1/tokens', headers: root });
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes(body.token) && !list.body.includes('hash'));
    assert.equal(list.json().items.find((x: { name: string }) => x.name === 'deployer').revoked_at, null);
    for (const [payload, status, code] of [
      [{ name: 'deployer', role: 'viewer' }, 409, 'ALREADY_EXISTS'],
      [{ name: 'x', role: 'owner' }, 400, 'INVALID_ARGUMENT'],
      [{ name: 'x', role: 'viewer', secret: 'mine' }, 400, 'INVALID_ARGUMENT'],
      [{ name: 'x', role: 'viewer', expires_in: 'forever' }, 400, 'INVALID_ARGUMENT'],
    ] as const) {
      const r = await inject({ method: 'POST', url: '/api/v1/tokens', headers: root, payload });
      assert.equal(r.statusCode, status, r.body);
      assert.equal(r.json().error.code, code);
    }
    const ed = bearer(tokens['ci-bot'] as string);
    assert.equal((await inject({ method: 'POST', url: '/api/v1/tokens', headers: ed, payload: { name: 'mine', role: 'admin' } })).statusCode, 403);
    assert.equal((await inject({ method: 'GET', url: '/api/v1/tokens', headers: ed })).statusCode, 403);
    assert.equal((await inject({ method: 'DELETE', url: '/api/v1/tokens/deployer', headers: ed })).statusCode, 403);
    assert.equal((await inject({ method: 'DELETE', url: '/api/v1/tokens/nobody', headers: root })).statusCode, 404);
    const names = (await inject({ method: 'GET', url: '/api/v1/tokens', headers: root })).json().items.map((x: { name: string }) => x.name);
    assert.ok(!names.includes('mine') && !names.includes('x'));
  });
});

describe('authentication on a loopback server without --auth', () => {
  let t: TestApp;
  let viewer = '';
  before(async () => {
    t = await openTestApp('berth-auth-open-');
    viewer = (await t.registry.tokens.create(localActor(), { name: 'viewer-1', role: 'viewer' })).token;
  });
  after(async () => t?.close());

  it('takes a request without a token as the local user with every role', async () => {
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { 'x-berth-actor': 'ann' } });
    assert.deepEqual(me.json(), {
      name: 'self-declared:ann',
      roles: ['viewer', 'editor', 'approver', 'admin'],
      models: null,
      via: 'api',
      authenticated: false,
    });
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/models', payload: { name: 'm' } })).statusCode, 201);
  });

  it('holds a request with a token to that token, and answers 401 to a bad one instead of falling back to the local user', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/models', headers: bearer(viewer), payload: { name: 'n' } });
    assert.equal(r.statusCode, 403);
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/models', headers: bearer(`${viewer.slice(0, -2)}zz`), payload: { name: 'n' } });
    assert.equal(bad.statusCode, 401);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/models/n' })).statusCode, 404);
  });
});
