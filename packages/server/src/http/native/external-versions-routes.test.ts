import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { mlflowCaller, openTestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';
import type { Registry } from '../../registry/registry.js';

const HI = createHash('sha256').update('hi').digest('hex');

/** External versions (decision 0021) as both fronts answer them. */
describe('external version routes', () => {
  let app: FastifyInstance;
  let closeApp: () => Promise<void>;
  let registry: Registry;
  const mlflow = mlflowCaller(() => app);

  before(async () => {
    const t = await openTestApp('berth-external-');
    app = t.app;
    registry = t.registry;
    closeApp = t.close;
  });
  after(async () => closeApp?.());

  const count = async (name: string) => (await app.inject({ method: 'GET', url: `/api/v1/models/${name}/versions` })).json().items.length;

  it('registers an external version through the native API and marks it content_addressed false in every read', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/models/ext-native/versions',
      payload: { files: [], external_uri: 'gs://bucket/m', metadata: { mlflow: { version: '4' } } },
    });
    assert.equal(res.statusCode, 201, res.body);
    const v = res.json();
    assert.deepEqual([v.content_addressed, v.external_uri, v.source, v.file_count, v.status], [false, 'gs://bucket/m', 'gs://bucket/m', 0, 'READY']);
    const got = (await app.inject({ method: 'GET', url: '/api/v1/models/ext-native/versions/1' })).json();
    assert.deepEqual([got.content_addressed, got.external_uri, got.files], [false, 'gs://bucket/m', []]);
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/models/ext-native/versions' })).json().items;
    assert.deepEqual(
      listed.map((x: { content_addressed: boolean; external_uri: string | null }) => [x.content_addressed, x.external_uri]),
      [[false, 'gs://bucket/m']],
    );
  });

  it('answers content_addressed true and external_uri null for a version with files', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/models/plain/versions',
      payload: {
        files: [{ path: 'a.txt', size: 2, sha256: HI }],
        blobs: [{ sha256: HI, base64: Buffer.from('hi').toString('base64') }],
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual([res.json().content_addressed, res.json().external_uri], [true, null]);
  });

  it('refuses bad external versions with a 4xx naming the field, storing nothing', async () => {
    const bad: [Record<string, unknown>, number, RegExp][] = [
      [{ files: [], external_uri: 'ftp://h/m' }, 400, /not in an external store/],
      [{ files: [{ path: 'w', size: 1, sha256: 'a'.repeat(64) }], external_uri: 's3://b/m' }, 400, /holds no files/],
      [{ files: [], external_uri: 'https://u:p@h/m' }, 400, /credentials/],
      [{ files: [], external_uri: 's3://b/m', tags: { 'berth.content_addressed': 'yes' } }, 400, /set by the server/],
    ];
    for (const [payload, status, message] of bad) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/models/ext-native/versions', payload });
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
      assert.match(res.json().error.message, message);
    }
    assert.equal(await count('ext-native'), 1);
    const prompt = await app.inject({
      method: 'POST',
      url: '/api/v1/models/ext-prompt/versions',
      payload: { files: [], external_uri: 's3://b/m', kind: 'prompt' },
    });
    assert.equal(prompt.statusCode, 400, prompt.body);
    assert.match(prompt.json().error.message, /ext-prompt is of kind prompt: only a model of kind model takes an external version/);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/models/ext-prompt' })).statusCode, 404);
  });

  it('refuses a bundle on an external base and a promotion of one with 412 and the reason', async () => {
    const bundle = await app.inject({ method: 'POST', url: '/api/v1/models/ext-bundle/bundles', payload: { base: 'ext-native:1' } });
    assert.equal(bundle.statusCode, 412, bundle.body);
    assert.match(bundle.json().error.message, /ext-native:1 is an external version \(its files stay at gs:\/\/bucket\/m; .*a bundle cannot pin it as its base/);
    assert.equal(bundle.json().error.details.content_addressed, false);
    assert.equal(
      (await app.inject({ method: 'PUT', url: '/api/v1/policies/open', payload: { yaml: 'policy: open\ntarget_alias: champion\ngates: []\n' } })).statusCode <
        300,
      true,
    );
    const promo = await app.inject({ method: 'POST', url: '/api/v1/models/ext-native/promotions', payload: { version: 1, policy: 'open' } });
    assert.equal(promo.statusCode, 412, promo.body);
    assert.match(promo.json().error.message, /no promotion can put it behind an alias under gates/);
  });

  it('answers RevisionNotFound on the Hub front for a revision naming an external version, and main skips it', async () => {
    await registry.versions.create(localActor(), 'team/ext-hub', { files: [], external_uri: 'gs://bucket/m' });
    await registry.aliases.set(localActor(), 'team/ext-hub', 'remote', { version: 1 });
    const res = await app.inject({ method: 'GET', url: '/api/models/team/ext-hub/revision/remote' });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.headers['x-error-code'], 'RevisionNotFound');
    assert.match(res.body, /external version 1 \(its files stay at gs:\/\/bucket\/m\)/);
    const main = await app.inject({ method: 'GET', url: '/api/models/team/ext-hub/revision/main' });
    assert.equal(main.statusCode, 404, main.body);
    assert.equal(main.headers['x-error-code'], 'RevisionNotFound', 'main is the latest version the front can serve: there is none');
  });

  it('registers an MLflow source in an object store as an external version, marked by a tag and the status message', async () => {
    assert.equal((await mlflow('POST', '/registered-models/create', { name: 'ext-mlflow' })).status, 200);
    const c = await mlflow('POST', '/model-versions/create', { name: 'ext-mlflow', source: 's3://bucket/model', run_id: '' });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const mv = c.body.model_version;
    assert.deepEqual([mv.version, mv.source, mv.status], ['1', 's3://bucket/model', 'READY']);
    assert.deepEqual(mv.tags, [{ key: 'berth.content_addressed', value: 'false' }]);
    assert.match(mv.status_message, /^external: not content-addressed, Berth holds no files of it; its bytes stay at s3:\/\/bucket\/model$/);
    const got = await mlflow('GET', '/model-versions/get', { name: 'ext-mlflow', version: '1' });
    assert.deepEqual([got.body.model_version.tags, got.body.model_version.status_message], [mv.tags, mv.status_message]);
    const uri = await mlflow('GET', '/model-versions/get-download-uri', { name: 'ext-mlflow', version: '1' });
    assert.deepEqual(uri.body, { artifact_uri: 's3://bucket/model' });
    const native = (await app.inject({ method: 'GET', url: '/api/v1/models/ext-mlflow/versions/1' })).json();
    assert.deepEqual([native.content_addressed, native.external_uri], [false, 's3://bucket/model']);
  });

  it('keeps the server tag out of MLflow hands and leaves other versions untagged', async () => {
    const set = await mlflow('POST', '/model-versions/set-tag', { name: 'ext-mlflow', version: '1', key: 'berth.content_addressed', value: 'true' });
    assert.deepEqual([set.status, set.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(set.body.message, /set by the server/);
    const created = await mlflow('POST', '/model-versions/create', {
      name: 'ext-mlflow',
      source: 's3://bucket/model',
      tags: [{ key: 'berth.content_addressed', value: 'true' }],
    });
    assert.deepEqual([created.status, created.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const bad = await mlflow('POST', '/model-versions/create', { name: 'ext-mlflow', source: 'file:///tmp/model' });
    assert.deepEqual([bad.status, bad.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(bad.body.message, /Unsupported source/);
    assert.equal(await count('ext-mlflow'), 1);
    const plain = await mlflow('GET', '/model-versions/get', { name: 'plain', version: '1' });
    assert.equal(plain.body.model_version.status_message, undefined);
    assert.equal(plain.body.model_version.tags, undefined);
  });
});
