import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestApp, type TestApp } from '../../test-support/app.js';

describe('the web UI served at /', () => {
  let root: string;
  let ui: TestApp;
  let bare: TestApp;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-webroot-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><div id="root"></div><script src="/assets/app-1a2b.js"></script>');
    await writeFile(join(root, 'assets', 'app-1a2b.js'), 'console.log(1)');
    ui = await openTestApp('berth-web-ui-', { auth: true, webRoot: root });
    bare = await openTestApp('berth-web-bare-');
  });
  after(async () => {
    await ui?.close();
    await bare?.close();
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
});
