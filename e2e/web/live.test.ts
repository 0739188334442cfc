import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { pushVersion, startAuthUi, type AuthWorld } from './auth-world.js';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();

const REVIEWED = `policy: reviewed
target_alias: champion
require_approvals: 1
gates:
  - { name: accuracy, metric: accuracy, min: 0.9 }
`;

/** Marks the document, so a test can tell the page was never reloaded. */
async function mark(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { stillThisPage: boolean }).stillThisPage = true;
  });
}
async function notReloaded(page: Page): Promise<void> {
  assert.equal(await page.evaluate(() => (window as unknown as { stillThisPage?: boolean }).stillThisPage), true, 'the page was not reloaded');
}

/** Opens `path` like `w.open`, also recording the event-stream requests the page makes from the start. */
async function openWatchingStream(w: UiWorld, path: string, token?: string): Promise<{ page: Page; streams: string[] }> {
  const context = await w.browser.newContext();
  if (token) await context.addInitScript((t) => sessionStorage.setItem('berth.token', t), token);
  const page = await context.newPage();
  const streams: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/events') streams.push(r.url());
  });
  await page.goto(`${w.url}${path}`);
  return { page, streams };
}

/**
 * Pages beyond Deployments follow the event stream while they show now: changes made through the
 * SDK appear without a reload; at `?at=` nothing is followed.
 */
describe('live updates on the Audit page', { skip }, () => {
  let w: UiWorld;
  before(async () => {
    w = await startUi();
    const c = w.client;
    for (const n of [1, 2, 3]) {
      const v = await pushVersion(c, 'chatbot', `chatbot weights ${n}`);
      await c.recordEvaluation('chatbot', v, { metrics: { accuracy: 0.9 + n / 100 }, source: 'ci' });
    }
    await c.setAlias('chatbot', 'champion', 1, { reason: 'first release' });
  });
  after(async () => {
    await w?.stop();
  });

  it('adds new events at the end of the audit timeline as they happen', async () => {
    const page = await w.open('/audit');
    const rows = page.locator('table.timeline tbody tr');
    await rows.first().waitFor();
    const before = await rows.count();
    await page.getByText('Live: updates as the registry changes').waitFor();
    await mark(page);
    await w.client.createModel({ name: 'late-arrival' });
    await w.client.setAlias('chatbot', 'champion', 2, { reason: 'live release' });
    await page.waitForFunction((n) => document.querySelectorAll('table.timeline tbody tr').length === n + 2, before);
    assert.match((await rows.nth(before).textContent()) ?? '', /model\.create.*late-arrival/);
    assert.match((await rows.nth(before + 1).textContent()) ?? '', /alias\.set.*chatbot@champion.*version 1 → version 2.*live release/);
    await notReloaded(page);
    await w.shot(page, 'audit-live');
    await page.context().close();
  });

  it('keeps to its filters when it adds events live', async () => {
    const page = await w.open('/audit?model=chatbot&action=alias.set');
    const rows = page.locator('table.timeline tbody tr');
    await rows.first().waitFor();
    const before = await rows.count();
    await page.getByText('Live: updates as the registry changes').waitFor();
    await w.client.createModel({ name: 'not-chatbot' });
    await w.client.setAlias('chatbot', 'canary', 3);
    await page.waitForFunction((n) => document.querySelectorAll('table.timeline tbody tr').length === n + 1, before);
    assert.match((await rows.last().textContent()) ?? '', /chatbot@canary/);
    assert.doesNotMatch((await page.locator('table.timeline').textContent()) ?? '', /not-chatbot/);
    await page.context().close();
  });

  it('does not follow the stream at a past time', async () => {
    const at = new Date().toISOString();
    const { page, streams } = await openWatchingStream(w, `/audit?at=${encodeURIComponent(at)}`);
    const rows = page.locator('table.timeline tbody tr');
    await rows.first().waitFor();
    const before = await rows.count();
    await w.client.createModel({ name: 'after-the-fact' });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await rows.count(), before);
    assert.doesNotMatch((await page.locator('main').textContent()) ?? '', /after-the-fact|Live: updates/);
    assert.deepEqual(streams, [], 'no event stream is opened at a past time');
    // The same page at now does open it (so the check above can tell).
    const now = await openWatchingStream(w, '/audit');
    await now.page.getByText('Live: updates as the registry changes').waitFor();
    assert.equal(now.streams.length, 1);
    await now.page.context().close();
    await page.context().close();
  });
});

describe('live updates on the Promotions page, with auth on', { skip }, () => {
  let w: AuthWorld;
  before(async () => {
    w = await startAuthUi(async (admin) => {
      for (const n of [1, 2, 3]) {
        const v = await pushVersion(admin, 'chatbot', `chatbot weights ${n}`);
        await admin.recordEvaluation('chatbot', v, { metrics: { accuracy: 0.9 + n / 100 }, source: 'ci' });
      }
      await admin.setAlias('chatbot', 'champion', 1, { reason: 'first release' });
      await admin.applyPolicy('reviewed', REVIEWED);
    });
  });
  after(async () => {
    await w?.stop();
  });

  it('shows a new pending promotion as it is requested, and drops it from the pending list once approved', async () => {
    const page = await w.open('/promotions', { token: w.tokens.reader });
    await page.getByText('No promotion awaits approval.').waitFor();
    await page.getByText('Live: updates as the registry changes').waitFor();
    await mark(page);
    const promotion = await w.as('ci').promote('chatbot', { version: 3, policy: 'reviewed', reason: 'better accuracy' });
    assert.equal(promotion.state, 'pending');
    const card = page.getByRole('article', { name: 'chatbot:3 → @champion' });
    await card.waitFor();
    await w.shot(page, 'promotions-live-pending');
    await w.as('releaser').approvePromotion(promotion.id, 'reviewed');
    await card.waitFor({ state: 'detached' });
    await page.getByText('No promotion awaits approval.').waitFor();
    await notReloaded(page);
    await page.context().close();
  });

  it('does not follow promotions at a past time', async () => {
    const at = new Date().toISOString();
    const { page, streams } = await openWatchingStream(w, `/promotions?at=${encodeURIComponent(at)}`, w.tokens.reader);
    await page.getByText('No promotion awaits approval.').waitFor();
    await w.as('ci').promote('chatbot', { version: 2, policy: 'reviewed' });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await page.getByRole('article').count(), 0);
    assert.deepEqual(streams, [], 'no event stream is opened at a past time');
    const now = await openWatchingStream(w, '/promotions', w.tokens.reader);
    await now.page.getByText('Live: updates as the registry changes').waitFor();
    assert.equal(now.streams.length, 1);
    await now.page.context().close();
    await page.context().close();
  });
});
