import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { MAX_JSON_DEPTH } from '@berth/core';
import { openTestApp } from '../../../test-support/app.js';
import type { Store } from '../../store/store.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

/** `{"a":{"a":…}}` nested `depth` objects deep, built as text: building it as an object and stringifying it would recurse too. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('native API: strict request shapes', () => {
  let app: FastifyInstance;
  let store: Store;
  let closeApp: () => Promise<void>;

  async function state() {
    const rows = async (t: 'models' | 'versions' | 'aliases' | 'audit_events') => store.db.selectFrom(t).selectAll().execute();
    return { models: await rows('models'), versions: await rows('versions'), aliases: await rows('aliases'), audit: await rows('audit_events') };
  }

  /** A 400 INVALID_ARGUMENT whose message matches, and nothing stored changed. */
  async function refused(opts: InjectOptions, match: RegExp) {
    const before = await state();
    const res = await app.inject(opts);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
    assert.match(res.json().error.message, match);
    assert.deepEqual(await state(), before, 'nothing changed');
  }

  before(async () => {
    const t = await openTestApp('berth-strict-');
    ({ app, store } = t);
    closeApp = t.close;
    for (const content of ['v1', 'v2']) {
      await app.inject({
        method: 'PUT',
        url: `/api/v1/blobs/${sha(content)}`,
        payload: Buffer.from(content),
        headers: { 'content-type': 'application/octet-stream' },
      });
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/models/chatbot/versions',
        payload: { files: [{ path: 'm.bin', size: 2, sha256: sha(content) }] },
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    assert.equal((await app.inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/staging', payload: { version: 2 } })).statusCode, 200);
  });
  after(async () => closeApp?.());

  it('refuses a boolean where a version number is expected instead of reading it as 1', async () => {
    await refused({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/staging', payload: { version: true } }, /version/);
    await refused({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/staging', payload: { version: '1' } }, /version/);
  });

  it('refuses a number where a name is expected instead of creating model "123"', async () => {
    await refused({ method: 'POST', url: '/api/v1/models', payload: { name: 123 } }, /name/);
    assert.equal((await app.inject('/api/v1/models/123')).statusCode, 404);
  });

  it('refuses a null file size instead of reading it as 0', async () => {
    await app.inject({ method: 'PUT', url: `/api/v1/blobs/${sha('')}`, payload: Buffer.alloc(0), headers: { 'content-type': 'application/octet-stream' } });
    const payload = { files: [{ path: 'empty.bin', size: null, sha256: sha('') }] };
    await refused({ method: 'POST', url: '/api/v1/models/chatbot/versions', payload }, /size/);
  });

  it('reads expect: null as "the alias must not be set yet", not as version 0', async () => {
    const made = await app.inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/fresh', payload: { version: 1, expect: null } });
    assert.equal(made.statusCode, 200, made.body);
    assert.equal(made.json().version, 1);
    const again = await app.inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/fresh', payload: { version: 2, expect: null } });
    assert.equal(again.statusCode, 409, again.body);
    assert.deepEqual([again.json().error.code, again.json().error.details.current], ['CONFLICT', 1]);
  });

  it('still reads numbers in query strings', async () => {
    const page = await app.inject('/api/v1/models/chatbot/versions?limit=1');
    assert.equal(page.statusCode, 200, page.body);
    assert.equal(page.json().items.length, 1);
  });

  it(`refuses metadata nested deeper than ${MAX_JSON_DEPTH} levels with a 400 naming the limit`, async () => {
    const payload = `{"metadata":${nested(4000)}}`;
    await refused(
      { method: 'PATCH', url: '/api/v1/models/chatbot/versions/1', payload, headers: { 'content-type': 'application/json' } },
      new RegExp(`${MAX_JSON_DEPTH} levels`),
    );
    const shallow = `{"metadata":${nested(MAX_JSON_DEPTH - 2)}}`;
    const ok = await app.inject({
      method: 'PATCH',
      url: '/api/v1/models/chatbot/versions/1',
      payload: shallow,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('refuses deep JSON on the MLflow front too, in its shape', async () => {
    const payload = `{"name":"x","tags":[{"key":"k","value":${nested(4000)}}]}`;
    const res = await app.inject({ method: 'POST', url: '/api/2.0/mlflow/registered-models/create', payload, headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(res.json().message, new RegExp(`${MAX_JSON_DEPTH} levels`));
  });
});
