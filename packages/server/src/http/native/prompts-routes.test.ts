import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

function inline(files: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    files: Object.entries(files).map(([path, c]) => ({ path, size: Buffer.byteLength(c), sha256: sha(c) })),
    blobs: Object.values(files).map((c) => ({ sha256: sha(c), base64: Buffer.from(c).toString('base64') })),
    ...extra,
  };
}

describe('POST /api/v1/models/{name}/versions/{ref}/render', () => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  const bearer = (name: string) => ({ authorization: `Bearer ${tokens[name]}` });
  const render = (path: string, payload: unknown, who = 'reader') =>
    t.app.inject({ method: 'POST', url: `/api/v1/models/${path}/render`, headers: bearer(who), payload: payload as InjectOptions['payload'] });

  before(async () => {
    t = await openTestApp('berth-prompt-routes-', { auth: true });
    for (const [name, role] of [
      ['root', 'admin'],
      ['reader', 'viewer'],
    ] as const) {
      tokens[name] = (await t.registry.tokens.create(localActor(), { name, role })).token;
    }
    const commit = async (model: string, body: Record<string, unknown>) => {
      const r = await t.app.inject({ method: 'POST', url: `/api/v1/models/${model}/versions`, headers: bearer('root'), payload: body });
      assert.equal(r.statusCode, 201, r.body);
      return r.json();
    };
    await commit('cs-system', inline({ 'prompt.txt': 'Hi {{customer_name}}, about {{product}}.', 'params.json': '{"temperature":0.2}' }, { kind: 'prompt' }));
    await commit('weights', inline({ 'w.bin': 'weights' }));
  });
  after(async () => t?.close());

  it('renders for a viewer, by version number or alias', async () => {
    const r = await render('cs-system/versions/1', { variables: { customer_name: 'Ana', product: 'router' } });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.equal(body.text, 'Hi Ana, about router.');
    assert.deepEqual(body.params, { temperature: 0.2 });
    assert.deepEqual(body.examples, []);
    assert.equal(body.format, 'text');
    assert.match(body.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal('messages' in body, false);
    const latest = await render('cs-system/versions/latest', { variables: { customer_name: 'Bo', product: 'modem' } });
    assert.equal(latest.json().version, 1);
  });

  it('answers 400 INVALID_ARGUMENT naming a missing or undeclared variable, a model of another kind, an unknown body field', async () => {
    const missing = await render('cs-system/versions/1', { variables: { customer_name: 'Ana' } });
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().error.code, 'INVALID_ARGUMENT');
    assert.match(missing.json().error.message, /missing prompt variable 'product'/);
    assert.deepEqual(missing.json().error.details.variables, ['product']);
    const undeclared = await render('cs-system/versions/1', { variables: { customer_name: 'Ana', product: 'x', tone: 'warm' } });
    assert.equal(undeclared.statusCode, 400);
    assert.match(undeclared.json().error.message, /undeclared prompt variable 'tone'/);
    const kind = await render('weights/versions/1', { variables: {} });
    assert.equal(kind.statusCode, 400);
    assert.match(kind.json().error.message, /weights is a model of kind model, not prompt/);
    const extra = await render('cs-system/versions/1', { variables: {}, vars: {} });
    assert.equal(extra.statusCode, 400);
    const notString = await render('cs-system/versions/1', { variables: { customer_name: 1 } });
    assert.equal(notString.statusCode, 400);
    const badRef = await render('cs-system/versions/0', {});
    assert.equal(badRef.statusCode, 400);
    assert.equal((await render('cs-system/versions/champion', {})).statusCode, 404);
  });

  it('needs a token like every read', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/models/cs-system/versions/1/render', payload: { variables: {} } });
    assert.equal(r.statusCode, 401);
  });
});
