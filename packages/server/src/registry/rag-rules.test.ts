import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ManifestFile } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { expectCode } from '../../test-support/expect.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor } from './actor.js';
import { MAX_RAG_CONFIG_BYTES } from './rag-rules.js';

const admin = localActor('local:tester');

function ragYaml(embedding: string, extra = ''): string {
  return [
    'index:',
    '  name: cs-docs',
    '  snapshot: "2026-11-01"',
    `embedding_model: ${embedding}`,
    'chunking:',
    '  size: 512',
    '  overlap: 64',
    '  strategy: recursive',
    'retriever:',
    '  top_k: 4',
    extra,
  ].join('\n');
}

for (const backend of BACKENDS) {
  describe(`rag-config versions on ${backend.name}`, { skip: backend.unavailable }, () => {
    let reg: Registry;
    let cleanup: () => Promise<void>;
    let embedderDigest = '';

    async function push(name: string, files: Record<string, string>, extra: Record<string, unknown> = {}) {
      const manifest: ManifestFile[] = [];
      for (const [path, content] of Object.entries(files)) {
        const h = createHash('sha256').update(content).digest('hex');
        await reg.blobs.put(admin, h, Readable.from([Buffer.from(content)]));
        manifest.push({ path, size: Buffer.byteLength(content), sha256: h });
      }
      return reg.versions.create(admin, name, { files: manifest, ...extra });
    }
    async function versionCount(name: string): Promise<number> {
      return (await reg.deps.store.read.models.findByName(name)) ? (await reg.versions.list(name, {})).items.length : 0;
    }

    before(async () => {
      const opened = await backend.open();
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store: opened.store, blobs, clock: { now: () => Date.parse('2026-03-01T00:00:00Z') }, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
      embedderDigest = (await push('bge-small', { 'model.safetensors': 'embedder weights' }, { kind: 'model' })).digest;
      await push('bge-small', { 'model.safetensors': 'embedder weights 2' });
      await push('cs-system', { 'prompt.txt': 'Hi {{name}}' }, { kind: 'prompt' });
    });
    after(async () => cleanup?.());

    it('pins the embedding model as a dependency and records metadata.rag when the pin is name:N', async () => {
      const v = await push('cs-rag', { 'rag.yaml': ragYaml('bge-small:1') }, { kind: 'rag-config' });
      assert.deepEqual(v.dependencies, [{ model: 'bge-small', version: 1, digest: embedderDigest }]);
      assert.deepEqual(v.metadata.rag, {
        index: { name: 'cs-docs', snapshot: '2026-11-01' },
        embedding_model: `bge-small:1@${embedderDigest}`,
        top_k: 4,
      });
      const uses = await reg.bundles.lineage('cs-rag', v.version, 'uses', {});
      assert.deepEqual(
        uses.items.map((e) => `${e.kind} ${e.model}:${e.version}`),
        ['model bge-small:1'],
      );
      await expectCode(reg.versions.delete(admin, 'bge-small', 1, { force: true }), 'FAILED_PRECONDITION', /bge-small:1 cannot be deleted: cs-rag:1 pin it/);
    });

    it('resolves a pin by digest to its version, and accepts the same pin given as a dependency', async () => {
      const v = await push('cs-rag', { 'rag.json': jsonConfig(`bge-small@${embedderDigest}`) });
      assert.equal((v.metadata.rag as { embedding_model: string }).embedding_model, `bge-small:1@${embedderDigest}`);
      const again = await push('cs-rag', { 'rag.yml': ragYaml('bge-small:1') }, { dependencies: [{ model: 'bge-small', version: 1, digest: embedderDigest }] });
      assert.equal(again.dependencies.length, 1);
    });

    it('refuses a configuration without its embedding model, naming the key, and stores no version', async () => {
      const before = await versionCount('cs-rag');
      const text = ragYaml('x').replace('embedding_model: x\n', '');
      await expectCode(push('cs-rag', { 'rag.yaml': text }, { kind: 'rag-config' }), 'INVALID_ARGUMENT', /rag\.yaml: missing key 'embedding_model'/);
      assert.equal(await versionCount('cs-rag'), before);
    });

    it('refuses an embedding model named by alias or bare name: the pin would float', async () => {
      await reg.aliases.set(admin, 'bge-small', 'champion', { version: 1 });
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml('bge-small@champion') }), 'INVALID_ARGUMENT', /"bge-small@champion" floats/);
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml('bge-small') }), 'INVALID_ARGUMENT', /"bge-small" floats/);
    });

    it('refuses an unknown key and an overlap not smaller than the chunk size, naming key and line', async () => {
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml('bge-small:1', 'temperature: 0.2') }), 'INVALID_ARGUMENT', /temperature/);
      await expectCode(
        push('cs-rag', { 'rag.yaml': ragYaml('bge-small:1').replace('overlap: 64', 'overlap: 512') }),
        'INVALID_ARGUMENT',
        /key 'chunking\.overlap' \(line 7\) must be smaller than chunking\.size/,
      );
    });

    it('refuses any file beside the configuration, two configurations, and none', async () => {
      const before = await versionCount('cs-rag');
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml('bge-small:1'), 'notes.md': 'hello' }), 'INVALID_ARGUMENT', /notes\.md cannot be beside it/);
      await expectCode(
        push('cs-rag', { 'rag.yaml': ragYaml('bge-small:1'), 'rag.json': '{}' }),
        'INVALID_ARGUMENT',
        /one configuration file, not rag\.json and rag\.yaml/,
      );
      await expectCode(
        push('other-rag', { 'config.yaml': ragYaml('bge-small:1') }, { kind: 'rag-config' }),
        'INVALID_ARGUMENT',
        /config\.yaml cannot be beside/,
      );
      assert.equal(await versionCount('cs-rag'), before);
      assert.equal(await versionCount('other-rag'), 0);
    });

    it('refuses an embedding model that is missing, of another kind, or pinned by an unknown digest, and other pins', async () => {
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml('nowhere:1') }), 'NOT_FOUND', /model "nowhere" not found/);
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml('bge-small:9') }), 'NOT_FOUND', /bge-small:9 not found/);
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml(`bge-small@sha256:${'0'.repeat(64)}`) }), 'NOT_FOUND', /no version of bge-small has that digest/);
      await expectCode(push('cs-rag', { 'rag.yaml': ragYaml('cs-system:1') }), 'INVALID_ARGUMENT', /cs-system:1 is a version of cs-system, of kind prompt/);
      const prompt = await reg.versions.get('cs-system', 1);
      await expectCode(
        push('cs-rag', { 'rag.yaml': ragYaml('bge-small:1') }, { dependencies: [{ model: 'cs-system', version: 1, digest: prompt.digest }] }),
        'INVALID_ARGUMENT',
        /a rag-config pins exactly its embedding model.*cs-system:1 \(prompt\)/,
      );
    });

    it('refuses an oversize or non-UTF-8 configuration', async () => {
      await expectCode(
        push('cs-rag', { 'rag.yaml': ragYaml('bge-small:1', `description: "${'x'.repeat(MAX_RAG_CONFIG_BYTES)}"`) }),
        'INVALID_ARGUMENT',
        /rag\.yaml is \d+ bytes; a RAG configuration is at most/,
      );
      const bad = Buffer.from([0x69, 0x6e, 0xff, 0xfe]);
      const h = createHash('sha256').update(bad).digest('hex');
      await reg.blobs.put(admin, h, Readable.from([bad]));
      await expectCode(
        reg.versions.create(admin, 'cs-rag', { files: [{ path: 'rag.yaml', size: bad.length, sha256: h }] }),
        'INVALID_ARGUMENT',
        /rag\.yaml is not UTF-8/,
      );
    });

    it('leaves a rag.yaml in a version of another kind alone', async () => {
      const v = await push('notes', { 'rag.yaml': 'anything: at all' });
      assert.equal(v.metadata.rag, undefined);
    });
  });
}

function jsonConfig(embedding: string): string {
  return JSON.stringify({
    index: { name: 'cs-docs', snapshot: '2026-11-01' },
    embedding_model: embedding,
    chunking: { size: 256, overlap: 0, strategy: 'fixed' },
    retriever: { top_k: 8, hybrid: { dense: 0.7, sparse: 0.3 } },
  });
}
