import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { manifestDigest } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { expectCode } from '../../test-support/expect.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import type { Store } from '../store/store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor, type Actor } from './actor.js';

const admin = localActor('local:tester');
const viewer: Actor = { name: 'reader', roles: new Set(['viewer']), via: 'api' };
const EMPTY_DIGEST = manifestDigest([]);

for (const backend of BACKENDS) {
  describe(`external versions on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let reg: Registry;
    let cleanup: () => Promise<void>;

    async function push(name: string, content: string, extra: Record<string, unknown> = {}) {
      const h = createHash('sha256').update(content).digest('hex');
      await reg.blobs.put(admin, h, Readable.from([Buffer.from(content)]));
      return reg.versions.create(admin, name, { files: [{ path: 'model.bin', size: Buffer.byteLength(content), sha256: h }], ...extra });
    }
    const count = async (name: string) => (await reg.versions.list(name, {})).items.length;

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store, blobs, clock: { now: () => Date.parse('2026-03-01T00:00:00Z') }, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
      await push('ext', 'first weights');
    });
    after(async () => cleanup?.());

    it('registers an external version through the native commit: no files, the URI kept, not content-addressed, audited', async () => {
      const v = await reg.versions.create(admin, 'ext', { files: [], external_uri: 's3://bucket/model', metadata: { origin: 'mlflow' }, tags: { team: 'cs' } });
      assert.deepEqual(
        [v.content_addressed, v.external_uri, v.source, v.file_count, v.size, v.digest, v.status, v.files],
        [false, 's3://bucket/model', 's3://bucket/model', 0, 0, EMPTY_DIGEST, 'READY', []],
      );
      const read = await reg.versions.get('ext', v.version, { files: true });
      assert.deepEqual(
        [read.content_addressed, read.external_uri, read.files, read.metadata, read.tags],
        [false, 's3://bucket/model', [], { origin: 'mlflow' }, { team: 'cs' }],
      );
      const listed = (await reg.versions.list('ext', {})).items;
      assert.deepEqual(
        listed.map((x) => [x.version, x.content_addressed, x.external_uri]),
        [
          [v.version, false, 's3://bucket/model'],
          [1, true, null],
        ],
      );
      const audited = (await reg.audit.list({ model: 'ext' })).items.filter((e) => e.action === 'version.create');
      const after = (subject: string) => (audited.find((e) => e.subject === subject)?.after ?? {}) as Record<string, unknown>;
      assert.equal(after(`ext:${v.version}`).external_uri, 's3://bucket/model');
      assert.equal(after('ext:1').version, 1);
      assert.equal('external_uri' in after('ext:1'), false);
    });

    it("registers every external store MLflow sources name, through the MLflow front's service", async () => {
      await reg.models.create(admin, { name: 'from-mlflow' });
      const sources = [
        's3://b/m',
        'gs://b/m',
        'wasbs://c@acct.blob.core.windows.net/m',
        'hdfs://nn:8020/m',
        'dbfs:/FileStore/m',
        'http://h/m.tar',
        'https://h/m',
      ];
      for (const source of sources) {
        const v = await reg.mlflowPrompts.createModelVersion(admin, 'from-mlflow', source, { run_id: null, tags: {}, description: '', createModel: false });
        assert.deepEqual([v.content_addressed, v.external_uri, v.source, v.file_count], [false, source, source, 0], source);
      }
      await expectCode(
        reg.mlflowPrompts.createModelVersion(admin, 'never-created', 's3://b/m', { run_id: null, tags: {}, description: '', createModel: false }),
        'NOT_FOUND',
        /never-created/,
      );
      await expectCode(
        reg.mlflowPrompts.createModelVersion(admin, 'from-mlflow', 'file:///tmp/model', { run_id: null, tags: {}, description: '', createModel: false }),
        'INVALID_ARGUMENT',
        /Unsupported source "file:\/\/\/tmp\/model"/,
      );
    });

    it('never answers a digest reference or a Hub commit id with an external version: its digest names no content', async () => {
      await reg.versions.create(admin, 'by-digest', { files: [], external_uri: 'gs://b/only' });
      await expectCode(reg.versions.resolve(`by-digest@${EMPTY_DIGEST}`), 'NOT_FOUND', /no version of by-digest has digest/);
      await expectCode(reg.versions.filesByDigest(EMPTY_DIGEST), 'NOT_FOUND');
      const model = await store.read.models.findByName('by-digest');
      assert.equal(await store.read.versions.findByDigestPrefix(model?.id ?? 0, EMPTY_DIGEST.slice(7, 47)), undefined);
      assert.equal((await reg.versions.resolve('by-digest')).external_uri, 'gs://b/only');
    });

    it('the Hub view skips external versions: main is the latest content-addressed one, refs and history leave them out', async () => {
      const first = await push('hub-mixed', 'hub weights');
      await reg.versions.create(admin, 'hub-mixed', { files: [], external_uri: 's3://b/later' });
      await reg.aliases.set(admin, 'hub-mixed', 'remote', { version: 2 });
      const main = await reg.hub.resolve('hub-mixed', 'main');
      assert.equal(main.version.version, first.version);
      const { branches } = await reg.hub.refs('hub-mixed');
      assert.deepEqual(
        branches.map((b) => b.name),
        ['main'],
      );
      assert.deepEqual(
        (await reg.hub.history(main)).map((v) => v.version),
        [first.version],
      );
      await expectCode(reg.hub.resolve('hub-mixed', 'remote'), 'NOT_FOUND', /external version 2/);
      // a commit to main builds on the same head the reads call main
      const line = (key: string, value: unknown) => JSON.stringify({ key, value });
      const body = [
        line('header', { summary: 'on main', parentCommit: main.commit }),
        line('file', { path: 'notes.txt', content: Buffer.from('hi').toString('base64'), encoding: 'base64' }),
      ].join('\n');
      const { version } = await reg.hubCommits.commit(admin, 'hub-mixed', 'main', body);
      assert.deepEqual(((await reg.versions.get('hub-mixed', version, { files: true })).files ?? []).map((f) => f.path).sort(), ['model.bin', 'notes.txt']);
    });

    it('refuses files, blobs, an upload, pins, bad URIs, a non-model kind and the server tag, storing nothing', async () => {
      const before = await count('ext');
      const sha = 'a'.repeat(64);
      const refusals: [Record<string, unknown>, RegExp][] = [
        [{ files: [{ path: 'w', size: 1, sha256: sha }] }, /holds no files and pins nothing: leave files empty/],
        [{ files: [], blobs: [{ sha256: sha, base64: 'AA==' }] }, /leave files empty and blobs out/],
        [{ files: [], upload_id: 'u' }, /upload_id out/],
        [{ files: [], dependencies: [{ model: 'ext', version: 1, digest: `sha256:${sha}` }] }, /dependencies out/],
        [{ files: [], external_uri: 'file:///tmp/m' }, /not in an external store/],
        [{ files: [], external_uri: 'https://me:secret@host/m' }, /credentials/],
        [{ files: [], external_uri: 's3://' }, /names no location/],
        [{ files: [], external_uri: 7 }, /at most 4096/],
        [{ files: [], tags: { 'berth.content_addressed': 'true' } }, /set by the server/],
      ];
      for (const [body, message] of refusals) {
        await expectCode(reg.versions.create(admin, 'ext', { files: [], external_uri: 's3://b/m', ...body } as never), 'INVALID_ARGUMENT', message);
      }
      await expectCode(
        reg.versions.create(admin, 'ext-adapter', { files: [], external_uri: 's3://b/m', kind: 'adapter' }),
        'INVALID_ARGUMENT',
        /only a model of kind model/,
      );
      assert.equal(await store.read.models.findByName('ext-adapter'), undefined);
      await expectCode(reg.versions.create(viewer, 'ext', { files: [], external_uri: 's3://b/m' }), 'PERMISSION_DENIED');
      assert.equal(await count('ext'), before);
    });

    it('refuses the server tag on any version, on commit and on edit', async () => {
      await expectCode(
        push('ext', 'tagged', { tags: { 'berth.content_addressed': 'false' } }),
        'INVALID_ARGUMENT',
        /berth\.content_addressed is set by the server/,
      );
      await expectCode(reg.versions.update(admin, 'ext', 1, { tags: { 'berth.content_addressed': 'true' } }), 'INVALID_ARGUMENT', /set by the server/);
    });

    it('refuses an adapter or any version pinning an external version, and a bundle built on one', async () => {
      const ext = await reg.versions.create(admin, 'ext-base', { files: [], external_uri: 's3://b/base' });
      const pin = { model: 'ext-base', version: ext.version, digest: ext.digest };
      const err = await expectCode(
        push('ext-lora', 'lora', { kind: 'adapter', dependencies: [pin] }),
        'FAILED_PRECONDITION',
        /^ext-base:1 is an external version \(its files stay at s3:\/\/b\/base; Berth holds none of their bytes\), so nothing can pin it by digest: push the files with `berth push <dir> --model ext-base`/,
      );
      assert.deepEqual(err.details, { version: 'ext-base:1', external_uri: 's3://b/base', content_addressed: false });
      await expectCode(push('ext-other', 'other', { dependencies: [pin] }), 'FAILED_PRECONDITION', /nothing can pin it/);
      assert.equal(await store.read.models.findByName('ext-lora'), undefined);
      await expectCode(
        reg.bundles.create(admin, 'ext-bundle', { base: 'ext-base:1' }),
        'FAILED_PRECONDITION',
        /ext-base:1 is an external version .*a bundle cannot pin it as its base/,
      );
      await expectCode(reg.bundles.create(admin, 'ext-bundle', { base: `ext-base@${EMPTY_DIGEST}` }), 'NOT_FOUND', /no version of ext-base has digest/);
      assert.equal(await store.read.models.findByName('ext-bundle'), undefined);
    });

    it('refuses to promote an external version under gates or gate-check it, recording no promotion, and still lets an alias name it', async () => {
      await reg.policies.apply(admin, 'open', 'policy: open\ntarget_alias: champion\ngates: []\n');
      const ext = await reg.versions.create(admin, 'ext-promo', { files: [], external_uri: 'hdfs://nn/m' });
      await expectCode(
        reg.promotions.request(admin, 'ext-promo', { version: ext.version, policy: 'open' }),
        'FAILED_PRECONDITION',
        /ext-promo:1 is an external version .*so no promotion can put it behind an alias under gates/,
      );
      assert.deepEqual((await reg.promotions.list('ext-promo', {})).items, []);
      // the dry run judges the same way: a gate check never reports an external version as passing
      await expectCode(reg.promotions.evidence('ext-promo', ext.version, 'open'), 'FAILED_PRECONDITION', /ext-promo:1 is an external version/);
      await expectCode(
        reg.promotions.draftEvidence('ext-promo', ext.version, 'policy: open\ntarget_alias: champion\ngates: []\n'),
        'FAILED_PRECONDITION',
        /ext-promo:1 is an external version/,
      );
      // MLflow clients set aliases on any version they registered; the alias shows what it names.
      await reg.aliases.set(admin, 'ext-promo', 'staging', { version: ext.version });
      assert.equal((await reg.versions.resolveAlias('ext-promo', 'staging')).content_addressed, false);
    });
  });
}
