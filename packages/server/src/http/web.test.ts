import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { openTestApp, type TestApp } from '../../test-support/app.js';
import { localActor } from '../registry/actor.js';

describe('the web UI served at /', () => {
  let root: string;
  let ui: TestApp;
  let bare: TestApp;
  let unbuilt: TestApp;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-webroot-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><div id="root"></div><script src="/assets/app-1a2b.js"></script>');
    await writeFile(join(root, 'assets', 'app-1a2b.js'), 'console.log(1)');
    ui = await openTestApp('berth-web-ui-', { auth: true, webRoot: root });
    bare = await openTestApp('berth-web-bare-');
    unbuilt = await openTestApp('berth-web-unbuilt-', { auth: true });
  });
  after(async () => {
    await ui?.close();
    await bare?.close();
    await unbuilt?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('answers every page of the UI with its index.html, even with auth on: the data is what needs a token', async () => {
    for (const url of ['/', '/models/chatbot', '/models/team%2Fbot/versions/3?at=2026-03-08T14:32:00Z', '/audit', '/promotions', '/deployments', '/settings']) {
      const res = await ui.app.inject(url);
      assert.equal(res.statusCode, 200, url);
      assert.match(res.headers['content-type'] as string, /text\/html/);
      assert.match(res.body, /id="root"/);
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
    assert.equal((await ui.app.inject('/api/v1/models')).statusCode, 401);
  });

  it('serves the built assets for good (content-hashed names), and 404 for one that is not there', async () => {
    const res = await ui.app.inject('/assets/app-1a2b.js');
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['cache-control'] as string, /immutable/);
    assert.equal((await ui.app.inject('/assets/missing.js')).statusCode, 404);
  });

  it('says how to build the UI when it is not built, and changes nothing for other methods', async () => {
    const res = await bare.app.inject('/');
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /npm run build/);
    assert.equal((await bare.app.inject({ method: 'DELETE', url: '/audit' })).statusCode, 404);
  });

  it('leaves longer paths under /models/ and /assets/ to the Hub front, behind the token, built or not', async () => {
    const local = localActor();
    const data = Buffer.from('{"hidden":true}');
    const sha256 = createHash('sha256').update(data).digest('hex');
    for (const app of [ui, unbuilt]) {
      const token = (await app.registry.tokens.create(local, { name: 'reader', role: 'viewer' })).token;
      await app.registry.blobs.put(local, sha256, Readable.from([data]));
      for (const repo of ['assets/x', 'models/x']) {
        await app.registry.versions.create(local, repo, { files: [{ path: 'config.json', size: data.length, sha256 }] });
        const url = `/${repo}/resolve/main/config.json`;
        assert.equal((await app.app.inject(url)).statusCode, 401, `${url} without a token`);
        const res = await app.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 100)}`);
        assert.equal(res.body, data.toString());
      }
    }
  });
});
