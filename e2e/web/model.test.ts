import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

/** A commit body carrying its (small) files inline. */
function files(content: Record<string, string>) {
  return {
    files: Object.entries(content).map(([path, c]) => ({ path, size: Buffer.byteLength(c), sha256: sha(c) })),
    blobs: Object.values(content).map((c) => ({ sha256: sha(c), base64: Buffer.from(c).toString('base64') })),
  };
}

const LATEST_CARD = [
  '---',
  'license: mit',
  '---',
  '',
  '# Chatbot sixty',
  '',
  '| metric | value |',
  '| --- | --- |',
  '| accuracy | 0.95 |',
  '',
  '<script>window.__pwned = 1</script>',
  '<img src="x" onerror="window.__pwned = 2">',
  '',
].join('\n');

describe('the model page', { skip }, () => {
  let w: UiWorld;
  /** A time after versions 1–3 and @champion → 1, before everything else. */
  let tMid: string;

  before(async () => {
    w = await startUi();
    const c = w.client;
    await c.createVersion('chatbot', {
      ...files({ 'model.safetensors': 'weights one', 'README.md': '# Chatbot v1\n\nThe first one.\n' }),
      description: 'first',
      metadata: { lr: 0.001 },
    });
    await c.createVersion('chatbot', {
      ...files({ 'model.safetensors': 'weights two', 'README.md': '# Chatbot v2\n\nThe first one.\n', 'tokenizer.json': '{}' }),
      description: 'second',
      metadata: { lr: 0.0005 },
    });
    await c.createVersion('chatbot', { ...files({ 'model.safetensors': 'weights three' }), description: 'third' });
    await c.recordEvaluation('chatbot', 1, { metrics: { accuracy: 0.81 } });
    await c.recordEvaluation('chatbot', 2, { metrics: { accuracy: 0.9, f1: 0.85 } });
    await c.recordEvaluation('chatbot', 3, { metrics: { accuracy: 0.93 } });
    await c.setAlias('chatbot', 'champion', 1, { reason: 'first release' });
    await new Promise((r) => setTimeout(r, 20));
    tMid = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await c.setAlias('chatbot', 'champion', 2, { reason: 'better' });
    await c.setAlias('chatbot', 'challenger', 3);
    await c.recordEvaluation('chatbot', 2, { metrics: { accuracy: 0.91 } });
    // MLflow's legacy stage, through the MLflow front as an MLflow client sets it.
    const staged = await fetch(`${w.url}/api/2.0/mlflow/model-versions/transition-stage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'chatbot', version: '2', stage: 'Production', archive_existing_versions: false }),
    });
    assert.equal(staged.status, 200, await staged.text());
    await c.updateVersion('chatbot', 2, { description: 'second, edited' });
    for (let v = 4; v <= 59; v++) await c.createVersion('chatbot', files({ 'model.safetensors': `weights ${v}` }));
    await c.createVersion('chatbot', files({ 'model.safetensors': 'weights 60', 'README.md': LATEST_CARD }));
  });
  after(async () => {
    await w?.stop();
  });

  it('shows the versions a page at a time with aliases, stages and the metric columns picked', async () => {
    const page = await w.open('/models/chatbot');
    assert.equal(await page.locator('h1').textContent(), 'chatbot');
    const rows = page.locator('table.versions tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 50);
    assert.match((await page.locator('.alias-list').textContent()) ?? '', /@champion → version 2/);
    assert.equal(await rows.first().getByRole('rowheader').textContent(), '60');
    // Versions 60–11 carry no evaluations: no metric to pick yet.
    await page.getByText('No evaluated metrics on these versions yet.').waitFor();

    await page.getByRole('button', { name: 'Load more versions' }).click();
    await page.getByText('Showing 60 versions, all there are.').waitFor();
    assert.equal(await rows.count(), 60);
    assert.equal(await page.getByRole('button', { name: 'Load more versions' }).count(), 0);
    const v2 = page.locator('table.versions tbody tr', { has: page.getByRole('link', { name: '2', exact: true }) });
    assert.match((await v2.textContent()) ?? '', /@champion/);
    assert.match((await v2.textContent()) ?? '', /Production/);
    assert.match(
      (await page.locator('table.versions tbody tr', { has: page.getByRole('link', { name: '3', exact: true }) }).textContent()) ?? '',
      /@challenger/,
    );
    assert.equal(await page.locator('table.versions thead th', { hasText: 'accuracy' }).count(), 0);

    // The metric names come from the loaded rows; picking one adds its column and keeps it in the URL.
    await page.getByLabel('accuracy').check();
    await page.locator('table.versions thead th', { hasText: 'accuracy' }).waitFor();
    assert.match(page.url(), /metrics=accuracy/);
    assert.match((await v2.textContent()) ?? '', /0\.91/);
    assert.doesNotMatch((await v2.textContent()) ?? '', /0\.85/);
    await w.shot(page, 'model-versions');
    assert.equal(await page.getByRole('link', { name: '1', exact: true }).getAttribute('href'), '/models/chatbot/versions/1');
    await page.context().close();
  });

  it('compares two versions: metrics, metadata, files and the card diff', async () => {
    const page = await w.open('/models/chatbot');
    await page.getByText('Showing 50 versions.').waitFor();
    const compare = page.getByRole('button', { name: /Compare selected/ });
    assert.equal(await compare.isDisabled(), true);
    await page.getByRole('button', { name: 'Load more versions' }).click();
    await page.getByText('Showing 60 versions, all there are.').waitFor();
    await page.getByLabel('Compare version 1', { exact: true }).check();
    await page.getByLabel('Compare version 2', { exact: true }).check();
    await page.getByRole('button', { name: 'Compare selected (2)' }).click();
    await page.getByRole('heading', { name: 'Comparing versions 1, 2' }).waitFor();
    assert.match(page.url(), /compare=1%2C2|compare=1,2/);
    const view = page.locator('.compare-view');
    await view.locator('table.compare').first().waitFor();
    const accuracy = view.locator('tr', { has: page.getByRole('rowheader', { name: /^accuracy/ }) });
    assert.match((await accuracy.textContent()) ?? '', /0\.81.*0\.91/);
    assert.equal(await accuracy.getAttribute('class'), 'differs');
    assert.match((await view.locator('tr', { has: page.getByRole('rowheader', { name: /^metadata\.lr/ }) }).textContent()) ?? '', /0\.001.*0\.0005/);
    const tokenizer = view.locator('tr', { has: page.getByRole('rowheader', { name: /^tokenizer\.json/ }) });
    assert.match((await tokenizer.textContent()) ?? '', /absent/);
    const diff = (await view.locator('.card-diff pre').textContent()) ?? '';
    assert.match(diff, /-# Chatbot v1/);
    assert.match(diff, /\+# Chatbot v2/);
    await w.shot(page, 'model-compare');

    // The comparison is in the URL: opening it again shows it without ticking anything.
    const shared = await w.open(new URL(page.url()).pathname + new URL(page.url()).search);
    await shared.getByRole('heading', { name: 'Comparing versions 1, 2' }).waitFor();
    await shared.getByRole('button', { name: 'Close comparison' }).click();
    assert.equal(await shared.getByRole('heading', { name: /Comparing versions/ }).count(), 0);
    await shared.context().close();
    await page.context().close();
  });

  it('renders the latest version’s card as sanitised Markdown', async () => {
    const page = await w.open('/models/chatbot');
    const card = page.locator('.model-card .card-body');
    await card.waitFor();
    assert.equal(await card.getByRole('heading', { name: 'Chatbot sixty' }).count(), 1);
    // The card's own `#` heading is stepped down under the page's: one h1 on the page.
    assert.equal(await card.locator('h3', { hasText: 'Chatbot sixty' }).count(), 1);
    assert.equal(await page.locator('h1').count(), 1);
    assert.equal(await card.locator('table td', { hasText: '0.95' }).count(), 1);
    assert.equal(await card.locator('script').count(), 0);
    assert.equal(await card.locator('[onerror]').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.match((await page.locator('#card-heading').textContent()) ?? '', /version 60/);
    await w.shot(page, 'model-card');
    await page.context().close();
  });

  it('shows the model as it was at ?at=: the versions then, the aliases then, the metrics then, read-only', async () => {
    const page = await w.open(`/models/chatbot?at=${encodeURIComponent(tMid)}&metrics=accuracy`);
    const banner = page.getByRole('status').filter({ hasText: 'Viewing the registry as of' });
    await banner.waitFor();
    const rows = page.locator('table.versions tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 3);
    await page.getByText('Showing 3 versions, all there are.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Load more versions' }).count(), 0);
    assert.match((await page.locator('.alias-list').textContent()) ?? '', /@champion → version 1/);
    assert.doesNotMatch((await page.locator('.alias-list').textContent()) ?? '', /challenger/);
    const v2 = page.locator('table.versions tbody tr', { has: page.getByRole('link', { name: '2', exact: true }) });
    assert.match((await v2.textContent()) ?? '', /0\.9(?!1)/);
    assert.match((await page.getByRole('link', { name: '2', exact: true }).getAttribute('href')) ?? '', /^\/models\/chatbot\/versions\/2\?at=/);
    // Version 2's stage and description as they were then: the stage moved and the text changed after.
    assert.doesNotMatch((await v2.textContent()) ?? '', /Production|second, edited/);
    assert.match((await v2.textContent()) ?? '', /second/);
    await page.locator('.model-card .card-body').waitFor();
    await w.shot(page, 'model-at');

    await page.getByRole('link', { name: 'back to now' }).click();
    await page.getByText('Showing 50 versions.').waitFor();
    assert.doesNotMatch(page.url(), /at=/);
    assert.match(page.url(), /metrics=accuracy/);
    assert.equal(await page.getByRole('status').filter({ hasText: 'Viewing the registry as of' }).count(), 0);
    await page.context().close();
  });

  it('shows the server’s message for a model that does not exist', async () => {
    const page = await w.open('/models/no-such-model');
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /not found/i);
    await w.shot(page, 'model-not-found');
    await page.context().close();
  });
});
