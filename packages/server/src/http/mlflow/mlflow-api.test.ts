import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { mlflowCaller, openTestApp } from '../../../test-support/app.js';
import type { Registry } from '../../registry/registry.js';
import { localActor } from '../../registry/actor.js';

const P = '/api/2.0/mlflow';

describe('MLflow front: model registry', () => {
  let app: FastifyInstance;
  let closeApp: () => Promise<void>;
  let reg: Registry;

  const call = mlflowCaller(() => app);

  async function version(name: string, content: string) {
    const sha = createHash('sha256').update(content).digest('hex');
    await reg.blobs.put(localActor(), sha, Readable.from([Buffer.from(content)]));
    return reg.versions.create(localActor(), name, { files: [{ path: 'model.bin', size: content.length, sha256: sha }], source: `runs:/abc/model` });
  }

  before(async () => {
    const t = await openTestApp('berth-mlflow-');
    app = t.app;
    reg = t.registry;
    closeApp = t.close;
  });
  after(async () => closeApp?.());

  it('creates, gets and refuses a duplicate registered model with MLflow codes', async () => {
    const c = await call('POST', '/registered-models/create', {
      name: 'chatbot-lora-production',
      tags: [{ key: 'task', value: 'customer-support' }],
      description: 'first',
    });
    assert.equal(c.status, 200);
    assert.equal(c.body.registered_model.name, 'chatbot-lora-production');
    assert.deepEqual(c.body.registered_model.tags, [{ key: 'task', value: 'customer-support' }]);
    assert.equal(typeof c.body.registered_model.creation_timestamp, 'number');
    const dup = await call('POST', '/registered-models/create', { name: 'chatbot-lora-production' });
    assert.deepEqual([dup.status, dup.body.error_code], [400, 'RESOURCE_ALREADY_EXISTS']);
    const missing = await call('GET', '/registered-models/get', { name: 'ghost' });
    assert.deepEqual([missing.status, missing.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const bad = await call('POST', '/registered-models/create', { name: '-bad name' });
    assert.deepEqual([bad.status, bad.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const none = await call('POST', '/registered-models/create', {});
    assert.deepEqual([none.status, none.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(none.body.message, /Missing value for required parameter 'name'/);
  });

  it('sets, reads and deletes aliases; reserved names and unknown aliases are INVALID_PARAMETER_VALUE', async () => {
    await version('chatbot-lora-production', 'v1');
    await version('chatbot-lora-production', 'v2');
    assert.equal((await call('POST', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'champion', version: '1' })).status, 200);
    assert.equal((await call('POST', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'champion', version: '2' })).status, 200);
    const got = await call('GET', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'champion' });
    assert.equal(got.body.model_version.version, '2');
    assert.deepEqual(got.body.model_version.aliases, ['champion']);
    for (const alias of ['latest', 'LATEST', 'v3']) {
      const r = await call('POST', '/registered-models/alias', { name: 'chatbot-lora-production', alias, version: '1' });
      assert.deepEqual([r.status, r.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], alias);
    }
    const unknown = await call('GET', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'nope' });
    assert.deepEqual([unknown.status, unknown.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const latest = await call('GET', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'latest' });
    assert.equal(latest.body.model_version.version, '2');
    assert.equal(
      (await call('DELETE', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'never-set' })).status,
      200,
      'deleting an unset alias is silent',
    );
    // moves through MLflow are audited alias moves like native ones, with the API as the reason
    const hist = await reg.aliases.history('chatbot-lora-production', 'champion', {});
    assert.deepEqual(
      hist.items.map((h) => [h.from_version, h.to_version]),
      [
        [null, 1],
        [1, 2],
      ],
    );
    assert.match(hist.items[1]!.reason ?? '', /moved through the mlflow API/);
  });

  it('returns models with their aliases, tags and latest version per stage', async () => {
    await call('POST', '/registered-models/set-tag', { name: 'chatbot-lora-production', key: 'team', value: 'search' });
    await call('DELETE', '/registered-models/delete-tag', { name: 'chatbot-lora-production', key: 'task' });
    const m = (await call('GET', '/registered-models/get', { name: 'chatbot-lora-production' })).body.registered_model;
    assert.deepEqual(m.tags, [{ key: 'team', value: 'search' }]);
    assert.deepEqual(m.aliases, [{ alias: 'champion', version: '2' }]);
    assert.deepEqual(
      m.latest_versions.map((v: { version: string; current_stage: string }) => [v.version, v.current_stage]),
      [['2', 'None']],
    );
  });

  it('transitions stages, archiving the others when asked', async () => {
    let r = await call('POST', '/model-versions/transition-stage', {
      name: 'chatbot-lora-production',
      version: '1',
      stage: 'production',
      archive_existing_versions: false,
    });
    assert.equal(r.body.model_version.current_stage, 'Production');
    r = await call('POST', '/model-versions/transition-stage', {
      name: 'chatbot-lora-production',
      version: '2',
      stage: 'Production',
      archive_existing_versions: true,
    });
    assert.equal(r.body.model_version.current_stage, 'Production');
    assert.equal((await call('GET', '/model-versions/get', { name: 'chatbot-lora-production', version: '1' })).body.model_version.current_stage, 'Archived');
    const latest = await call('POST', '/registered-models/get-latest-versions', { name: 'chatbot-lora-production', stages: ['production'] });
    assert.deepEqual(
      latest.body.model_versions.map((v: { version: string }) => v.version),
      ['2'],
    );
    const bad = await call('POST', '/model-versions/transition-stage', { name: 'chatbot-lora-production', version: '1', stage: 'Shipping' });
    assert.deepEqual([bad.status, bad.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
  });

  it('edits version tags and descriptions and reads versions as strings', async () => {
    await call('POST', '/model-versions/set-tag', { name: 'chatbot-lora-production', version: '1', key: 'reviewed', value: 'yes' });
    const u = await call('PATCH', '/model-versions/update', { name: 'chatbot-lora-production', version: '01', description: 'kept' });
    assert.equal(u.body.model_version.version, '1');
    assert.equal(u.body.model_version.description, 'kept');
    assert.deepEqual(u.body.model_version.tags, [{ key: 'reviewed', value: 'yes' }]);
    const bad = await call('GET', '/model-versions/get', { name: 'chatbot-lora-production', version: 'one' });
    assert.deepEqual([bad.status, bad.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const gone = await call('GET', '/model-versions/get', { name: 'chatbot-lora-production', version: '9' });
    assert.deepEqual([gone.status, gone.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
  });

  it('refuses to delete a version a protected alias holds, naming the alias, and changes nothing', async () => {
    await call('POST', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'candidate', version: '2' });
    const d = await call('DELETE', '/model-versions/delete', { name: 'chatbot-lora-production', version: '2' });
    assert.deepEqual([d.status, d.body.error_code], [409, 'RESOURCE_CONFLICT']);
    assert.match(d.body.message, /@champion/);
    assert.doesNotMatch(d.body.message, /candidate/, 'only the protected alias stops the delete');
    const m = (await call('GET', '/registered-models/get', { name: 'chatbot-lora-production' })).body.registered_model;
    assert.deepEqual(m.aliases, [
      { alias: 'candidate', version: '2' },
      { alias: 'champion', version: '2' },
    ]);
  });

  it('deletes a version together with its ordinary aliases, audited, and never reuses its number', async () => {
    assert.equal((await call('DELETE', '/registered-models/alias', { name: 'chatbot-lora-production', alias: 'champion' })).status, 200);
    const d = await call('DELETE', '/model-versions/delete', { name: 'chatbot-lora-production', version: '2' });
    assert.equal(d.status, 200);
    const m = (await call('GET', '/registered-models/get', { name: 'chatbot-lora-production' })).body.registered_model;
    assert.equal(m.aliases, undefined, 'no dangling alias');
    const hist = await reg.aliases.history('chatbot-lora-production', 'candidate', {});
    assert.equal(hist.items.at(-1)?.action, 'alias.delete');
    assert.equal(hist.items.at(-1)?.reason, 'version 2 deleted');
    assert.equal((await version('chatbot-lora-production', 'v3')).version, 3);
  });

  it('renames a model and its history follows it', async () => {
    const r = await call('POST', '/registered-models/rename', { name: 'chatbot-lora-production', new_name: 'chatbot-prod' });
    assert.equal(r.body.registered_model.name, 'chatbot-prod');
    assert.equal((await reg.aliases.history('chatbot-prod', 'champion', {})).items.length, 3);
    const clash = await call('POST', '/registered-models/create', { name: 'other' });
    assert.equal(clash.status, 200);
    const taken = await call('POST', '/registered-models/rename', { name: 'chatbot-prod', new_name: 'other' });
    assert.deepEqual([taken.status, taken.body.error_code], [400, 'RESOURCE_ALREADY_EXISTS']);
  });

  it('refuses to delete a registered model holding a protected alias, naming it', async () => {
    await call('POST', '/registered-models/create', { name: 'guarded' });
    await version('guarded', 'g1');
    await call('POST', '/registered-models/alias', { name: 'guarded', alias: 'champion', version: '1' });
    const d = await call('DELETE', '/registered-models/delete', { name: 'guarded' });
    assert.deepEqual([d.status, d.body.error_code], [409, 'RESOURCE_CONFLICT']);
    assert.match(d.body.message, /@champion/);
    assert.equal((await call('GET', '/model-versions/get', { name: 'guarded', version: '1' })).status, 200, 'nothing was deleted');
    await call('DELETE', '/registered-models/alias', { name: 'guarded', alias: 'champion' });
    await call('POST', '/registered-models/alias', { name: 'guarded', alias: 'candidate', version: '1' });
    assert.equal((await call('DELETE', '/registered-models/delete', { name: 'guarded' })).status, 200, 'ordinary aliases go with the model');
  });

  it('takes DELETE arguments from a JSON body, reads empty bodies as {} and answers unknown endpoints', async () => {
    assert.equal((await call('DELETE', '/registered-models/delete', { name: 'other' })).status, 200);
    assert.equal((await call('GET', '/registered-models/get', { name: 'other' })).status, 404);
    const empty = await app.inject({ method: 'POST', url: `${P}/registered-models/create`, payload: '', headers: { 'content-type': 'application/json' } });
    assert.deepEqual([empty.statusCode, empty.json().error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const nope = await app.inject({ method: 'GET', url: `${P}/no/such/endpoint` });
    assert.deepEqual([nope.statusCode, nope.json().error_code], [404, 'ENDPOINT_NOT_FOUND']);
    const ajax = await app.inject({ method: 'GET', url: '/ajax-api/2.0/mlflow/registered-models/get?name=chatbot-prod' });
    assert.equal(ajax.statusCode, 200);
  });

  it('reads numbers and booleans sent as strings and ignores fields it does not know', async () => {
    const made = await call('POST', '/registered-models/create', {
      name: 'lenient',
      description: 'd',
      colour: 'blue',
      tags: [{ key: 'a', value: 'b', extra: 1 }],
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    await version('lenient', 'l1');
    const page = await call('GET', '/registered-models/search', { max_results: '1', filter: "name = 'lenient'" });
    assert.deepEqual(
      page.body.registered_models.map((m: { name: string }) => m.name),
      ['lenient'],
    );
    const moved = await call('POST', '/model-versions/transition-stage', {
      name: 'lenient',
      version: '1',
      stage: 'Staging',
      archive_existing_versions: 'true',
    });
    assert.equal(moved.body.model_version.current_stage, 'Staging');
  });

  it('answers arguments the schema refuses with INVALID_PARAMETER_VALUE and a message naming the parameter', async () => {
    const cases: [string, 'GET' | 'POST', Record<string, unknown>, string][] = [
      ['/registered-models/create', 'POST', { name: 7 }, "Missing value for required parameter 'name'."],
      ['/registered-models/create', 'POST', { name: 'x', description: 3 }, "Invalid value 3 for parameter 'description' supplied: it must be a string."],
      ['/registered-models/create', 'POST', { name: 'x', tags: {} }, "Parameter 'tags' must be a list of {key, value}."],
      ['/registered-models/create', 'POST', { name: 'x', tags: [{ key: 'a', value: 1 }] }, "Each tag in 'tags' needs a string key and value."],
      ['/model-versions/get', 'GET', { name: 'lenient', version: '0' }, `Parameter 'version' must be a positive integer version, not "0".`],
      [
        '/model-versions/transition-stage',
        'POST',
        { name: 'lenient', version: 1, stage: 'None' },
        "Parameter 'version' must be a positive integer version, not 1.",
      ],
      [
        '/model-versions/transition-stage',
        'POST',
        { name: 'lenient', version: '1', stage: 'None', archive_existing_versions: 'yes' },
        "Parameter 'archive_existing_versions' must be true or false.",
      ],
      ['/registered-models/search', 'GET', { max_results: '0' }, `Invalid value "0" for parameter 'max_results' supplied: it must be between 1 and 1000.`],
      ['/model-versions/search', 'POST', { max_results: 'ten' }, `Invalid value "ten" for parameter 'max_results' supplied: it must be between 1 and 200000.`],
    ];
    for (const [path, method, args, message] of cases) {
      const r = await call(method, path, args);
      assert.deepEqual([r.status, r.body], [400, { error_code: 'INVALID_PARAMETER_VALUE', message }], `${path} ${JSON.stringify(args)}`);
    }
  });

  it('keeps rejecting unknown fields on the native API', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/models', payload: { name: 'strict', colour: 'blue' } });
    assert.deepEqual([r.statusCode, r.json().error.code], [400, 'INVALID_ARGUMENT']);
  });
});
