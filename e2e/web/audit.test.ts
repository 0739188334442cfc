import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AliasHistoryEntry } from '@berth/core';
import type { Locator } from 'playwright-core';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();

/** The text as the user sees it laid out (table cells apart), which textContent runs together. */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what the user reads
const seen = (l: Locator) => l.innerText();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mid = (a: string, b: string) => new Date((Date.parse(a) + Date.parse(b)) / 2).toISOString();
/** The value of the header's UTC date-time input for an instant. */
const utcInput = (iso: string) => iso.slice(0, 23);

describe('the audit page and the time slider', { skip }, () => {
  let w: UiWorld;
  /** chatbot@champion's moves, oldest first: to 1, then 2, then 3, each a second apart. */
  let moves: AliasHistoryEntry[];
  before(async () => {
    w = await startUi();
    const c = w.client;
    await c.createModel({ name: 'chatbot' });
    for (let i = 0; i < 3; i++) await c.createVersion('chatbot', { files: [] });
    for (const v of [1, 2, 3]) {
      // Real alias moves, far enough apart that a time between two of them is easy to aim at.
      await sleep(1100);
      await c.setAlias('chatbot', 'champion', v, { reason: `release ${v}` });
    }
    moves = (await c.aliasHistory('chatbot', 'champion')).items.sort((a, b) => a.seq - b.seq);
    assert.deepEqual(
      moves.map((m) => m.to_version),
      [1, 2, 3],
    );
    // More events than one page of the timeline.
    for (let i = 0; i < 55; i++) await c.createModel({ name: `filler-${i}` });
  });
  after(async () => {
    await w?.stop();
  });

  it('lists the trail a page at a time, filters it, and shows the chain verified', async () => {
    const page = await w.open('/audit');
    await page.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
    await page.getByText(/Audit chain verified: \d+ events intact/).waitFor();
    const rows = page.locator('table.timeline tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 50);
    await page.getByRole('button', { name: 'Load more events' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.timeline tbody tr').length > 50);
    assert.ok((await rows.count()) >= 62);
    await w.shot(page, 'audit-timeline');

    await page.getByLabel('Model').fill('chatbot');
    await page.getByLabel('Action').fill('alias.set');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/model=chatbot&action=alias.set/);
    await page.waitForFunction(() => document.querySelectorAll('table.timeline tbody tr').length === 3);
    const text = await seen(page.locator('table.timeline'));
    assert.match(text, /chatbot@champion\s+none → version 1\s+release 1/);
    assert.match(text, /version 2 → version 3\s+release 3/);
    assert.equal(await page.getByRole('button', { name: 'Load more events' }).count(), 0);
    const aliases = page.locator('table.aliases-at');
    await aliases.getByRole('link', { name: 'chatbot:3' }).waitFor();
    await w.shot(page, 'audit-filtered');
    await page.context().close();
  });

  it('answers which version @champion pointed to at a time between two moves, from the slider', async () => {
    const t = mid(moves[1]!.at, moves[2]!.at);
    const page = await w.open('/audit?model=chatbot&action=alias.set');
    await page.locator('table.aliases-at').getByRole('link', { name: 'chatbot:3' }).waitFor();
    await page.getByLabel('Time (UTC)').fill(utcInput(t));
    await page.getByRole('button', { name: 'Go' }).click();
    await page.waitForURL((u) => u.searchParams.get('at') === t && u.searchParams.get('model') === 'chatbot');
    await page.getByText('Viewing the registry as of').waitFor();
    const aliases = page.locator('table.aliases-at');
    await aliases.getByRole('link', { name: 'chatbot:2' }).waitFor();
    assert.match(await seen(page.getByRole('heading', { name: /Aliases of chatbot at/ })), new RegExp(t.slice(11, 19)));
    assert.match(await seen(aliases), /@champion\s+chatbot:2/);
    // The trail ends at that time: the move to 3 had not happened.
    await page.waitForFunction(() => document.querySelectorAll('table.timeline tbody tr').length === 2);
    await w.shot(page, 'audit-at');

    // Following the answer keeps the time: version 2's page shows it holding @champion then.
    await aliases.getByRole('link', { name: 'chatbot:2' }).click();
    await page.getByRole('heading', { level: 1, name: 'chatbot version 2' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('at'), t);
    assert.equal(await seen(page.locator('dl.facts dd.aliases')), '@champion');
    await w.shot(page, 'version-2-at');

    // Back to now from the banner: version 2 no longer holds it.
    await page.getByRole('link', { name: 'back to now' }).click();
    await page.waitForURL((u) => !u.searchParams.has('at'));
    await page.locator('dl.facts dd.aliases').getByText('no aliases').waitFor();
    await page.context().close();
  });

  it('drags the slider with the keyboard to a time between two moves: Home is the first event, End is now', async () => {
    const page = await w.open('/models/chatbot/versions/1');
    await page.getByRole('heading', { level: 1, name: 'chatbot version 1' }).waitFor();
    await page.locator('dl.facts dd.aliases').getByText('no aliases').waitFor();
    const slider = page.getByRole('slider', { name: 'Registry as of' });
    await slider.focus();
    await page.keyboard.press('Home');
    await page.waitForURL((u) => u.searchParams.has('at'));
    const first = (await w.client.listAudit({ limit: 1 })).items[0]!.at;
    assert.equal(new URL(page.url()).searchParams.get('at'), first);
    assert.match(new URL(page.url()).pathname, /\/models\/chatbot\/versions\/1$/);
    // At the trail's first event chatbot did not exist, nor its version 1.
    await page.getByText(/Version 1 of chatbot did not exist at/).waitFor();
    await w.shot(page, 'slider-home');

    // Right-arrow steps from the first event to the first position after the move to 1 (before the move to 2).
    const step = Number(await slider.getAttribute('step'));
    const k = Math.floor((Date.parse(moves[0]!.at) - Date.parse(first)) / step) + 1;
    const target = Date.parse(first) + k * step;
    assert.ok(target > Date.parse(moves[0]!.at) && target < Date.parse(moves[1]!.at), 'the moves are more than a step apart');
    await slider.focus();
    for (let i = 0; i < k; i++) await page.keyboard.press('ArrowRight');
    await page.waitForURL((u) => u.searchParams.get('at') === new Date(target).toISOString());
    await page.locator('dl.facts dd.aliases').getByText('@champion').waitFor();
    await w.shot(page, 'slider-between-moves');

    await slider.focus();
    await page.keyboard.press('End');
    await page.waitForURL((u) => !u.searchParams.has('at'));
    await page.locator('dl.facts dd.aliases').getByText('no aliases').waitFor();
    assert.equal(await page.getByText('Viewing the registry as of').count(), 0);
    await page.context().close();
  });

  it('refuses a time the date-time field cannot read, and stays where it was', async () => {
    const page = await w.open('/audit');
    await page.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
    await page.getByRole('button', { name: 'Go' }).click();
    await page.getByRole('alert').getByText('Give a date and time').waitFor();
    assert.equal(new URL(page.url()).search, '');
    await page.context().close();
  });
});
