import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { commitIdOf } from '@berth/core';
import { BACKENDS } from '../../../test-support/backends.js';
import { FakeClock } from '../../../test-support/expect.js';
import { buildApp } from '../../app.js';
import { FsBlobStore } from '../../blobs/fs-blob-store.js';
import { PartStaging } from '../../blobs/part-staging.js';
import { openStore, type Store } from '../../store/store.js';
import { Registry } from '../../registry/registry.js';
import { DEFAULT_REGISTRY_CONFIG } from '../../registry/deps.js';
import { HUB_UPLOAD_TTL_MS } from '../../registry/hub-commits.js';
import { localActor } from '../../registry/actor.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const nd = (...lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');
const put = (path: string, content: string) => ({ key: 'file', value: { path, content: b64(content), encoding: 'base64' } });
const LFS = { 'content-type': 'application/vnd.git-lfs+json' };

/** One server process: its own store handle on the shared database, the blob folder shared as a deployment shares it. */
async function server(url: string, blobDir: string, clock: FakeClock) {
  const store: Store = await openStore(url);
  const blobs = await FsBlobStore.open(blobDir);
  const registry = new Registry({ store, blobs, partStaging: new PartStaging(join(blobDir, 'multipart')), clock, config: DEFAULT_REGISTRY_CONFIG });
  const app = await buildApp({ registry });
  return {
    app,
    registry,
    close: async () => {
      await app.close();
      await blobs.close();
      await store.close();
    },
  };
}

for (const backend of BACKENDS) {
  describe(`hub commits on ${backend.name}`, { skip: backend.unavailable }, () => {
    const repo = 'team/shared';
    const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'), 1);
    let cleanup: () => Promise<void>;
    let a: Awaited<ReturnType<typeof server>>;
    let b: Awaited<ReturnType<typeof server>>;
    const commit = (app: FastifyInstance, body: string, rev = 'main') =>
      app.inject({ method: 'POST', url: `/api/models/${repo}/commit/${rev}`, headers: { 'content-type': 'application/x-ndjson' }, payload: body });
    const head = async () => commitIdOf((await a.registry.versions.resolve(`${repo}@latest`)).digest);
    const count = async () => (await a.registry.versions.list(repo, {})).items.length;

    before(async () => {
      const opened = await backend.open();
      cleanup = opened.cleanup;
      await opened.store.close();
      a = await server(opened.url, join(opened.dir, 'blobs'), clock);
      b = await server(opened.url, join(opened.dir, 'blobs'), clock);
      const created = await a.app.inject({ method: 'POST', url: '/api/repos/create', payload: { name: 'shared', organization: 'team' } });
      assert.equal(created.statusCode, 200, created.body);
      assert.equal((await commit(a.app, nd({ key: 'header', value: { summary: 'one' } }, put('a.txt', 'A')))).statusCode, 200);
    });
    after(async () => {
      await a.close();
      await b.close();
      await cleanup();
    });

    it('answers 412 to a stale parentCommit sent to another server, committing nothing', async () => {
      const first = await head();
      const moved = await commit(b.app, nd({ key: 'header', value: { summary: 'two', parentCommit: first } }, put('b.txt', 'B')));
      assert.equal(moved.statusCode, 200, moved.body);
      const n = await count();
      const stale = await commit(a.app, nd({ key: 'header', value: { summary: 'late', parentCommit: first } }, put('c.txt', 'C')));
      assert.equal(stale.statusCode, 412);
      assert.match(stale.json().error, /parentCommit/);
      assert.equal(await count(), n);
      assert.equal(await head(), moved.json().commitOid);
    });

    it('lets exactly one of two racing commits on the same parent win; the other is refused and leaves nothing', async () => {
      const parent = await head();
      const n = await count();
      const [r1, r2] = await Promise.all([
        commit(a.app, nd({ key: 'header', value: { summary: 'race a', parentCommit: parent } }, put('race.txt', 'from a'))),
        commit(b.app, nd({ key: 'header', value: { summary: 'race b', parentCommit: parent } }, put('race.txt', 'from b'))),
      ]);
      assert.deepEqual([r1.statusCode, r2.statusCode].sort(), [200, 412]);
      assert.equal(await count(), n + 1);
      const winner = r1.statusCode === 200 ? r1 : r2;
      assert.equal(await head(), winner.json().commitOid);
    });

    it('moves an alias branch with compare-and-swap; a malformed commit halfway commits nothing', async () => {
      await a.registry.aliases.set(localActor(), repo, 'staging', { version: 1 });
      const staged = await commit(b.app, nd({ key: 'header', value: { summary: 'staged' } }, put('s.txt', 'S')), 'staging');
      assert.equal(staged.statusCode, 200, staged.body);
      assert.equal(commitIdOf((await a.registry.versions.resolve(`${repo}@staging`)).digest), staged.json().commitOid);
      const n = await count();
      const half = await commit(a.app, `${nd({ key: 'header', value: { summary: 'half' } }, put('h.txt', 'H'))}\n{"key": "deletedFile", "val`);
      assert.equal(half.statusCode, 400);
      assert.equal(await count(), n);
    });

    it('refuses an upload link on the other server once it expired there too, and one for another oid', async () => {
      const content = 'shared object';
      const batch = await a.app.inject({
        method: 'POST',
        url: `/${repo}.git/info/lfs/objects/batch`,
        headers: LFS,
        payload: { operation: 'upload', objects: [{ oid: sha(content), size: content.length }] },
      });
      const href = new URL(batch.json().objects[0].actions.upload.href).pathname;
      const other = await b.app.inject({ method: 'PUT', url: href.replace(sha(content), sha('other!!!!!!!!')), payload: 'other!!!!!!!!' });
      assert.equal(other.statusCode, 403);
      clock.advance(HUB_UPLOAD_TTL_MS + 1);
      const late = await b.app.inject({ method: 'PUT', url: href, payload: content });
      assert.equal(late.statusCode, 404);
    });
  });
}
