import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { mlflowCaller, openTestApp } from '../../../test-support/app.js';
import type { Registry } from '../../registry/registry.js';
import { localActor } from '../../registry/actor.js';

const IS_PROMPT = 'mlflow.prompt.is_prompt';
const TEXT = 'mlflow.prompt.text';
const TYPE = '_mlflow_prompt_type';

const tagList = (t: Record<string, string>) => Object.entries(t).map(([key, value]) => ({ key, value }));
const tagMap = (list: { key: string; value: string }[] | undefined) => Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));

describe('MLflow front: prompt registry', () => {
  let app: FastifyInstance;
  let closeApp: () => Promise<void>;
  let reg: Registry;
  const call = mlflowCaller(() => app);

  /** The calls `mlflow.genai.register_prompt` makes (mlflow/tracking/client.py, OSS registry). */
  async function registerPrompt(name: string, template: string, type: 'text' | 'chat', extra: Record<string, string> = {}) {
    const got = await call('GET', '/registered-models/get', { name });
    if (got.status === 404) {
      const created = await call('POST', '/registered-models/create', { name, tags: tagList({ [IS_PROMPT]: 'true', ...extra }) });
      assert.equal(created.status, 200);
    }
    return call('POST', '/model-versions/create', {
      name,
      source: 'dummy-source',
      description: 'first cut',
      tags: tagList({ ...extra, [IS_PROMPT]: 'true', [TYPE]: type, [TEXT]: template }),
    });
  }

  const native = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.body, json: () => res.json() };
  };

  before(async () => {
    const t = await openTestApp('berth-mlflow-prompts-');
    app = t.app;
    reg = t.registry;
    closeApp = t.close;
  });
  after(async () => closeApp?.());

  it('registers a text prompt as a prompt model whose version holds prompt.txt, and gives MLflow its tags back as written', async () => {
    const template = 'Answer {{customer_name}} about the {{ product }}.';
    const res = await registerPrompt('cs-system', template, 'text', { author: 'support' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.model_version.version, '1');
    assert.deepEqual(tagMap(res.body.model_version.tags), { author: 'support', [IS_PROMPT]: 'true', [TYPE]: 'text', [TEXT]: template });

    const model = (await native('/api/v1/models/cs-system')).json();
    assert.equal(model.kind, 'prompt');
    const v = (await native('/api/v1/models/cs-system/versions/1')).json();
    assert.deepEqual(
      v.files.map((f: { path: string }) => f.path),
      ['prompt.txt'],
    );
    assert.equal(v.source, 'dummy-source');
    // The template's one copy is the file; the other tags stay tags.
    assert.deepEqual(v.tags, { author: 'support', [IS_PROMPT]: 'true', [TYPE]: 'text' });
    assert.equal((await native('/api/v1/models/cs-system/versions/1/files/prompt.txt')).body, template);

    const got = await call('GET', '/model-versions/get', { name: 'cs-system', version: '1' });
    assert.equal(tagMap(got.body.model_version.tags)[TEXT], template);
    const rm = await call('GET', '/registered-models/get', { name: 'cs-system' });
    assert.equal(tagMap(rm.body.registered_model.tags)[IS_PROMPT], 'true');
    assert.equal(tagMap(rm.body.registered_model.latest_versions[0].tags)[TEXT], template);
  });

  it('registers a chat prompt as prompt.json holding the JSON exactly as the client wrote it, and reads it by alias and by search', async () => {
    const template = JSON.stringify([
      { role: 'system', content: 'You help with {{product}}.' },
      { role: 'user', content: '{{question}}' },
    ]);
    assert.equal((await registerPrompt('cs-chat', template, 'chat')).status, 200);
    const v = (await native('/api/v1/models/cs-chat/versions/1')).json();
    assert.deepEqual(
      v.files.map((f: { path: string }) => f.path),
      ['prompt.json'],
    );
    assert.equal((await native('/api/v1/models/cs-chat/versions/1/files/prompt.json')).body, template);

    assert.equal((await call('POST', '/registered-models/alias', { name: 'cs-chat', alias: 'production', version: '1' })).status, 200);
    const byAlias = await call('GET', '/registered-models/alias', { name: 'cs-chat', alias: 'production' });
    assert.deepEqual([tagMap(byAlias.body.model_version.tags)[TEXT], tagMap(byAlias.body.model_version.tags)[TYPE]], [template, 'chat']);
    const latest = await call('GET', '/registered-models/alias', { name: 'cs-chat', alias: 'latest' });
    assert.equal(tagMap(latest.body.model_version.tags)[TEXT], template);

    const versions = await call('GET', '/model-versions/search', { filter: `name = 'cs-chat' AND tag.\`${IS_PROMPT}\` = 'true'` });
    assert.deepEqual(
      versions.body.model_versions.map((mv: { tags: { key: string; value: string }[] }) => tagMap(mv.tags)[TEXT]),
      [template],
    );
    const prompts = await call('GET', '/registered-models/search', { filter: `tags.\`${IS_PROMPT}\` = 'true'` });
    assert.deepEqual(prompts.body.registered_models.map((m: { name: string }) => m.name).sort(), ['cs-chat', 'cs-system']);
  });

  it('keeps a template longer than a tag or an inline blob as its file, whole', async () => {
    const template = `${'Be brief. '.repeat(9_999)}{{question}}`;
    assert.ok(template.length > 64 * 1024);
    const res = await registerPrompt('long-prompt', template, 'text');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(tagMap(res.body.model_version.tags)[TEXT], template);
    const file = (await native('/api/v1/models/long-prompt/versions/1')).json().files[0];
    assert.deepEqual([file.path, file.size, file.sha256], ['prompt.txt', template.length, createHash('sha256').update(template).digest('hex')]);
  });

  it('refuses a prompt version without a template, with a broken chat template, an unknown type or an oversized template, creating nothing', async () => {
    await call('POST', '/registered-models/create', { name: 'bad-prompt', tags: [{ key: IS_PROMPT, value: 'true' }] });
    const cases: [Record<string, string>, RegExp][] = [
      [{ [IS_PROMPT]: 'true', [TYPE]: 'text' }, /needs its template in tag mlflow\.prompt\.text/],
      [{ [IS_PROMPT]: 'true', [TYPE]: 'chat', [TEXT]: '[{"role": "user"' }, /prompt\.json is not JSON/],
      [{ [IS_PROMPT]: 'true', [TYPE]: 'chat', [TEXT]: '[{"role": "user"}]' }, /prompt\.json message 0 must be/],
      [{ [IS_PROMPT]: 'true', [TYPE]: 'image', [TEXT]: 'hi' }, /_mlflow_prompt_type is "image": use text or chat/],
      [{ [IS_PROMPT]: 'true', [TEXT]: 'x'.repeat(1024 * 1024 + 1) }, /a prompt file holds at most 1048576/],
    ];
    for (const [tags, message] of cases) {
      const res = await call('POST', '/model-versions/create', { name: 'bad-prompt', source: 'dummy-source', tags: tagList(tags) });
      assert.deepEqual([res.status, res.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], JSON.stringify(tags).slice(0, 80));
      assert.match(res.body.message, message);
    }
    assert.equal((await reg.versions.list('bad-prompt', {})).items.length, 0);
  });

  it('refuses changing the template tags of a prompt version, and lets other tags change', async () => {
    for (const key of [TEXT, TYPE]) {
      const set = await call('POST', '/model-versions/set-tag', { name: 'cs-system', version: '1', key, value: 'Something else' });
      assert.deepEqual([set.status, set.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
      assert.match(set.body.message, /read from its template file/);
      const del = await call('DELETE', '/model-versions/delete-tag', { name: 'cs-system', version: '1', key });
      assert.deepEqual([del.status, del.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    }
    assert.equal(
      (await call('POST', '/model-versions/set-tag', { name: 'cs-system', version: '1', key: '_mlflow_prompt_model_config', value: '{"temperature": 0.2}' }))
        .status,
      200,
    );
    const got = await call('GET', '/model-versions/get', { name: 'cs-system', version: '1' });
    assert.deepEqual(
      [tagMap(got.body.model_version.tags)._mlflow_prompt_model_config, tagMap(got.body.model_version.tags)[TEXT]],
      ['{"temperature": 0.2}', 'Answer {{customer_name}} about the {{ product }}.'],
    );
  });

  it('shows a prompt pushed through the native API to MLflow as a prompt, template and all', async () => {
    const template = 'Hello {{name}}';
    const sha256 = createHash('sha256').update(template).digest('hex');
    await reg.versions.create(localActor(), 'native-prompt', {
      kind: 'prompt',
      files: [{ path: 'prompt.txt', size: template.length, sha256 }],
      blobs: [{ sha256, base64: Buffer.from(template).toString('base64') }],
    });
    const rm = await call('GET', '/registered-models/get', { name: 'native-prompt' });
    assert.equal(tagMap(rm.body.registered_model.tags)[IS_PROMPT], 'true');
    const got = await call('GET', '/model-versions/get', { name: 'native-prompt', version: '1' });
    assert.deepEqual(tagMap(got.body.model_version.tags), { [IS_PROMPT]: 'true', [TYPE]: 'text', [TEXT]: template });
  });

  it('still registers an ordinary model version from its source, not as a prompt', async () => {
    assert.equal((await call('POST', '/registered-models/create', { name: 'plain-model' })).status, 200);
    assert.equal((await native('/api/v1/models/plain-model')).json().kind, 'model');
    const res = await call('POST', '/model-versions/create', { name: 'plain-model', source: 'dummy-source', tags: tagList({ [TEXT]: 'not a prompt' }) });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /source/);
  });
});
