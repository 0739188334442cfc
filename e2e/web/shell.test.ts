import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();

describe('the web UI is served by berth server at /', { skip }, () => {
  let w: UiWorld;
  before(async () => {
    w = await startUi();
  });
  after(async () => {
    await w?.stop();
  });

  it('answers every page URL with the app, which routes in the browser', async () => {
    for (const [path, heading] of [
      ['/', /catalog/i],
      ['/audit', /audit/i],
      ['/promotions', /promotions/i],
      ['/deployments', /deployments/i],
      ['/settings', /settings/i],
    ] as const) {
      const res = await fetch(`${w.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const page = await w.open(path);
      assert.match((await page.locator('h1').first().textContent()) ?? '', heading, path);
      await page.context().close();
    }
  });

  it('serves the built assets with immutable caching, and the API beside them', async () => {
    const html = await (await fetch(`${w.url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const res = await fetch(`${w.url}${script}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(`${w.url}/api/v1/models`)).status, 200);
  });
});
