import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { MAX_CARD_BYTES, parseCard } from '@berth/core';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function inline(files: Record<string, string>) {
  return {
    files: Object.entries(files).map(([path, c]) => ({ path, size: Buffer.byteLength(c), sha256: sha(c) })),
    blobs: Object.values(files).map((c) => ({ sha256: sha(c), base64: Buffer.from(c).toString('base64') })),
  };
}

const README = '---\nlicense: mit\n---\n\n# From the file\n';
const EDITED = '---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-3-8B\n---\n\n# Edited\n';

describe('model card routes', () => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  const inject = (opts: InjectOptions) => t.app.inject(opts);
  const card = (ref: string, headers: Record<string, string> = bearer(tokens.reader as string)) =>
    inject({ method: 'GET', url: `/api/v1/models/chatbot/versions/${ref}/card`, headers });
  const edit = (ref: string, text: unknown, token = tokens.editor as string) =>
    inject({ method: 'PUT', url: `/api/v1/models/chatbot/versions/${ref}/card`, headers: bearer(token), payload: { text } });

  before(async () => {
    t = await openTestApp('berth-cards-', { auth: true });
    const local = localActor();
    for (const [name, role] of [
      ['editor', 'editor'],
      ['reader', 'viewer'],
    ] as const)
      tokens[name] = (await t.registry.tokens.create(local, { name, role })).token;
    const push = async (payload: Record<string, unknown>) => {
      const r = await inject({ method: 'POST', url: '/api/v1/models/chatbot/versions', headers: bearer(tokens.editor as string), payload });
      assert.equal(r.statusCode, 201, r.body);
    };
    await push({
      ...inline({ 'model.safetensors': 'weights 1' }),
      description: 'A support bot.',
      metadata: { license: 'apache-2.0', base_model: 'meta-llama/Llama-3-8B', pipeline_tag: 'text-generation' },
      tags: { team: 'support' },
    });
    await push({ ...inline({ 'model.safetensors': 'weights 2', 'README.md': README }) });
    const r = await inject({
      method: 'POST',
      url: '/api/v1/models/chatbot/versions/1/evaluations',
      headers: bearer(tokens.editor as string),
      payload: { metrics: { accuracy: 0.92, f1: 0.88 }, dataset: 'support-eval-v3', source: 'ci', measured_at: '2026-03-01T00:00:00Z' },
    });
    assert.equal(r.statusCode, 201, r.body);
    await t.registry.aliases.set(local, 'chatbot', 'staging', { version: 2 });
  });
  after(async () => t?.close());

  it('generates a card in the Hub format from metadata and recorded evaluations when a version has none', async () => {
    const res = await card('1');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.source, 'generated');
    assert.equal(body.model, 'chatbot');
    assert.equal(body.version, 1);
    assert.equal(body.metadata.license, 'apache-2.0');
    assert.equal(body.metadata.base_model, 'meta-llama/Llama-3-8B');
    assert.deepEqual(body.metadata.tags, ['model', 'team']);
    assert.deepEqual(body.metadata['model-index'], [
      {
        name: 'chatbot',
        results: [
          {
            task: { type: 'text-generation' },
            dataset: { name: 'support-eval-v3', type: 'support-eval-v3' },
            metrics: [
              { type: 'accuracy', value: 0.92, name: 'accuracy' },
              { type: 'f1', value: 0.88, name: 'f1' },
            ],
            source: { name: 'ci', url: 'berth:chatbot:1' },
          },
        ],
      },
    ]);
    assert.deepEqual(parseCard(body.text).frontMatter, body.metadata);
    assert.match(body.text, /A support bot\./);
    const md = await card('1', { ...bearer(tokens.reader as string), accept: 'text/markdown' });
    assert.equal(md.statusCode, 200);
    assert.match(String(md.headers['content-type']), /^text\/markdown/);
    assert.equal(md.body, body.text);
  });

  it("serves a version's README.md over a generated card, by version number, alias or digest", async () => {
    const byNumber = (await card('2')).json();
    assert.equal(byNumber.source, 'file');
    assert.equal(byNumber.text, README);
    assert.deepEqual(byNumber.metadata, { license: 'mit' });
    assert.equal((await card('staging')).json().text, README);
    const digest = (await t.registry.versions.get('chatbot', 2)).digest;
    assert.equal((await card(digest)).json().version, 2);
  });

  it('stores an edit in the version metadata through the audited update; the edit wins over file and generated card', async () => {
    const put = await edit('staging', EDITED);
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json(), {
      model: 'chatbot',
      version: 2,
      source: 'edited',
      text: EDITED,
      metadata: { license: 'apache-2.0', base_model: 'meta-llama/Llama-3-8B' },
    });
    const got = (await card('2')).json();
    assert.equal(got.source, 'edited');
    assert.equal(got.text, EDITED);
    assert.equal((await t.registry.versions.get('chatbot', 2)).metadata['berth.card'], EDITED);
    const audit = await inject({ method: 'GET', url: '/api/v1/audit?model=chatbot&limit=1000', headers: bearer(tokens.reader as string) });
    const updates = audit.json().items.filter((e: { action: string }) => e.action === 'version.update');
    assert.equal(updates.length, 1);
    assert.equal(updates[0].actor, 'editor');
    assert.equal(updates[0].after.metadata['berth.card'], EDITED);
    assert.equal(updates[0].before.metadata['berth.card'], undefined);
    const files = (await t.registry.versions.get('chatbot', 2, { files: true })).files?.map((f) => f.path);
    assert.deepEqual(files, ['README.md', 'model.safetensors'], 'the files stay as they were');
  });

  it('refuses an edit with broken front matter naming its line, YAML aliases, an oversize card and a viewer, changing nothing', async () => {
    const auditBefore = (await t.registry.audit.list({ model: 'chatbot', limit: 1000 })).items.length;
    const broken = await edit('1', '---\nlicense: mit\nbase_model: [unclosed\n---\n# x\n');
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json().error.code, 'INVALID_ARGUMENT');
    assert.match(broken.json().error.message, /card front matter line \d+/);
    const list = await edit('1', '---\n- a\n- b\n---\n');
    assert.equal(list.statusCode, 400);
    assert.match(list.json().error.message, /front matter must be a YAML mapping/);
    const aliased = await edit('1', '---\nmodel-index:\n  - results:\n      - task: &a1\n          type: model\n      - task: *a1\n---\n');
    assert.equal(aliased.statusCode, 400, aliased.body);
    assert.match(aliased.json().error.message, /repeats a node with a YAML alias/);
    const big = await edit('1', `# big\n${'x'.repeat(MAX_CARD_BYTES)}`);
    assert.equal(big.statusCode, 400);
    assert.match(big.json().error.message, /the card is over 256 KiB/);
    const viewer = await edit('1', '# mine', tokens.reader as string);
    assert.equal(viewer.statusCode, 403);
    assert.equal(viewer.json().error.code, 'PERMISSION_DENIED');
    const notText = await edit('1', 42);
    assert.equal(notText.statusCode, 400);
    assert.equal((await card('1')).json().source, 'generated');
    assert.equal((await t.registry.audit.list({ model: 'chatbot', limit: 1000 })).items.length, auditBefore);
  });

  it('refuses to read a README.md over the card limit as a card, saying how to give one', async () => {
    const big = `# big\n${'x'.repeat(MAX_CARD_BYTES)}`;
    const put = await inject({
      method: 'PUT',
      url: `/api/v1/blobs/${sha(big)}`,
      headers: { ...bearer(tokens.editor as string), 'content-type': 'application/octet-stream' },
      payload: Buffer.from(big),
    });
    assert.ok(put.statusCode < 300, put.body);
    const r = await inject({
      method: 'POST',
      url: '/api/v1/models/big-readme/versions',
      headers: bearer(tokens.editor as string),
      payload: { files: [{ path: 'README.md', size: Buffer.byteLength(big), sha256: sha(big) }] },
    });
    assert.equal(r.statusCode, 201, r.body);
    const res = await inject({ method: 'GET', url: '/api/v1/models/big-readme/versions/1/card', headers: bearer(tokens.reader as string) });
    assert.equal(res.statusCode, 412);
    assert.match(res.json().error.message, /README\.md is \d+ bytes, over the 256 KiB a card may have/);
  });

  it('answers 404 for an unknown version or alias and 400 for a malformed reference', async () => {
    assert.equal((await card('9')).statusCode, 404);
    assert.equal((await card('nowhere')).statusCode, 404);
    assert.equal((await edit('9', '# x')).statusCode, 404);
    assert.equal((await card('sha256:12')).statusCode, 400);
  });
});
