import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BUNDLE_MANIFEST_PATH, type BundleManifest, type ManifestFile } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor } from './actor.js';
import type { Store } from '../store/store.js';
import { expectCode } from '../../test-support/expect.js';

const admin = localActor('local:tester');
const SHA = '0123456789abcdef0123456789abcdef01234567';

for (const backend of BACKENDS) {
  describe(`bundles and lineage on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let reg: Registry;
    let cleanup: () => Promise<void>;

    async function push(name: string, files: Record<string, string>, extra: Record<string, unknown> = {}) {
      const manifest: ManifestFile[] = [];
      for (const [path, content] of Object.entries(files)) {
        const h = createHash('sha256').update(content).digest('hex');
        await reg.blobs.put(admin, h, Readable.from([Buffer.from(content)]));
        manifest.push({ path, size: Buffer.byteLength(content), sha256: h });
      }
      return reg.versions.create(admin, name, { files: manifest, ...extra });
    }
    const pinOf = (v: { model: string; version: number; digest: string }) => ({ model: v.model, version: v.version, digest: v.digest });
    async function manifestOf(name: string, version: number): Promise<BundleManifest> {
      const file = await reg.versions.getFile(name, version, BUNDLE_MANIFEST_PATH);
      const chunks: Buffer[] = [];
      for await (const c of (await reg.blobs.open(file.sha256)).stream) chunks.push(c as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as BundleManifest;
    }
    async function versionCount(name: string): Promise<number> {
      return (await reg.versions.list(name, {})).items.length;
    }

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store, blobs, clock: { now: () => Date.parse('2026-03-01T00:00:00Z') }, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
      const base = await push('llama-3-8b', { 'model.safetensors': 'weights-1' }, { kind: 'model', metadata: { upstream: `hf:meta-llama/Llama-3-8B@${SHA}` } });
      await push('llama-3-8b', { 'model.safetensors': 'weights-2' });
      await push('cs-adapter', { 'adapter_config.json': '{"r":8}', 'adapter_model.safetensors': 'lora' }, { kind: 'adapter', dependencies: [pinOf(base)] });
      await push('cs-system', { 'prompt.txt': 'Hello {{name}}' }, { kind: 'prompt' });
      await push('cs-system', { 'prompt.txt': 'Hi {{name}}' });
      const embedder = await push('bge-small', { 'model.safetensors': 'embedder' }, { kind: 'model' });
      const rag = `index: {name: cs-docs, snapshot: s1}\nembedding_model: bge-small:${embedder.version}\nchunking: {size: 512, overlap: 64, strategy: recursive}\nretriever: {top_k: 4}\n`;
      await push('cs-rag', { 'rag.yaml': rag }, { kind: 'rag-config' });
    });
    after(async () => cleanup?.());

    it("checks an adapter's adapter_config.json against its pinned base whichever front commits it, recording metadata.peft", async () => {
      const base = await push('peft-base', { 'model.safetensors': 'peft base' }, { kind: 'model', metadata: { upstream: `hf:meta-llama/Llama-3-8B@${SHA}` } });
      await expectCode(
        push(
          'lora-peft',
          { 'adapter_config.json': '{"base_model_name_or_path":"mistralai/Mistral-7B-v0.1"}', w: 'x' },
          { kind: 'adapter', dependencies: [pinOf(base)] },
        ),
        'INVALID_ARGUMENT',
        /adapter_config\.json names base "mistralai\/Mistral-7B-v0\.1", but --base peft-base:1 is meta-llama\/Llama-3-8B@/,
      );
      await expectCode(
        push(
          'lora-peft',
          { 'adapter_config.json': `{"base_model_name_or_path":"meta-llama/Llama-3-8B","revision":"${'f'.repeat(40)}"}`, w: 'x' },
          {
            kind: 'adapter',
            dependencies: [pinOf(base)],
          },
        ),
        'INVALID_ARGUMENT',
        /pins base revision/,
      );
      await expectCode(
        push('lora-peft', { 'adapter_config.json': '{not json', w: 'x' }, { kind: 'adapter', dependencies: [pinOf(base)] }),
        'INVALID_ARGUMENT',
        /not JSON/,
      );
      await expectCode(reg.models.get('lora-peft'), 'NOT_FOUND'); // a refused adapter stores nothing, not even its model
      const ok = await push(
        'lora-peft',
        {
          'adapter_config.json': `{"base_model_name_or_path":"meta-llama/Llama-3-8B","revision":"${SHA}","r":16,"lora_alpha":32,"task_type":"CAUSAL_LM"}`,
          w: 'y',
        },
        { kind: 'adapter', dependencies: [pinOf(base)], metadata: { peft: { r: 999 } } },
      );
      assert.deepEqual(
        ok.metadata.peft,
        { r: 16, lora_alpha: 32, task_type: 'CAUSAL_LM' },
        'the server records what the config says, not what the client claims',
      );
    });

    it('refuses an adapter without exactly one base of kind model, and an upstream at a branch', async () => {
      const base = await reg.versions.get('llama-3-8b', 1);
      const prompt = await reg.versions.get('cs-system', 1);
      await expectCode(push('lora-x', { a: '1' }, { kind: 'adapter' }), 'INVALID_ARGUMENT', /an adapter pins exactly one base.*lora-x pins nothing/);
      await expectCode(
        push('lora-x', { a: '1' }, { kind: 'adapter', dependencies: [pinOf(prompt)] }),
        'INVALID_ARGUMENT',
        /lora-x pins cs-system:1 \(prompt\)/,
      );
      await expectCode(
        push('lora-x', { a: '1' }, { kind: 'adapter', dependencies: [pinOf(base), pinOf(await reg.versions.get('llama-3-8b', 2))] }),
        'INVALID_ARGUMENT',
        /exactly one base/,
      );
      await expectCode(
        push('base-x', { a: '1' }, { metadata: { upstream: 'hf:meta-llama/Llama-3-8B@main' } }),
        'INVALID_ARGUMENT',
        /"main", which is not a commit/,
      );
      await expectCode(reg.models.get('lora-x'), 'NOT_FOUND', /not found/);
      await expectCode(reg.models.get('base-x'), 'NOT_FOUND', /not found/);
    });

    it('creates a bundle pinning every component by version and digest, with a manifest naming their files', async () => {
      const v = await reg.bundles.create(admin, 'cs-bot', {
        base: 'llama-3-8b:1',
        adapters: ['cs-adapter:1'],
        prompt: 'cs-system:1',
        rag: 'cs-rag:1',
        params: { temperature: 0.2 },
      });
      assert.equal(v.version, 1);
      assert.deepEqual(
        v.dependencies.map((d) => `${d.model}:${d.version}`),
        ['llama-3-8b:1', 'cs-adapter:1', 'cs-system:1', 'cs-rag:1'],
      );
      assert.deepEqual(v.metadata, { params: { temperature: 0.2 } });
      assert.equal((await reg.models.get('cs-bot')).kind, 'bundle');
      const m = await manifestOf('cs-bot', 1);
      const base = await reg.versions.get('llama-3-8b', 1, { files: true });
      assert.deepEqual(m.base, { model: 'llama-3-8b', version: 1, digest: base.digest, files: base.files });
      assert.equal(m.adapters[0]?.files.length, 2);
      assert.equal(m.prompt?.digest, (await reg.versions.get('cs-system', 1)).digest);
      // A pin by digest names the same version.
      const byDigest = await reg.bundles.create(admin, 'cs-bot', { base: `llama-3-8b@${base.digest}`, params: {} });
      assert.deepEqual(byDigest.dependencies, [pinOf(base)]);
    });

    it('starts from an existing bundle and replaces only the components given (a prompt-only change writes one small file)', async () => {
      const v = await reg.bundles.create(admin, 'cs-bot', { from: 'cs-bot:1', prompt: 'cs-system:2', params: { top_p: 0.9 } });
      const m = await manifestOf('cs-bot', v.version);
      assert.equal(m.prompt?.version, 2);
      assert.equal(m.adapters[0]?.model, 'cs-adapter');
      assert.deepEqual(m.params, { temperature: 0.2, top_p: 0.9 });
      assert.deepEqual(
        v.files?.map((f) => f.path),
        [BUNDLE_MANIFEST_PATH],
      );
      assert.ok(v.size < 64 * 1024);
      const dropped = await reg.bundles.create(admin, 'cs-bot', { from: `cs-bot:${v.version}`, rag: null, adapters: [] });
      assert.deepEqual(
        dropped.dependencies.map((d) => d.model),
        ['llama-3-8b', 'cs-system'],
      );
    });

    it('refuses floating pins, a component of the wrong kind, an adapter on another base, and changes nothing', async () => {
      const before = await versionCount('cs-bot');
      await expectCode(reg.bundles.create(admin, 'cs-bot', { base: 'llama-3-8b:1', prompt: 'cs-system@production' }), 'INVALID_ARGUMENT', /^prompt .* floats/);
      await expectCode(reg.bundles.create(admin, 'cs-bot', { base: 'llama-3-8b' }), 'INVALID_ARGUMENT', /^base "llama-3-8b" floats/);
      await expectCode(reg.bundles.create(admin, 'cs-bot', { base: 'llama-3-8b:1', adapters: ['cs-adapter@prod'] }), 'INVALID_ARGUMENT', /^adapter .* floats/);
      await expectCode(reg.bundles.create(admin, 'cs-bot', { from: 'cs-bot' }), 'INVALID_ARGUMENT', /^from "cs-bot" floats/);
      await expectCode(reg.bundles.create(admin, 'cs-bot', { from: 'llama-3-8b:1' }), 'INVALID_ARGUMENT', /is not a bundle \(llama-3-8b is of kind model\)/);
      await expectCode(
        reg.bundles.create(admin, 'cs-bot', { base: 'cs-system:1' }),
        'INVALID_ARGUMENT',
        /base cs-system:1 .* of kind prompt; a bundle's base is of kind model/,
      );
      await expectCode(reg.bundles.create(admin, 'cs-bot', { prompt: 'cs-system:1' }), 'INVALID_ARGUMENT', /a bundle pins a base/);
      await expectCode(
        reg.bundles.create(admin, 'cs-bot', { base: 'llama-3-8b:2', adapters: ['cs-adapter:1'] }),
        'INVALID_ARGUMENT',
        /adapter cs-adapter:1 is trained on llama-3-8b:1, not on the bundle's base llama-3-8b:2/,
      );
      // The same rule on a plain commit of a bundle version, and the other bundle rules there.
      const [base1, base2, adapter, prompt1, prompt2] = await Promise.all([
        reg.versions.get('llama-3-8b', 1),
        reg.versions.get('llama-3-8b', 2),
        reg.versions.get('cs-adapter', 1),
        reg.versions.get('cs-system', 1),
        reg.versions.get('cs-system', 2),
      ]);
      const commit = (dependencies: ReturnType<typeof pinOf>[]) => push('cs-bot', { x: 'y' }, { dependencies });
      await expectCode(commit([pinOf(base2), pinOf(adapter)]), 'INVALID_ARGUMENT', /trained on llama-3-8b:1, not on the bundle's base llama-3-8b:2/);
      await expectCode(commit([pinOf(prompt1)]), 'INVALID_ARGUMENT', /a bundle pins exactly one base .* pins none/);
      await expectCode(commit([pinOf(base1), pinOf(base2)]), 'INVALID_ARGUMENT', /pins llama-3-8b:1, llama-3-8b:2/);
      await expectCode(commit([pinOf(base1), pinOf(prompt1), pinOf(prompt2)]), 'INVALID_ARGUMENT', /at most one prompt/);
      await expectCode(commit([pinOf(base1), pinOf(await reg.versions.get('cs-bot', 1))]), 'INVALID_ARGUMENT', /cs-bot:1 is a bundle/);
      assert.equal(await versionCount('cs-bot'), before);
    });

    it('refuses to delete what a bundle or an adapter pins, naming what pins it', async () => {
      await expectCode(
        reg.versions.delete(admin, 'cs-system', 2, { force: true }),
        'FAILED_PRECONDITION',
        /cs-system:2 cannot be deleted: cs-bot:3, cs-bot:4 pin it/,
      );
      const err = await expectCode(reg.versions.delete(admin, 'llama-3-8b', 1, { force: true }), 'FAILED_PRECONDITION', /cs-adapter:1/);
      assert.ok((err.details.referenced_by as unknown[]).length >= 4);
    });

    it('answers lineage both ways, used-by page by page', async () => {
      const uses = await reg.bundles.lineage('cs-bot', 1, 'uses', {});
      assert.deepEqual(
        uses.items.map((e) => `${e.kind} ${e.model}:${e.version}`),
        ['adapter cs-adapter:1', 'rag-config cs-rag:1', 'prompt cs-system:1', 'model llama-3-8b:1'],
      );
      assert.equal(uses.next_cursor, null);
      const first = await reg.bundles.lineage('llama-3-8b', 1, 'used-by', { limit: 2 });
      assert.deepEqual(
        first.items.map((e) => `${e.model}:${e.version}`),
        ['cs-adapter:1', 'cs-bot:1'],
      );
      assert.ok(first.next_cursor);
      const rest = await reg.bundles.lineage('llama-3-8b', 1, 'used-by', { cursor: first.next_cursor, limit: 100 });
      assert.deepEqual(
        rest.items.map((e) => `${e.kind} ${e.model}:${e.version}`),
        ['bundle cs-bot:2', 'bundle cs-bot:3', 'bundle cs-bot:4'],
      );
      assert.equal(rest.next_cursor, null);
      assert.deepEqual(
        (await reg.bundles.lineage('cs-rag', 1, 'uses', {})).items.map((e) => `${e.kind} ${e.model}:${e.version}`),
        ['model bge-small:1'],
      );
      assert.deepEqual((await reg.bundles.lineage('llama-3-8b', 2, 'used-by', {})).items, []);
      await expectCode(reg.bundles.lineage('llama-3-8b', 9, 'used-by', {}), 'NOT_FOUND', /llama-3-8b:9 not found/);
      await expectCode(reg.bundles.lineage('llama-3-8b', 9, 'uses', {}), 'NOT_FOUND', /llama-3-8b:9 not found/);
    });
  });
}
