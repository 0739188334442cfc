import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MAX_PROMPT_FILE_BYTES, type ManifestFile } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor, type Actor } from './actor.js';
import { versionRef } from './versions-service.js';
import { FakeClock, expectCode } from '../../test-support/expect.js';

const admin = localActor('admin');
const ci: Actor = { name: 'ci', roles: new Set(['viewer', 'editor']), via: 'api' };

const CHAT = JSON.stringify([
  { role: 'system', content: 'You help customers with {{ product }}.' },
  { role: 'user', content: '{{question}}' },
]);

for (const backend of BACKENDS) {
  describe(`prompts on ${backend.name}`, { skip: backend.unavailable }, () => {
    let reg: Registry;
    let cleanup: () => Promise<void>;

    async function manifest(files: Record<string, string>): Promise<ManifestFile[]> {
      const out: ManifestFile[] = [];
      for (const [path, content] of Object.entries(files)) {
        const h = createHash('sha256').update(content).digest('hex');
        await reg.blobs.put(admin, h, Readable.from([Buffer.from(content)]));
        out.push({ path, size: Buffer.byteLength(content), sha256: h });
      }
      return out;
    }
    async function push(name: string, files: Record<string, string>, extra: Record<string, unknown> = {}) {
      return reg.versions.create(admin, name, { files: await manifest(files), ...extra });
    }
    /** The same files sent inline in the commit, as the CLI and the MLflow front send small prompts. */
    function inline(name: string, files: Record<string, string>, extra: Record<string, unknown> = {}) {
      const entries = Object.entries(files).map(([path, c]) => ({ path, c, h: createHash('sha256').update(c).digest('hex') }));
      return reg.versions.commit(admin, name, {
        files: entries.map((e) => ({ path: e.path, size: Buffer.byteLength(e.c), sha256: e.h })),
        blobs: entries.map((e) => ({ sha256: e.h, base64: Buffer.from(e.c).toString('base64') })),
        ...extra,
      });
    }
    async function versionCount(name: string): Promise<number> {
      return (await reg.versions.list(name, {})).items.length;
    }

    before(async () => {
      const opened = await backend.open();
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store: opened.store, blobs, clock: new FakeClock(undefined, 1), config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
    });
    after(async () => cleanup?.());

    it('records the format and declared variables of a prompt version as metadata.prompt, overriding a client-sent value', async () => {
      const v = await push(
        'cs-system',
        {
          'prompt.txt': 'Hello {{customer_name}}, about {{ product }}.',
          'examples.json': JSON.stringify([{ variables: { customer_name: 'Ana', product: 'router' }, output: 'Hi Ana' }]),
          'params.json': '{"temperature":0.2}',
        },
        { kind: 'prompt', metadata: { prompt: { format: 'chat', variables: [] }, team: 'support' } },
      );
      assert.deepEqual(v.metadata.prompt, { format: 'text', variables: ['customer_name', 'product'] });
      assert.equal(v.metadata.team, 'support');
      // The model's kind decides for later versions pushed without one.
      const chat = (await inline('cs-system', { 'prompt.json': CHAT })).version;
      assert.deepEqual(chat.metadata.prompt, { format: 'chat', variables: ['product', 'question'] });
    });

    it('leaves versions of other kinds alone', async () => {
      const v = await push('plain', { 'template.txt': '{{x}}', 'prompt.txt': 'not json either' }, { metadata: { prompt: 'mine' } });
      assert.equal(v.metadata.prompt, 'mine');
    });

    it('refuses bad prompt versions naming what is wrong, and stores nothing (not even a new model)', async () => {
      const cases: [string, Record<string, string>, RegExp][] = [
        [
          'an example using an undeclared variable',
          { 'prompt.txt': 'Hi {{name}}', 'examples.json': '[{"inputs":{"nmae":"Ana"}}]' },
          /undeclared variable 'nmae'/,
        ],
        ['a chat template that is not JSON', { 'prompt.json': '[{"role":"user",' }, /prompt\.json is not JSON/],
        ['a chat message of the wrong shape', { 'prompt.json': '[{"role":"user","content":1}]' }, /prompt\.json message 0 must be/],
        ['a file that is not a prompt file', { 'prompt.txt': 'Hi', 'notes.md': 'x' }, /notes\.md is not one of them/],
        ['two templates', { 'prompt.txt': 'Hi', 'prompt.json': CHAT }, /one template: .* not both/],
        ['no template', { 'params.json': '{}' }, /holds its template as prompt\.txt/],
        ['parameters that are not one flat object', { 'prompt.txt': 'Hi', 'params.json': '{"stop":["x"]}' }, /model parameter 'stop'/],
      ];
      for (const [what, files, message] of cases) {
        for (const commit of [push, inline]) {
          const err = await expectCode(commit('bad-prompt', files, { kind: 'prompt' }), 'INVALID_ARGUMENT', message);
          assert.ok(err, what);
        }
      }
      await expectCode(reg.models.get('bad-prompt'), 'NOT_FOUND');
      // Into an existing prompt model: the model's kind applies, and no version is added.
      const before = await versionCount('cs-system');
      await expectCode(push('cs-system', { 'prompt.txt': 'Hi', 'notes.md': 'x' }), 'INVALID_ARGUMENT', /notes\.md/);
      assert.equal(await versionCount('cs-system'), before);
    });

    it('refuses a template that is not UTF-8 text', async () => {
      const bytes = Buffer.from([0x48, 0x69, 0xff, 0xfe]);
      const h = createHash('sha256').update(bytes).digest('hex');
      await reg.blobs.put(admin, h, Readable.from([bytes]));
      await expectCode(
        reg.versions.create(admin, 'bad-prompt', { kind: 'prompt', files: [{ path: 'prompt.txt', size: bytes.length, sha256: h }] }),
        'INVALID_ARGUMENT',
        /prompt\.txt is not UTF-8 text/,
      );
    });

    it('refuses an oversize prompt file by its size before reading it', async () => {
      const big = 'x'.repeat(MAX_PROMPT_FILE_BYTES + 1);
      await expectCode(push('bad-prompt', { 'prompt.txt': big }, { kind: 'prompt' }), 'INVALID_ARGUMENT', new RegExp(`prompt\\.txt is ${big.length} bytes`));
      await expectCode(reg.models.get('bad-prompt'), 'NOT_FOUND');
    });

    it('renders by number, alias, digest and latest, with examples and parameters as stored', async () => {
      const v1 = await reg.versions.get('cs-system', 1);
      const r = await reg.prompts.render(versionRef('cs-system', '1'), { customer_name: 'Ana', product: 'router' });
      assert.deepEqual(r, {
        model: 'cs-system',
        version: 1,
        digest: v1.digest,
        format: 'text',
        text: 'Hello Ana, about router.',
        params: { temperature: 0.2 },
        examples: [{ variables: { customer_name: 'Ana', product: 'router' }, output: 'Hi Ana' }],
      });
      await reg.aliases.set(admin, 'cs-system', 'staging', { version: 1 });
      assert.equal((await reg.prompts.render(versionRef('cs-system', 'staging'), { customer_name: 'Bo', product: 'modem' })).text, 'Hello Bo, about modem.');
      assert.equal((await reg.prompts.render(versionRef('cs-system', v1.digest), { customer_name: 'C', product: 'D' })).version, 1);
      const chat = await reg.prompts.render(versionRef('cs-system', 'latest'), { product: 'router', question: 'Why is it blinking?' });
      assert.equal(chat.version, 2);
      assert.deepEqual(chat.messages, [
        { role: 'system', content: 'You help customers with router.' },
        { role: 'user', content: 'Why is it blinking?' },
      ]);
      assert.equal(chat.text, undefined);
      assert.deepEqual(chat.params, {});
      assert.deepEqual(chat.examples, []);
    });

    it('refuses a render missing a variable or given an undeclared one, naming it, and a model of another kind', async () => {
      await expectCode(reg.prompts.render(versionRef('cs-system', '1'), { customer_name: 'Ana' }), 'INVALID_ARGUMENT', /missing prompt variable 'product'/);
      await expectCode(
        reg.prompts.render(versionRef('cs-system', '1'), { customer_name: 'Ana', product: 'router', produkt: 'x' }),
        'INVALID_ARGUMENT',
        /undeclared prompt variable 'produkt'/,
      );
      await expectCode(reg.prompts.render(versionRef('plain', '1'), {}), 'INVALID_ARGUMENT', /plain is a model of kind model, not prompt/);
      await expectCode(reg.prompts.render(versionRef('cs-system', 'nope'), {}), 'NOT_FOUND', /alias cs-system@nope is not set/);
      await expectCode(reg.prompts.render(versionRef('cs-system', '9'), {}), 'NOT_FOUND', /cs-system:9 not found/);
      assert.throws(() => versionRef('cs-system', '0'), /version must be a positive integer/);
      assert.throws(() => versionRef('cs-system', 'sha256:abc'), /a digest is sha256: and 64 lowercase hex digits/);
    });

    it('a protected production alias on a prompt moves only through its bound policy: refused until the gates pass', async () => {
      await reg.policies.apply(
        admin,
        'prompt-release',
        'policy: prompt-release\ntarget_alias: production\nmodels: ["support-*"]\ngates:\n  - { name: judged, metric: judge_score, min: 0.8 }\n',
      );
      const v = (await push('support-system', { 'prompt.txt': 'You help {{customer_name}}.' }, { kind: 'prompt' })).version;
      assert.ok((await reg.models.get('support-system')).protected_aliases.includes('production'));
      await expectCode(reg.aliases.set(ci, 'support-system', 'production', { version: v }), 'FAILED_PRECONDITION', /no evaluation of metric judge_score/);
      await reg.evaluations.record(ci, 'support-system', v, { metrics: { judge_score: 0.6 } });
      await expectCode(
        reg.promotions.request(ci, 'support-system', { version: v, policy: 'prompt-release' }),
        'FAILED_PRECONDITION',
        /judged 0\.60 >= 0\.80 FAIL/,
      );
      assert.equal(
        (await reg.aliases.list('support-system')).find((a) => a.alias === 'production'),
        undefined,
      );
      await expectCode(reg.prompts.render(versionRef('support-system', 'production'), { customer_name: 'Ana' }), 'NOT_FOUND');
      await reg.evaluations.record(ci, 'support-system', v, { metrics: { judge_score: 0.9 } });
      assert.equal((await reg.aliases.set(ci, 'support-system', 'production', { version: v })).version, v);
      assert.equal((await reg.promotions.list('support-system', {})).items[0]?.state, 'passed');
      assert.equal((await reg.prompts.render(versionRef('support-system', 'production'), { customer_name: 'Ana' })).text, 'You help Ana.');
    });
  });
}
