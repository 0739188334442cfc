import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { type BerthError, manifestDigest, type ManifestFile } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor, type Actor } from './actor.js';
import { openStore, type Store } from '../store/store.js';
import { FakeClock, expectCode } from '../../test-support/expect.js';

const admin = localActor('local:tester');
const editor: Actor = { name: 'ed', roles: new Set(['viewer', 'editor']), via: 'api' };

function sha(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

for (const backend of BACKENDS) {
  const skip = backend.unavailable;
  describe(`registry on ${backend.name}`, { skip }, () => {
    let store: Store;
    let reg: Registry;
    let clock: FakeClock;
    let cleanup: () => Promise<void>;
    let storeUrl = '';

    async function upload(files: Record<string, string>): Promise<ManifestFile[]> {
      const out: ManifestFile[] = [];
      for (const [path, content] of Object.entries(files)) {
        const h = sha(content);
        await reg.blobs.put(admin, h, Readable.from([Buffer.from(content)]));
        out.push({ path, size: Buffer.byteLength(content), sha256: h });
      }
      return out;
    }

    async function push(name: string, files: Record<string, string>, extra: Record<string, unknown> = {}) {
      return reg.versions.create(admin, name, { files: await upload(files), ...extra });
    }

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      storeUrl = opened.url;
      clock = new FakeClock();
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store, blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
    });
    after(async () => cleanup?.());

    it('registers a version with a content digest and creates the model on first push', async () => {
      const v = await push('chatbot', { 'weights.bin': 'w1', 'config.json': '{}' }, { metadata: { val_loss: 0.342 }, tags: { task: 'support' } });
      assert.equal(v.version, 1);
      assert.equal(v.status, 'READY');
      assert.equal(v.digest, manifestDigest(v.files ?? []));
      assert.deepEqual(v.metadata, { val_loss: 0.342 });
      const m = await reg.models.get('chatbot');
      assert.equal(m.latest_version, 1);
      assert.deepEqual(m.protected_aliases, ['champion', 'production']);
    });

    it('gives the same digest to the same files and never reuses a deleted number', async () => {
      const a = await push('dedup', { 'a.txt': 'same' });
      const b = await push('dedup', { 'a.txt': 'same' });
      assert.equal(a.digest, b.digest);
      await reg.versions.delete(admin, 'dedup', 2);
      const c = await push('dedup', { 'a.txt': 'other' });
      assert.equal(c.version, 3);
      const byDigest = await reg.versions.resolve(`dedup@${a.digest}`);
      assert.equal(byDigest.version, 1);
    });

    it('refuses a commit whose blobs are missing and creates nothing', async () => {
      const err = await expectCode(
        reg.versions.create(admin, 'missing-blobs', { files: [{ path: 'x', size: 3, sha256: sha('not uploaded') }] }),
        'FAILED_PRECONDITION',
      );
      assert.deepEqual(err.details.missing, [sha('not uploaded')]);
      await expectCode(reg.models.get('missing-blobs'), 'NOT_FOUND');
    });

    it('refuses a manifest whose declared size differs from the blob', async () => {
      const [f] = await upload({ 'f.txt': 'hello' });
      await expectCode(reg.versions.create(admin, 'sizes', { files: [{ ...f, size: 99 }] }), 'INVALID_ARGUMENT', /declares size 99/);
    });

    it('moves an alias with compare-and-swap and reports the current value on conflict', async () => {
      await push('cas', { a: '1' });
      await push('cas', { a: '2' });
      await reg.aliases.set(admin, 'cas', 'champion', { version: 1, reason: 'first release' });
      await reg.aliases.set(admin, 'cas', 'champion', { version: 2, expect: 1, reason: 'beats v1' });
      const err = await expectCode(reg.aliases.set(admin, 'cas', 'champion', { version: 1, expect: 1 }), 'CONFLICT', /champion is at 2 now/);
      assert.equal(err.details.current, 2);
      assert.equal((await reg.versions.resolve('cas@champion')).version, 2);
      await expectCode(reg.aliases.set(admin, 'cas', 'challenger', { version: 1, expect: 2 }), 'CONFLICT', /not set/);
      await reg.aliases.set(admin, 'cas', 'challenger', { version: 1, expect: null });
    });

    it('lets exactly one of many concurrent CAS moves win', async () => {
      for (let i = 0; i < 3; i++) await push('race', { a: `v${i}` });
      await reg.aliases.set(admin, 'race', 'staging', { version: 1 });
      const results = await Promise.allSettled([2, 3, 2, 3, 2, 3].map((v) => reg.aliases.set(admin, 'race', 'staging', { version: v, expect: 1 })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as BerthError).code, 'CONFLICT');
      const hist = await reg.aliases.history('race', 'staging', {});
      assert.equal(hist.items.length, 2);
    });

    it('answers alias resolves from memory only while nothing changed', async () => {
      await push('hot', { a: '1' });
      await push('hot', { a: '2' });
      await expectCode(reg.versions.resolveAlias('hot', 'champion'), 'NOT_FOUND', /not set/);
      await expectCode(reg.versions.resolveAlias('ghost', 'champion'), 'NOT_FOUND', /model "ghost"/);
      await reg.aliases.set(admin, 'hot', 'champion', { version: 1 });
      assert.equal((await reg.versions.resolveAlias('hot', 'champion')).version, 1);
      await reg.aliases.set(admin, 'hot', 'champion', { version: 2 });
      const v = await reg.versions.resolveAlias('hot', 'champion');
      assert.equal(v.version, 2);
      assert.deepEqual(v.aliases, ['champion']);
      await reg.aliases.set(admin, 'hot', 'staging', { version: 2 });
      assert.deepEqual((await reg.versions.resolveAlias('hot', 'champion')).aliases, ['champion', 'staging']);
      await reg.versions.update(admin, 'hot', 2, { metadata: { accuracy: 0.93 } });
      assert.deepEqual((await reg.versions.resolveAlias('hot', 'champion')).metadata, { accuracy: 0.93 });
      await reg.aliases.delete(admin, 'hot', 'champion');
      await expectCode(reg.versions.resolveAlias('hot', 'champion'), 'NOT_FOUND');
      // another process writing the same database is noticed too
      const other = await openStore(storeUrl);
      const otherReg = new Registry({ store: other, blobs: reg.deps.blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
      await reg.aliases.set(admin, 'hot', 'champion', { version: 1 });
      assert.equal((await reg.versions.resolveAlias('hot', 'champion')).version, 1);
      await otherReg.aliases.set(admin, 'hot', 'champion', { version: 2 });
      assert.equal((await reg.versions.resolveAlias('hot', 'champion')).version, 2);
      await other.close();
    });

    it('moves several aliases atomically: all or none', async () => {
      await push('swap', { a: '1' });
      await push('swap', { a: '2' });
      await reg.aliases.move(admin, 'swap', [
        { alias: 'champion', version: 1 },
        { alias: 'challenger', version: 2 },
      ]);
      await expectCode(
        reg.aliases.move(admin, 'swap', [
          { alias: 'champion', version: 2, expect: 1 },
          { alias: 'challenger', version: 1, expect: 1 },
        ]),
        'CONFLICT',
      );
      assert.deepEqual((await reg.models.get('swap')).aliases, { champion: 1, challenger: 2 });
      await reg.aliases.move(
        admin,
        'swap',
        [
          { alias: 'champion', version: 2, expect: 1 },
          { alias: 'challenger', version: 1, expect: 2 },
        ],
        'swap after eval',
      );
      assert.deepEqual((await reg.models.get('swap')).aliases, { champion: 2, challenger: 1 });
    });

    it('keeps protected aliases to approvers and records a reason', async () => {
      await push('guarded', { a: '1' });
      await expectCode(reg.aliases.set(editor, 'guarded', 'champion', { version: 1 }), 'PERMISSION_DENIED');
      await reg.aliases.set(editor, 'guarded', 'staging', { version: 1 });
      await reg.aliases.set(admin, 'guarded', 'production', { version: 1 });
      const h = await reg.aliases.history('guarded', 'production', {});
      assert.match(h.items[0]!.reason ?? '', /no reason given; moved through the api API/);
    });

    it('lets nothing move a frozen alias until it is unfrozen', async () => {
      await push('frozen', { a: '1' });
      await push('frozen', { a: '2' });
      await reg.aliases.set(admin, 'frozen', 'champion', { version: 1 });
      await reg.aliases.setFrozen(admin, 'frozen', 'champion', true, 'incident 42');
      await expectCode(reg.aliases.set(admin, 'frozen', 'champion', { version: 2 }), 'FAILED_PRECONDITION', /frozen/);
      await expectCode(reg.versions.delete(admin, 'frozen', 1, { force: true }), 'FAILED_PRECONDITION', /frozen/);
      await reg.aliases.setFrozen(admin, 'frozen', 'champion', false);
      await reg.aliases.set(admin, 'frozen', 'champion', { version: 2 });
    });

    it('guards deletion of a version that aliases point at', async () => {
      await push('del', { a: '1' });
      await reg.aliases.set(admin, 'del', 'champion', { version: 1 });
      const err = await expectCode(reg.versions.delete(admin, 'del', 1), 'FAILED_PRECONDITION', /@champion/);
      assert.deepEqual(err.details.aliases, ['champion']);
      await expectCode(reg.versions.delete(editor, 'del', 1, { force: true }), 'PERMISSION_DENIED', /@champion/);
      await reg.versions.delete(admin, 'del', 1, { force: true });
      assert.deepEqual((await reg.models.get('del')).aliases, {});
      const h = await reg.aliases.history('del', 'champion', {});
      assert.equal(h.items.at(-1)?.action, 'alias.delete');
    });

    it('records each alias change in the audit trail and in the alias history, whichever way the alias went', async () => {
      await push('rec', { a: '1' });
      await push('rec', { a: '2' });
      await reg.aliases.set(admin, 'rec', 'staging', { version: 1 });
      await reg.aliases.set(admin, 'rec', 'champion', { version: 2 });
      await reg.aliases.setFrozen(admin, 'rec', 'champion', true, ' incident 7 ');
      await reg.versions.delete(admin, 'rec', 1, { force: true });
      await reg.models.delete(admin, 'rec', { force: true });
      const events = (await store.read.audit.list({ afterSeq: 0, limit: 10_000 })).filter((e) => e.model === 'rec' && e.subject_type === 'alias');
      const seen = events.map(({ action, subject, before, after, reason }) => ({ action, subject, before, after, reason }));
      assert.deepEqual(seen, [
        { action: 'alias.set', subject: 'rec@staging', before: null, after: { version: 1 }, reason: null },
        { action: 'alias.set', subject: 'rec@champion', before: null, after: { version: 2 }, reason: 'no reason given; moved through the api API' },
        { action: 'alias.freeze', subject: 'rec@champion', before: { version: 2, frozen: false }, after: { version: 2, frozen: true }, reason: 'incident 7' },
        { action: 'alias.delete', subject: 'rec@staging', before: { version: 1 }, after: null, reason: 'version 1 deleted' },
        { action: 'alias.delete', subject: 'rec@champion', before: { version: 2 }, after: null, reason: 'model deleted' },
      ]);
      const modelId = events[0]!.model_id as number;
      const history = await store.read.aliases.history(modelId, 'champion', { limit: 10 });
      assert.deepEqual(
        history.map(({ seq, action, from_version, to_version, reason }) => ({ seq, action, from_version, to_version, reason })),
        events
          .filter((e) => e.subject === 'rec@champion')
          .map((e, i) => ({ seq: e.seq, action: e.action, from_version: i === 0 ? null : 2, to_version: i === 2 ? null : 2, reason: e.reason })),
      );
      assert.equal((await reg.audit.verify()).ok, true);
    });

    it('keeps one set of run rules whichever front logs to the run', async () => {
      const native = await reg.runs.create(admin, { experiment: 'rules', params: { lr: '0.1' } });
      const mlflow = await reg.runs.start(admin, {});
      const changed = /Changing param values is not allowed\. Param with key='lr' was already logged with value='0\.1'/;
      await expectCode(reg.runs.log(admin, native.run.id, { params: { lr: '0.2' } }), 'INVALID_ARGUMENT', changed);
      await expectCode(reg.runs.record(admin, native.run.id, { params: { lr: '0.2' } }), 'INVALID_ARGUMENT', changed);
      await reg.runs.record(admin, mlflow.run.id, { params: { lr: '0.1' } });
      await expectCode(reg.runs.log(admin, mlflow.run.id, { params: { lr: '0.3' } }), 'INVALID_ARGUMENT', changed);
      const status = /Invalid run status DONE: use one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED/;
      await expectCode(reg.runs.log(admin, native.run.id, { status: 'DONE' }), 'INVALID_ARGUMENT', status);
      await expectCode(reg.runs.record(admin, mlflow.run.id, { status: 'DONE' }), 'INVALID_ARGUMENT', status);
      // The same param again, and a dataset logged twice, change nothing.
      const dataset = { name: 'train', digest: 'd1', source: null };
      await reg.runs.log(admin, native.run.id, { params: { lr: '0.1' }, datasets: [dataset] });
      const after = await reg.runs.log(admin, native.run.id, { datasets: [dataset], status: 'FINISHED' });
      assert.deepEqual(after.run.params, { lr: '0.1' });
      assert.deepEqual(after.run.datasets, [dataset]);
      assert.equal(after.run.status, 'FINISHED');
      await reg.runs.delete(admin, mlflow.run.id);
      await expectCode(reg.runs.log(admin, mlflow.run.id, { tags: { k: 'v' } }), 'INVALID_ARGUMENT', /must be in the 'active' state/);
      await expectCode(reg.runs.get('no-such-run'), 'NOT_FOUND', /Run with id=no-such-run not found/);
    });

    it('refuses to delete a version that another version pins', async () => {
      const base = await push('base-llm', { w: 'base' });
      await push('adapter', { a: 'lora' }, { kind: 'adapter', dependencies: [{ model: 'base-llm', version: 1, digest: base.digest }] });
      await expectCode(reg.versions.delete(admin, 'base-llm', 1, { force: true }), 'FAILED_PRECONDITION', /adapter:1 pin it/);
      await expectCode(
        push('adapter', { a: 'lora2' }, { dependencies: [{ model: 'base-llm', version: 1, digest: `sha256:${'0'.repeat(64)}` }] }),
        'INVALID_ARGUMENT',
        /has digest/,
      );
    });

    it('answers which version an alias pointed to at a time, and how the model looked', async () => {
      await push('tt', { a: '1' });
      await push('tt', { a: '2' });
      const t0 = clock.now();
      clock.advance(60_000);
      await reg.aliases.set(admin, 'tt', 'champion', { version: 1 });
      const t1 = clock.now();
      clock.advance(60_000);
      await reg.models.update(admin, 'tt', { description: 'second' });
      await reg.aliases.set(admin, 'tt', 'champion', { version: 2 });
      const t2 = clock.now();
      clock.advance(60_000);
      await reg.aliases.delete(admin, 'tt', 'champion');
      assert.equal((await reg.aliases.at('tt@champion', t0)).version, null);
      assert.equal((await reg.aliases.at('tt@champion', new Date(t1).toISOString())).version, 1);
      assert.equal((await reg.aliases.at('tt@champion', t2 + 1)).version, 2);
      assert.equal((await reg.aliases.at('tt@champion', clock.now())).version, null);
      const at1 = await reg.aliases.modelAt('tt', t1);
      assert.equal(at1.model?.description, '');
      assert.deepEqual(at1.aliases, { champion: 1 });
      const at2 = await reg.aliases.modelAt('tt', t2);
      assert.equal(at2.model?.description, 'second');
      // the history follows a rename
      await reg.models.update(admin, 'tt', { new_name: 'tt-renamed' });
      assert.equal((await reg.aliases.at('tt-renamed@champion', t1)).version, 1);
      assert.equal((await reg.aliases.at('tt@champion', t1)).version, 1);
    });

    it('writes an outbox event in the same transaction as each change, and tells commit listeners', async () => {
      await push('outbox', { a: '1' });
      await push('outbox', { a: '2' });
      let commits = 0;
      const stop = store.onCommit(() => commits++);
      const before = await store.read.events.last();
      await reg.aliases.set(admin, 'outbox', 'staging', { version: 1 });
      await reg.aliases.set(admin, 'outbox', 'staging', { version: 2, reason: 'v2 is better' });
      stop();
      assert.ok(commits >= 2, 'each committed change is announced');
      const events = await store.read.events.after(before, 10);
      assert.deepEqual(
        events.map((e) => [e.type, e.event.data.previous_version, e.event.data.version, e.event.reason]),
        [
          ['alias.moved', null, 1, null],
          ['alias.moved', 1, 2, 'v2 is better'],
        ],
      );
      const audit = await store.read.audit.list({ afterSeq: before, limit: 10 });
      assert.deepEqual(
        events.map((e) => e.seq),
        audit.map((a) => a.seq),
        'one event per audit event, under its seq',
      );
      assert.equal(events[0]?.event.subject, 'outbox@staging');
      assert.equal(events[0]?.event.actor, admin.name);
      assert.equal((await store.read.events.find(events[1]!.seq))?.event.data.version, 2);
      assert.equal(await store.read.events.last(), events[1]!.seq);
      // a refused change writes no event
      await expectCode(reg.aliases.set(admin, 'outbox', 'staging', { version: 1, expect: 1 }), 'CONFLICT');
      assert.equal(await store.read.events.last(), events[1]!.seq);
    });

    it('holds scoped roles only for the models inside the scope', async () => {
      await push('scoped-a', { a: '1' });
      await push('other-b', { a: '1' });
      const ci: Actor = { name: 'ci', roles: new Set(['viewer', 'editor']), via: 'api', scopes: ['scoped-*'] };
      await reg.aliases.set(ci, 'scoped-a', 'staging', { version: 1 });
      await expectCode(reg.aliases.set(ci, 'other-b', 'staging', { version: 1 }), 'PERMISSION_DENIED', /outside the models ci may change \(scoped-\*\)/);
      assert.deepEqual(await reg.aliases.list('other-b'), []);
      await expectCode(reg.aliases.set(editor, 'scoped-a', 'champion', { version: 1 }), 'PERMISSION_DENIED', /needs the approver role/);
    });

    it('writes a hash-chained audit event for every change and detects tampering', async () => {
      const events = await reg.audit.list({ limit: 1000 });
      assert.ok(events.items.length > 10);
      for (let i = 1; i < events.items.length; i++) assert.equal(events.items[i]!.prev_hash, events.items[i - 1]!.hash);
      assert.equal((await reg.audit.verify()).ok, true);
      const target = events.items[5];
      assert.ok(target);
      await store.db.updateTable('audit_events').set({ reason: 'rewritten' }).where('seq', '=', target.seq).execute();
      const v = await reg.audit.verify();
      assert.equal(v.ok, false);
      assert.equal(v.first_bad_seq, target.seq);
      await store.db.updateTable('audit_events').set({ reason: target.reason }).where('seq', '=', target.seq).execute();
      assert.equal((await reg.audit.verify()).ok, true);
      const row = await store.db.selectFrom('audit_events').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
      await store.db.deleteFrom('audit_events').where('seq', '=', 3).execute();
      const gap = await reg.audit.verify();
      assert.equal(gap.first_bad_seq, 3);
      assert.equal(gap.problem, 'sequence-gap');
      await store.db.insertInto('audit_events').values(row).execute();
      assert.equal((await reg.audit.verify()).ok, true);
    });

    it('keeps the audit chain linear under concurrent writers', async () => {
      await push('par', { a: 'p' });
      const head = (await reg.audit.list({ limit: 1000 })).items.length;
      await Promise.all(Array.from({ length: 12 }, (_, i) => reg.models.update(admin, 'par', { tags: { [`k${i}`]: 'v' } })));
      const all = await store.read.audit.list({ afterSeq: 0, limit: 10_000 });
      for (let i = 1; i < all.length; i++) {
        assert.equal(all[i]!.seq, all[i - 1]!.seq + 1);
        assert.equal(all[i]!.prev_hash, all[i - 1]!.hash);
      }
      assert.ok(all.length >= head + 12);
      assert.equal((await reg.audit.verify()).ok, true);
      assert.equal(Object.keys((await reg.models.get('par')).tags).length, 12, 'no tag edit was lost');
    });

    it('hands out distinct version numbers to concurrent pushes', async () => {
      const files = await upload({ c: 'concurrent' });
      const vs = await Promise.all(Array.from({ length: 8 }, () => reg.versions.create(admin, 'conc', { files })));
      assert.deepEqual(
        vs.map((v) => v.version).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
    });

    it('pages through models and versions with opaque cursors', async () => {
      for (let i = 0; i < 5; i++) await push('pages', { a: `p${i}` });
      const first = await reg.versions.list('pages', { limit: 2 });
      assert.deepEqual(
        first.items.map((v) => v.version),
        [5, 4],
      );
      const second = await reg.versions.list('pages', { limit: 2, cursor: first.next_cursor ?? undefined });
      assert.deepEqual(
        second.items.map((v) => v.version),
        [3, 2],
      );
      const third = await reg.versions.list('pages', { limit: 2, cursor: second.next_cursor ?? undefined });
      assert.deepEqual(
        third.items.map((v) => v.version),
        [1],
      );
      assert.equal(third.next_cursor, null);
      await expectCode(reg.versions.list('pages', { cursor: 'garbage!' }), 'INVALID_ARGUMENT', /cursor/);
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await reg.models.list({ limit: 3, cursor });
        names.push(...p.items.map((m) => m.name));
        cursor = p.next_cursor ?? undefined;
      } while (cursor);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes('pages') && names.includes('chatbot'));
    });

    it('edits metadata and tags after READY, audited, but never files', async () => {
      await push('edit', { a: '1' }, { metadata: { a: 1, b: 2 }, tags: { wip: 'yes' } });
      const v = await reg.versions.update(admin, 'edit', 1, {
        description: 'reviewed',
        metadata: { b: null, c: 3 },
        tags: { reviewed: 'yes' },
        untag: ['wip'],
      });
      assert.deepEqual(v.metadata, { a: 1, c: 3 });
      assert.deepEqual(v.tags, { reviewed: 'yes' });
      const audit = await reg.audit.list({ model: 'edit' });
      assert.deepEqual(
        audit.items.map((e) => e.action),
        ['model.create', 'version.create', 'version.update'],
      );
    });

    it('collects only unreferenced blobs past the grace period', async () => {
      // blob ages come from the file system's clock
      clock.t = Date.now() + 1000;
      const [kept] = await upload({ k: 'kept-by-version' });
      assert.ok(kept);
      await reg.versions.create(admin, 'gc-model', { files: [kept] });
      const orphan = sha('orphan');
      await reg.blobs.put(admin, orphan, Readable.from([Buffer.from('orphan')]));
      const fresh = await reg.gc.run(admin, { dry_run: true, grace_seconds: 3600 });
      assert.equal(fresh.candidates, 0, 'a fresh blob is inside the grace period');
      const dry = await reg.gc.run(admin, { dry_run: true, grace_seconds: 0 });
      assert.ok(dry.candidates >= 1);
      assert.ok(await reg.blobs.stat(orphan));
      // an open upload session protects the blobs it lists
      const session = await reg.blobs.openUpload(admin, [{ path: 'o', size: 6, sha256: orphan }]);
      assert.deepEqual(session.missing, []);
      await reg.gc.run(admin, { grace_seconds: 0 });
      assert.ok(await reg.blobs.stat(orphan), 'protected by the open upload');
      assert.ok(await reg.blobs.stat(kept.sha256));
      clock.advance(DEFAULT_REGISTRY_CONFIG.uploadTtlMs + 1);
      const real = await reg.gc.run(admin, { grace_seconds: 0 });
      assert.ok(real.removed >= 1);
      assert.equal(await reg.blobs.stat(orphan), undefined);
      assert.ok(await reg.blobs.stat(kept.sha256), 'a referenced blob is never collected');
      await expectCode(reg.gc.run(editor, {}), 'PERMISSION_DENIED');
    });
  });
}
