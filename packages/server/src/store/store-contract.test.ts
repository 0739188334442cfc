import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { migrate, openStore, type Store } from './store.js';

/** The same contract for every metadata backend (CONVENTIONS "Run the same suite against every implementation"). */
for (const backend of BACKENDS) {
  describe(`metadata store contract on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let url = '';
    const now = Date.parse('2026-03-08T14:32:00Z');

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      cleanup = opened.cleanup;
      // An embedded store is a file a second process can open; a server's database is not reopened here.
      const file = join(opened.dir, 'berth.db');
      url = existsSync(file) ? `sqlite:${file}` : '';
    });
    after(async () => cleanup?.());

    async function model(name: string) {
      return store.transaction((tx) =>
        tx.models.insert({ name, kind: 'model', description: '', tags: {}, protected_aliases: [], created_at: now, updated_at: now }),
      );
    }

    async function version(modelId: number, n: number) {
      return store.transaction((tx) =>
        tx.versions.insert(
          {
            model_id: modelId,
            version: n,
            digest: `sha256:${String(n).padStart(64, '0')}`,
            status: 'READY',
            stage: 'None',
            size: 2 ** 40 + n,
            file_count: 1,
            metadata: { n },
            tags: {},
            description: '',
            source: null,
            run_id: null,
            dependencies: [],
            created_by: 't',
            created_at: now + n,
            updated_at: now + n,
          },
          [{ path: `f${n}.bin`, size: 2 ** 40 + n, sha256: 'a'.repeat(64) }],
        ),
      );
    }

    it('round-trips JSON, unicode and 64-bit sizes and times exactly', async () => {
      const m = await store.transaction((tx) =>
        tx.models.insert({
          name: 'json-model',
          kind: 'prompt',
          description: 'ünïcødé ✓ "quoted"',
          tags: { 'k/é': 'v\u2028' },
          protected_aliases: ['champion'],
          created_at: now,
          updated_at: now,
        }),
      );
      const back = await store.read.models.findByName('json-model');
      assert.deepEqual(back, m);
      const v = await store.transaction((tx) =>
        tx.versions.insert(
          {
            model_id: m.id,
            version: 1,
            digest: `sha256:${'b'.repeat(64)}`,
            status: 'READY',
            stage: 'None',
            size: 5 * 2 ** 40,
            file_count: 1,
            metadata: { nested: { list: [1, 2.5, null, 'x'], deep: { a: true } } },
            tags: { a: 'b' },
            description: '',
            source: 'runs:/abc/model',
            run_id: null,
            dependencies: [],
            created_by: 't',
            created_at: now,
            updated_at: now,
          },
          [{ path: 'dir/ünï.bin', size: 5 * 2 ** 40, sha256: 'c'.repeat(64) }],
        ),
      );
      const found = await store.read.versions.find(m.id, 1);
      assert.deepEqual(found, v);
      assert.equal(found?.size, 5 * 2 ** 40);
      assert.deepEqual(await store.read.versions.files(v.id), [{ path: 'dir/ünï.bin', size: 5 * 2 ** 40, sha256: 'c'.repeat(64) }]);
    });

    it("keeps an external version's URI and leaves it out of every lookup by digest (decision 0021)", async () => {
      const m = await model('external-model');
      const digest = `sha256:${'e'.repeat(64)}`;
      const row = (n: number, external_uri: string | null) => ({
        model_id: m.id,
        version: n,
        digest,
        status: 'READY' as const,
        stage: 'None' as const,
        size: 0,
        file_count: 0,
        metadata: {},
        tags: {},
        description: '',
        source: external_uri,
        run_id: null,
        dependencies: [],
        external_uri,
        created_by: 't',
        created_at: now + n,
        updated_at: now + n,
      });
      const ext = await store.transaction((tx) => tx.versions.insert(row(1, 's3://bucket/model'), []));
      assert.deepEqual([ext.external_uri, ext.content_addressed], ['s3://bucket/model', false]);
      assert.deepEqual(await store.read.versions.find(m.id, 1), ext);
      assert.equal(await store.read.versions.findByDigest(m.id, digest), undefined);
      assert.equal(await store.read.versions.findByDigestPrefix(m.id, 'e'.repeat(40)), undefined);
      assert.equal(await store.read.versions.findAnyByDigest(digest), undefined);
      const plain = await store.transaction((tx) => tx.versions.insert(row(2, null), []));
      assert.deepEqual([plain.external_uri, plain.content_addressed], [null, true]);
      assert.equal((await store.read.versions.findByDigest(m.id, digest))?.version, 2);
      assert.equal((await store.read.versions.findByDigestPrefix(m.id, 'e'.repeat(40)))?.version, 2);
      assert.equal((await store.read.versions.findAnyByDigest(digest))?.version, 2);
      assert.equal((await store.read.versions.findLatest(m.id))?.version, 2);
    });

    it('refuses a second model of the same name', async () => {
      await model('unique-name');
      await assert.rejects(model('unique-name'), (e: unknown) => e instanceof BerthError && e.code === 'ALREADY_EXISTS');
    });

    it('hands out version numbers from a counter that never goes back', async () => {
      const m = await model('counter');
      const a = await store.transaction((tx) => tx.models.nextVersion(m.id));
      const b = await store.transaction((tx) => tx.models.nextVersion(m.id));
      assert.deepEqual([a, b], [1, 2]);
      await version(m.id, 2);
      const v2 = await store.read.versions.find(m.id, 2);
      await store.transaction((tx) => tx.versions.delete(v2!.id));
      assert.equal(await store.transaction((tx) => tx.models.nextVersion(m.id)), 3);
    });

    it('rolls a failed transaction back whole', async () => {
      const m = await model('rollback');
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.models.update(m.id, { description: 'changed' }, now + 1);
          await tx.audit.append({
            at: now,
            actor: 't',
            action: 'model.update',
            model_id: m.id,
            model: m.name,
            subject_type: 'model',
            subject: m.name,
            before: null,
            after: null,
            reason: null,
          });
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await store.read.models.findByName('rollback'))?.description, '');
    });

    it('makes a dangling alias impossible: an alias must point at an existing version', async () => {
      const m = await model('fk');
      await version(m.id, 1);
      await assert.rejects(
        store.transaction((tx) => tx.aliases.insert({ model_id: m.id, alias: 'champion', version: 9, frozen: false, updated_by: 't', updated_at: now })),
      );
      await store.transaction((tx) => tx.aliases.insert({ model_id: m.id, alias: 'champion', version: 1, frozen: false, updated_by: 't', updated_at: now }));
      const v1 = await store.read.versions.find(m.id, 1);
      await assert.rejects(
        store.transaction((tx) => tx.versions.delete(v1!.id)),
        'the version an alias points at cannot go while the alias stays',
      );
      assert.ok(await store.read.versions.find(m.id, 1));
    });

    it('moves an alias only while it holds the expected version', async () => {
      const m = await model('cas');
      await version(m.id, 1);
      await version(m.id, 2);
      await store.transaction((tx) => tx.aliases.insert({ model_id: m.id, alias: 'staging', version: 1, frozen: false, updated_by: 't', updated_at: now }));
      assert.equal(await store.transaction((tx) => tx.aliases.compareAndSet(m.id, 'staging', 2, 1, 't', now)), false);
      assert.equal(await store.transaction((tx) => tx.aliases.compareAndSet(m.id, 'staging', 1, 2, 't', now)), true);
      assert.equal((await store.read.aliases.find(m.id, 'staging'))?.version, 2);
      await store.transaction((tx) => tx.aliases.setFrozen(m.id, 'staging', true, 't', now));
      assert.equal(await store.transaction((tx) => tx.aliases.compareAndSet(m.id, 'staging', 2, 1, 't', now)), false, 'a frozen alias never moves');
    });

    it('answers alias history at a time with the last row at or before it', async () => {
      const m = await model('history');
      for (const [i, to] of [
        [1, 1],
        [2, 2],
        [3, null],
      ] as const) {
        await store.transaction((tx) =>
          tx.aliases.appendHistory({
            seq: 1000 + i,
            model_id: m.id,
            alias: 'champion',
            action: to === null ? 'alias.delete' : 'alias.set',
            from_version: null,
            to_version: to,
            actor: 't',
            at: now + i * 1000,
            reason: null,
          }),
        );
      }
      assert.equal(await store.read.aliases.historyAt(m.id, 'champion', now), undefined);
      assert.equal((await store.read.aliases.historyAt(m.id, 'champion', now + 1000))?.to_version, 1);
      assert.equal((await store.read.aliases.historyAt(m.id, 'champion', now + 2500))?.to_version, 2);
      assert.equal((await store.read.aliases.historyAt(m.id, 'champion', now + 9999))?.action, 'alias.delete');
      assert.deepEqual(await store.read.aliases.allAt(m.id, now + 2500), { champion: 2 });
      assert.deepEqual(await store.read.aliases.allAt(m.id, now + 3000), {});
    });

    it('chains audit events and keeps the head in step', async () => {
      const before = await store.read.audit.head();
      const e1 = await store.transaction((tx) =>
        tx.audit.append({
          at: now,
          actor: 't',
          action: 'x.a',
          model_id: null,
          model: null,
          subject_type: 'system',
          subject: 's',
          before: null,
          after: { n: 1 },
          reason: null,
        }),
      );
      const e2 = await store.transaction((tx) =>
        tx.audit.append({
          at: now,
          actor: 't',
          action: 'x.b',
          model_id: null,
          model: null,
          subject_type: 'system',
          subject: 's',
          before: { n: 1 },
          after: { n: 2 },
          reason: 'why',
        }),
      );
      assert.equal(e1.seq, before.seq + 1);
      assert.equal(e1.prev_hash, before.hash);
      assert.equal(e2.prev_hash, e1.hash);
      assert.deepEqual(await store.read.audit.head(), { seq: e2.seq, hash: e2.hash });
      const listed = await store.read.audit.list({ afterSeq: before.seq, limit: 10 });
      assert.deepEqual(
        listed.map((e) => e.hash),
        [e1.hash, e2.hash],
      );
    });

    it('lists audit events of one action or one actor when asked', async () => {
      const before = await store.read.audit.head();
      const append = (action: string, actor: string) =>
        store.transaction((tx) =>
          tx.audit.append({
            at: now,
            actor,
            action,
            model_id: null,
            model: null,
            subject_type: 'system',
            subject: 's',
            before: null,
            after: null,
            reason: null,
          }),
        );
      const a = await append('y.set', 'ci');
      const b = await append('y.delete', 'ci');
      const c = await append('y.set', 'ops');
      const seqs = async (opts: { action?: string; actor?: string }) =>
        (await store.read.audit.list({ ...opts, afterSeq: before.seq, limit: 10 })).map((e) => e.seq);
      assert.deepEqual(await seqs({ action: 'y.set' }), [a.seq, c.seq]);
      assert.deepEqual(await seqs({ actor: 'ci' }), [a.seq, b.seq]);
      assert.deepEqual(await seqs({ action: 'y.set', actor: 'ops' }), [c.seq]);
      assert.deepEqual(await seqs({ action: 'y.none' }), []);
    });

    it('commits concurrent transactions independently: a failing one leaves nothing, the others all land, the chain stays whole', async () => {
      // The duplicate refused below is committed before the batch starts: a duplicate of a
      // row another transaction of the batch holds uncommitted would wait on that row while
      // holding the audit head, and PostgreSQL would break the deadlock by aborting one of them.
      await store.transaction((tx) =>
        tx.models.insert({ name: 'taken', kind: 'model', description: '', tags: {}, protected_aliases: [], created_at: now, updated_at: now }),
      );
      const before = await store.read.audit.head();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          store.transaction(async (tx) => {
            const m = await tx.models.insert({
              name: `group-${i}`,
              kind: 'model',
              description: '',
              tags: { i: String(i) },
              protected_aliases: [],
              created_at: now,
              updated_at: now,
            });
            const e = await tx.audit.append({
              at: now,
              actor: 't',
              action: 'model.create',
              model_id: m.id,
              model: m.name,
              subject_type: 'model',
              subject: m.name,
              before: null,
              after: { i },
              reason: null,
            });
            if (i % 4 === 3) throw new BerthError('INVALID_ARGUMENT', `refused ${i}`, {});
            if (i === 5)
              await tx.models.insert({ name: 'taken', kind: 'model', description: '', tags: {}, protected_aliases: [], created_at: now, updated_at: now });
            return { name: m.name, seq: e.seq };
          }),
        ),
      );
      const failed = [3, 5, 7, 11];
      outcomes.forEach((o, i) => {
        if (failed.includes(i)) {
          assert.equal(o.status, 'rejected', `transaction ${i}`);
          assert.equal(((o as PromiseRejectedResult).reason as BerthError).code, i === 5 ? 'ALREADY_EXISTS' : 'INVALID_ARGUMENT');
        } else {
          assert.equal(o.status, 'fulfilled', `transaction ${i}`);
          assert.equal((o as PromiseFulfilledResult<{ name: string }>).value.name, `group-${i}`);
        }
      });
      const names = (await store.read.models.list({ prefix: 'group-', limit: 100 })).map((m) => m.name).sort();
      assert.deepEqual(
        names,
        Array.from({ length: 12 }, (_, i) => i)
          .filter((i) => !failed.includes(i))
          .map((i) => `group-${i}`)
          .sort(),
      );
      const events = await store.read.audit.list({ afterSeq: before.seq, limit: 100 });
      assert.equal(events.length, 8, 'only the committed transactions left audit events');
      let prev = before.hash;
      for (const [k, e] of events.entries()) {
        assert.equal(e.seq, before.seq + k + 1, 'sequence numbers have no gaps');
        assert.equal(e.prev_hash, prev);
        prev = e.hash;
      }
      assert.deepEqual(await store.read.audit.head(), { seq: before.seq + 8, hash: prev });
      assert.deepEqual(
        [...new Set(outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<{ seq: number }>).value.seq))].length,
        8,
      );
    });

    it('finds which blobs versions and open uploads still reference', async () => {
      const m = await model('refs');
      await version(m.id, 1);
      await store.transaction((tx) => tx.uploads.create('u1', ['d'.repeat(64)], 't', now, now + 1000));
      assert.deepEqual([...(await store.read.versions.referencedAmong(['a'.repeat(64), 'e'.repeat(64)]))], ['a'.repeat(64)]);
      assert.deepEqual([...(await store.read.uploads.protectedAmong(['d'.repeat(64)], now))], ['d'.repeat(64)]);
      assert.deepEqual([...(await store.read.uploads.protectedAmong(['d'.repeat(64)], now + 1000))], [], 'an expired session protects nothing');
      assert.equal(await store.transaction((tx) => tx.uploads.deleteExpired(now + 1000)), 1);
    });

    it('lists experiments in numeric id order, a page at a time, and refuses a duplicate name', async () => {
      for (const id of ['2', '10', '1']) {
        await store.transaction((tx) =>
          tx.experiments.insert({ id, name: `exp-${id}`, artifact_location: id, lifecycle_stage: 'active', tags: {}, created_at: now, updated_at: now }),
        );
      }
      assert.deepEqual(
        (await store.read.experiments.list({ limit: 10 })).map((e) => e.id),
        ['1', '2', '10'],
      );
      assert.deepEqual(
        (await store.read.experiments.list({ afterId: 1, limit: 1 })).map((e) => e.id),
        ['2'],
      );
      await assert.rejects(
        store.transaction((tx) =>
          tx.experiments.insert({ id: '11', name: 'exp-2', artifact_location: '11', lifecycle_stage: 'active', tags: {}, created_at: now, updated_at: now }),
        ),
        (e: unknown) => e instanceof BerthError && e.code === 'ALREADY_EXISTS',
      );
    });

    it('applies migrations once: migrating an up-to-date database changes nothing', async () => {
      await migrate(store.db, store.dialect);
      assert.ok(await store.read.models.findByName('counter'));
      if (url) {
        const again = await openStore(url);
        assert.ok(await again.read.models.findByName('counter'));
        await again.close();
      }
    });
  });
}
