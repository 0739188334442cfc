import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inline(content: string) {
  const sha256 = createHash('sha256').update(content).digest('hex');
  return { files: [{ path: 'w.bin', size: Buffer.byteLength(content), sha256 }], blobs: [{ sha256, base64: Buffer.from(content).toString('base64') }] };
}

/** The first cells of the result rows, as the user reads them. */
async function rowNames(page: Page): Promise<string[]> {
  return (await page.locator('table.results tbody tr th').allTextContents()).map((s) => s.trim());
}

describe('the catalog page', { skip }, () => {
  let w: UiWorld;
  /** A time between champion's two moves, when retired-model still existed. */
  let then: string;

  before(async () => {
    w = await startUi();
    const c = w.client;
    await c.createModel({ name: 'retired-model', description: 'gone now' });
    const v1 = await c.createVersion('chatbot', { ...inline('c1'), tags: { env: 'dev' }, metadata: { base_model: 'llama' } });
    await c.setAlias('chatbot', 'champion', 1);
    await sleep(50);
    then = new Date().toISOString();
    await sleep(50);
    await c.createVersion('llama-lora', {
      ...inline('a1'),
      kind: 'adapter',
      dependencies: [{ model: 'chatbot', version: 1, digest: v1.digest }],
    });
    await c.createVersion('chatbot', { ...inline('c2'), tags: { env: 'prod' } });
    await c.setAlias('chatbot', 'champion', 2, { reason: 'better eval' });
    await c.deleteModel('retired-model');
    await c.createVersion('vision', { ...inline('v1'), tags: { env: 'prod' } });
    for (let i = 0; i < 60; i++) await c.createModel({ name: `bulk-${String(i).padStart(2, '0')}` });
  });
  after(async () => {
    await w?.stop();
  });

  it('lists models a page at a time, with Load more for the next page', async () => {
    const page = await w.open('/');
    await page.getByRole('heading', { level: 1, name: 'Catalog' }).waitFor();
    await page.getByText('50+ models shown').waitFor();
    assert.equal((await rowNames(page)).length, 50);
    await w.shot(page, 'catalog-first-page');
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText('63 models shown').waitFor();
    const names = await rowNames(page);
    assert.deepEqual(names.slice(-3), ['chatbot', 'llama-lora', 'vision']);
    assert.equal(new Set(names).size, 63);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
    await page.context().close();
  });

  it('searches versions with OR, shows kind and alias badges, and keeps the search in the URL', async () => {
    const page = await w.open('/');
    await page.getByLabel('Search', { exact: true }).fill('tag:env=prod OR kind:adapter');
    await page.getByLabel('Show').selectOption('versions');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/kind=versions/);
    assert.match(page.url(), /q=tag%3Aenv%3Dprod\+OR\+kind%3Aadapter/);
    await page.getByText('3 versions shown').waitFor();
    // Newest first: llama-lora:1 was registered before chatbot:2, and vision:1 last.
    assert.deepEqual(await rowNames(page), ['vision:1', 'chatbot:2', 'llama-lora:1']);
    const champion = page.locator('tr', { has: page.getByRole('link', { name: 'chatbot:2' }) });
    assert.equal((await champion.getByRole('list', { name: 'Aliases' }).textContent())?.trim(), '@champion');
    const lora = page.locator('tr', { has: page.getByRole('link', { name: 'llama-lora:1' }) });
    assert.equal((await lora.locator('.badge-kind').textContent())?.trim(), 'adapter');
    await w.shot(page, 'catalog-search-versions-or');

    // The URL alone reproduces the search (a shared link).
    const shared = await w.open(new URL(page.url()).pathname + new URL(page.url()).search);
    await shared.getByText('3 versions shown').waitFor();
    assert.equal(await shared.getByLabel('Search', { exact: true }).inputValue(), 'tag:env=prod OR kind:adapter');
    await shared.context().close();
    await page.context().close();
  });

  it('finds a model by alias and links to its page', async () => {
    const page = await w.open('/?q=alias%3Achampion');
    await page.getByText('1 model shown').waitFor();
    const row = page.locator('tbody tr');
    assert.equal((await row.getByRole('list', { name: 'Aliases' }).textContent())?.trim(), '@champion → 2');
    await page.getByRole('link', { name: 'chatbot' }).click();
    await page.waitForURL(/\/models\/chatbot$/);
    await page.locator('h1').waitFor();
    await page.context().close();
  });

  it('shows the server message for a malformed query', async () => {
    const page = await w.open('/');
    await page.getByLabel('Search', { exact: true }).fill('(chat OR');
    await page.getByLabel('Search', { exact: true }).press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /invalid search query: it ends where a term was expected/);
    await w.shot(page, 'catalog-search-error');
    await page.context().close();
  });

  it('shows the catalog as it was at ?at=, read-only, with a way back to now', async () => {
    const page = await w.open(`/?at=${encodeURIComponent(then)}`);
    const banner = page.getByText('Viewing the registry as of');
    await banner.waitFor();
    await page.getByText('2 models shown').waitFor();
    assert.deepEqual(await rowNames(page), ['retired-model', 'chatbot']);
    const chatbot = page.locator('tr', { has: page.getByRole('link', { name: 'chatbot' }) });
    assert.equal((await chatbot.getByRole('list', { name: 'Aliases' }).textContent())?.trim(), '@champion → 1');
    // Read-only: no search form, no buttons; links keep the time.
    assert.equal(await page.getByRole('search').count(), 0);
    assert.equal(await page.locator('main').getByRole('button').count(), 0);
    assert.match((await page.getByRole('link', { name: 'chatbot' }).getAttribute('href')) ?? '', /^\/models\/chatbot\?at=/);
    await w.shot(page, 'catalog-at-past-time');
    await page.getByRole('link', { name: 'back to now' }).click();
    await page.waitForURL((u) => !u.search.includes('at='));
    await page.getByText('50+ models shown').waitFor();
    assert.equal(await page.getByText('Viewing the registry as of').count(), 0);
    await page.context().close();
  });
});
