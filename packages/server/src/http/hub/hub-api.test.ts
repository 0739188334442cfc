import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { commitIdOf } from '@berth/core';
import type { FastifyInstance } from 'fastify';
import { BACKENDS } from '../../../test-support/backends.js';
import { buildApp } from '../../app.js';
import { FsBlobStore } from '../../blobs/fs-blob-store.js';
import { localActor, systemClock } from '../../registry/actor.js';
import { DEFAULT_REGISTRY_CONFIG } from '../../registry/deps.js';
import { Registry } from '../../registry/registry.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const actor = localActor();

interface HubApp {
  app: FastifyInstance;
  registry: Registry;
  close(): Promise<void>;
}

/** A whole server on the backend's store (the commit-id lookup is a range scan in SQL, so it runs on both). */
async function openHubApp(backend: (typeof BACKENDS)[number]): Promise<HubApp> {
  const opened = await backend.open();
  const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
  const registry = new Registry({ store: opened.store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG });
  const app = await buildApp({ registry });
  return {
    app,
    registry,
    async close() {
      await app.close();
      await blobs.close();
      await opened.cleanup();
    },
  };
}

async function push(t: HubApp, name: string, files: Record<string, string>, description = '') {
  const manifest = Object.entries(files).map(([path, c]) => ({ path, size: Buffer.byteLength(c), sha256: sha(c) }));
  const blobs = [...new Set(Object.values(files))].map((c) => ({ sha256: sha(c), base64: Buffer.from(c).toString('base64') }));
  return t.registry.versions.create(actor, name, { files: manifest, blobs, description });
}

for (const backend of BACKENDS)
  describe(`hub front (read side) on ${backend.name}`, { skip: backend.unavailable }, () => {
    let t: HubApp;
    let c1: string;
    let c2: string;
    const repo = 'team/chatbot';
    const readme = '---\nlicense: mit\ntags: [chat, berth]\nlibrary_name: transformers\n---\n# Chatbot\n';

    before(async () => {
      t = await openHubApp(backend);
      const v1 = await push(
        t,
        repo,
        { 'config.json': '{"v": 1}', 'README.md': readme, 'weights/a.bin': 'AAAA', 'weights/deep/b.bin': 'BB' },
        'first\nlonger text',
      );
      const v2 = await push(t, repo, { 'config.json': '{"v": 2}', 'README.md': readme, 'weights/a.bin': 'AAAA' });
      c1 = commitIdOf(v1.digest);
      c2 = commitIdOf(v2.digest);
      await t.registry.aliases.set(actor, repo, 'champion', { version: 1 });
    });
    after(async () => t?.close());

    it('serves a file at main with the commit, etags and size the clients key their cache on', async () => {
      const res = await t.app.inject(`/${repo}/resolve/main/config.json`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, '{"v": 2}');
      assert.equal(res.headers['x-repo-commit'], c2);
      assert.equal(res.headers.etag, `"${sha('{"v": 2}')}"`);
      assert.equal(res.headers['x-linked-etag'], `"${sha('{"v": 2}')}"`);
      assert.equal(res.headers['x-linked-size'], '8');
      assert.equal(res.headers['accept-ranges'], 'bytes');
    });

    it('answers an alias with the immutable commit id, and a commit id with its own old bytes after a newer version', async () => {
      const alias = await t.app.inject({ method: 'HEAD', url: `/${repo}/resolve/champion/config.json` });
      assert.equal(alias.statusCode, 200);
      assert.equal(alias.headers['x-repo-commit'], c1);
      assert.equal(alias.headers['content-length'], '8');
      assert.equal(alias.body, '');
      const old = await t.app.inject(`/${repo}/resolve/${c1}/config.json`);
      assert.equal(old.body, '{"v": 1}');
      const digest = await t.app.inject(`/${repo}/resolve/${encodeURIComponent(`sha256:${sha('x')}`)}/config.json`);
      assert.equal(digest.headers['x-error-code'], 'RevisionNotFound');
    });

    it('resolves a Berth digest as a revision', async () => {
      const v1 = await t.registry.versions.get(repo, 1);
      const res = await t.app.inject(`/${repo}/resolve/${encodeURIComponent(v1.digest)}/weights/a.bin`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-repo-commit'], c1);
    });

    it('serves a byte range as 206 with Content-Range, and 416 past the end', async () => {
      const res = await t.app.inject({ url: `/${repo}/resolve/main/config.json`, headers: { range: 'bytes=0-0' } });
      assert.equal(res.statusCode, 206);
      assert.equal(res.headers['content-range'], 'bytes 0-0/8');
      assert.equal(res.body, '{');
      const past = await t.app.inject({ url: `/${repo}/resolve/main/config.json`, headers: { range: 'bytes=99-' } });
      assert.equal(past.statusCode, 416);
      assert.equal(past.headers['content-range'], 'bytes */8');
    });

    it('names what is missing in X-Error-Code: the repo, the revision, or the entry (with the commit)', async () => {
      const repoMissing = await t.app.inject({ method: 'HEAD', url: '/team/nope/resolve/main/config.json' });
      assert.equal(repoMissing.statusCode, 404);
      assert.equal(repoMissing.headers['x-error-code'], 'RepoNotFound');
      assert.match(String(repoMissing.headers['x-error-message']), /team\/nope/);
      const revMissing = await t.app.inject(`/${repo}/resolve/nope/config.json`);
      assert.equal(revMissing.headers['x-error-code'], 'RevisionNotFound');
      assert.match(revMissing.json().error, /revision "nope"/);
      const shaMissing = await t.app.inject(`/${repo}/resolve/${'0'.repeat(40)}/config.json`);
      assert.equal(shaMissing.headers['x-error-code'], 'RevisionNotFound');
      const entryMissing = await t.app.inject(`/${repo}/resolve/main/weights/deep/b.bin`);
      assert.equal(entryMissing.statusCode, 404);
      assert.equal(entryMissing.headers['x-error-code'], 'EntryNotFound');
      assert.equal(entryMissing.headers['x-repo-commit'], c2);
      const apiMissing = await t.app.inject('/api/models/team/nope');
      assert.equal(apiMissing.headers['x-error-code'], 'RepoNotFound');
    });

    it('refuses bad repo ids and paths with a 4xx naming the problem, and never serves outside the version', async () => {
      for (const url of [
        `/${repo}/resolve/main/..%2F..%2Fetc%2Fpasswd`,
        `/${repo}/resolve/main/a%2F..%2Fconfig.json`,
        `/${repo}/resolve/main//etc/passwd`,
        `/${repo}/resolve/main/config.json%00`,
      ]) {
        const res = await t.app.inject(url);
        assert.equal(res.statusCode, 400, url);
        assert.equal(res.headers['x-error-code'], 'INVALID_ARGUMENT', url);
        assert.match(res.json().error, /invalid file path/, url);
      }
      for (const url of [
        '/api/models/..%2Fteam/chatbot',
        '/team/..%2Fchatbot/resolve/main/config.json',
        '/team/.hidden/resolve/main/config.json',
        '/api/models/team/..%2F',
        '/api/models//chatbot',
      ]) {
        const res = await t.app.inject(url);
        assert.equal(res.statusCode, 400, url);
        assert.match(res.json().error, /model name/i, url);
      }
      for (const url of ['/api/models/a/b/c', '/api/models/chatbot', '/chatbot/resolve/main/config.json', '/a/b/c/resolve/main/x']) {
        const res = await t.app.inject(url);
        assert.equal(res.statusCode, 404, url);
        assert.ok(res.headers['x-error-code'], url);
        assert.match(res.json().error, /repo ids are namespace\/name/, url);
      }
    });

    it('answers model_info with id, sha, siblings and the README card data, at main and at a revision', async () => {
      const main = (await t.app.inject('/api/models/team/chatbot')).json();
      assert.equal(main.id, repo);
      assert.equal(main.sha, c2);
      assert.deepEqual(
        main.siblings.map((s: { rfilename: string }) => s.rfilename),
        ['README.md', 'config.json', 'weights/a.bin'],
      );
      assert.deepEqual(main.cardData, { license: 'mit', tags: ['chat', 'berth'], library_name: 'transformers' });
      assert.deepEqual(main.tags, ['chat', 'berth']);
      assert.equal(main.library_name, 'transformers');
      assert.match(main.lastModified, /Z$/);
      const sib = main.siblings.find((s: { rfilename: string }) => s.rfilename === 'config.json');
      assert.deepEqual(sib.lfs, { sha256: sha('{"v": 2}'), size: 8, pointerSize: sib.lfs.pointerSize });
      const champion = (await t.app.inject('/api/models/team/chatbot/revision/champion')).json();
      assert.equal(champion.sha, c1);
      assert.equal(champion.siblings.length, 4);
    });

    it('lists the tree of a revision, recursive or not, for a folder sent either way, and 404 EntryNotFound for a missing one', async () => {
      const root = (await t.app.inject(`/api/models/${repo}/tree/${c1}`)).json();
      assert.deepEqual(
        root.map((e: { path: string; type: string }) => `${e.type}:${e.path}`),
        ['file:README.md', 'file:config.json', 'directory:weights'],
      );
      const deep = (await t.app.inject(`/api/models/${repo}/tree/champion?recursive=true&expand=false`)).json();
      assert.equal(deep.length, 6);
      const py = (await t.app.inject(`/api/models/${repo}/tree/champion/weights%2Fdeep`)).json();
      const js = (await t.app.inject(`/api/models/${repo}/tree/champion/weights/deep`)).json();
      assert.deepEqual(py, js);
      assert.deepEqual(
        py.map((e: { path: string }) => e.path),
        ['weights/deep/b.bin'],
      );
      assert.equal(py[0].lfs.oid, sha('BB'));
      const missing = await t.app.inject(`/api/models/${repo}/tree/main/weights/deep`);
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.headers['x-error-code'], 'EntryNotFound');
    });

    it('lists refs: main and every alias as a branch, with their commits', async () => {
      const refs = (await t.app.inject(`/api/models/${repo}/refs?include_prs=1`)).json();
      assert.deepEqual(refs, {
        branches: [
          { name: 'main', ref: 'refs/heads/main', targetCommit: c2 },
          { name: 'champion', ref: 'refs/heads/champion', targetCommit: c1 },
        ],
        tags: [],
        converts: [],
        pullRequests: [],
      });
    });

    it('lists commits newest first from a revision, with the description as message', async () => {
      const all = (await t.app.inject(`/api/models/${repo}/commits/main`)).json();
      assert.deepEqual(
        all.map((c: { id: string }) => c.id),
        [c2, c1],
      );
      assert.equal(all[0].title, 'version 2');
      assert.equal(all[1].title, 'first');
      assert.equal(all[1].message, 'first\nlonger text');
      assert.equal(all[1].authors[0].user, 'local');
      const fromOld = (await t.app.inject(`/api/models/${repo}/commits/champion`)).json();
      assert.deepEqual(
        fromOld.map((c: { id: string }) => c.id),
        [c1],
      );
    });

    it('answers paths-info from a form body or JSON, and refuses a request without paths', async () => {
      const form = await t.app.inject({
        method: 'POST',
        url: `/api/models/${repo}/paths-info/champion`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'paths=weights&paths=config.json&paths=missing&expand=false',
      });
      assert.equal(form.statusCode, 200, form.body);
      assert.deepEqual(
        form.json().map((e: { type: string; path: string }) => `${e.type}:${e.path}`),
        ['directory:weights', 'file:config.json'],
      );
      const json = await t.app.inject({ method: 'POST', url: `/api/models/${repo}/paths-info/main`, payload: { paths: ['config.json'] } });
      assert.equal(json.json()[0].lfs.oid, sha('{"v": 2}'));
      const none = await t.app.inject({ method: 'POST', url: `/api/models/${repo}/paths-info/main`, payload: {} });
      assert.equal(none.statusCode, 400);
      assert.equal(none.headers['x-error-code'], 'INVALID_ARGUMENT');
    });

    it('answers RevisionNotFound for main on a repo with no versions, and an alias named main wins over the latest version', async () => {
      await t.registry.models.create(actor, { name: 'team/empty' });
      const empty = await t.app.inject('/api/models/team/empty/revision/main');
      assert.equal(empty.headers['x-error-code'], 'RevisionNotFound');
      await t.registry.aliases.set(actor, repo, 'main', { version: 1 });
      const res = await t.app.inject({ method: 'HEAD', url: `/${repo}/resolve/main/config.json` });
      assert.equal(res.headers['x-repo-commit'], c1);
      const refs = (await t.app.inject(`/api/models/${repo}/refs`)).json();
      assert.deepEqual(
        refs.branches.map((b: { name: string }) => b.name),
        ['champion', 'main'],
      );
      await t.registry.aliases.delete(actor, repo, 'main');
    });
  });
