import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startFakeOpenAI, type FakeOpenAI } from '../gateway/fake-openai.js';
import { Load, chat, pushVersions, startGateway, waitUntil, type GatewayProcess } from '../gateway/support.js';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();

/** A canary whose first step passes after 3 s and whose second waits an hour: one step change to watch. */
const CANARY = (upstream: string) => `deployment: chatbot
model: web-bot
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 20, pause: 3s}, {weight: 60, pause: 1h}, {weight: 100}]
upstreams:
  - {versions: "*", url: ${upstream}}
slos:
  error_rate: {max: 0.5, min_samples: 3}
  p99_latency_ms: {max: 10000, min_samples: 3}
analysis_interval: 200ms
`;

/**
 * The Deployments page against a real `berth server`, a real `berth gateway` following it and a
 * fake model upstream, with traffic flowing: the split and latency the gateway reports, and a
 * canary's rollout shown as it progresses, without reloading the page.
 */
describe('the Deployments page', { skip }, () => {
  let w: UiWorld;
  let up: FakeOpenAI;
  let gw: GatewayProcess;
  let load: Load;
  let page: Page;
  let beforeCanary = '';
  let duringStep1 = '';

  before(async () => {
    w = await startUi();
    up = await startFakeOpenAI('web-up', { latencyMs: 25 });
    await pushVersions(w.client, 'web-bot', 2);
    await w.client.setAlias('web-bot', 'champion', 1);
    gw = await startGateway(w.url, { reportInterval: '500ms' });
  });
  after(async () => {
    await load?.stop();
    await gw?.stop();
    await up?.close();
    await w?.stop();
  });

  const card = () => page.getByRole('region', { name: 'chatbot' });
  const split = () => card().getByRole('table', { name: 'Traffic split' });
  const rolloutValue = (term: string) => card().locator(`.rollout dt:text-is("${term}") + dd`);

  it('shows a deployment applied while the page is open, its split, and the latency of traffic through the gateway, with charts', async () => {
    page = await w.open('/deployments');
    await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
    await page.getByText('No deployments yet').waitFor();
    await page.getByText('Live: updates as the registry changes').waitFor();
    await w.client.applyDeployment(CANARY(up.url));
    await split()
      .getByRole('row', { name: /v1\s+@champion\s+100%/ })
      .waitFor();
    assert.equal(await split().getByRole('row').count(), 2, 'a header and one version: everything on the stable holder');
    await waitUntil('chatbot routed by the gateway', async () => (await chat(gw.url, 'chatbot')).status === 200, 20_000);
    load = new Load([gw.url], 'chatbot', 2);
    const served = card().getByRole('table', { name: /^Served/ });
    const v1 = served.getByRole('row', { name: /^v1\b/ });
    // Served figures are not events: the page reads them again every few seconds.
    await waitUntil(
      'v1 latency shown',
      async () =>
        /ms$/.test(
          (await v1
            .getByRole('cell')
            .nth(3)
            .textContent({ timeout: 500 })
            .catch(() => '')) ?? '',
        ),
      20_000,
      200,
    );
    const cells = await v1.getByRole('cell').allTextContents();
    // Requests, errors, error rate, p50, p99, quality.
    assert.ok(Number(cells[0]) > 0, `requests: ${cells.join(' | ')}`);
    assert.equal(cells[1], '0');
    assert.match(cells[3] ?? '', /^\d+(\.\d)? ms$/);
    assert.match(cells[4] ?? '', /^\d+(\.\d)? ms$/);
    // The upstream answers after 25 ms: the gateway's median cannot be below that.
    assert.ok(Number.parseFloat(cells[3] ?? '') >= 25, `p50 ${cells[3]}`);
    await card().getByRole('figure').filter({ hasText: 'p99 latency' }).locator('canvas').waitFor();
    assert.equal(await card().getByRole('figure').count(), 3, 'latency, error rate and quality charts');
    // The charts draw the report history (GET …/reports): v1's windows so far.
    await card()
      .getByRole('img', { name: /^p99 latency: v1 over the last [1-9]\d* report windows$/ })
      .waitFor();
    await page.getByText('Live: updates as the registry changes').waitFor();
    assert.match((await card().textContent()) ?? '', /No rollout yet/);
    await w.shot(page, 'deployments-serving');
    // A time inside a window the gateway reported (windows may leave gaps between them).
    const report = (await w.client.deploymentStatus('chatbot')).reports[0];
    assert.ok(report);
    beforeCanary = new Date((Date.parse(report.from) + Date.parse(report.to)) / 2).toISOString();
  });

  it('shows a canary starting and advancing a step live, without a reload', async () => {
    // A reload would clear this; the page must change in place.
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    let reopened = 0;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/events')) reopened += 1;
    });
    await w.client.setAlias('web-bot', 'challenger', 2);
    await split()
      .getByRole('row', { name: /v2\s+@challenger\s+20%/ })
      .waitFor({ timeout: 15_000 });
    await split()
      .getByRole('row', { name: /v1\s+@champion\s+80%/ })
      .waitFor();
    assert.equal(await rolloutValue('Kind').textContent(), 'canary');
    assert.equal(await rolloutValue('Step').textContent(), '1 of 3');
    assert.equal(await rolloutValue('Candidate weight').textContent(), '20%');
    duringStep1 = new Date().toISOString();
    await w.shot(page, 'deployments-canary-step-1');

    await split()
      .getByRole('row', { name: /v2\s+@challenger\s+60%/ })
      .waitFor({ timeout: 20_000 });
    assert.equal(await rolloutValue('Step').textContent(), '2 of 3');
    assert.equal(await rolloutValue('State').textContent(), 'progressing');
    const decision = (await card().locator('.rollout').textContent()) ?? '';
    assert.match(decision, new RegExp(`Last decision\\s*advance by ${gw.id}`), decision);
    assert.match(decision, /SLO verdict: pass/);
    assert.match(decision, /error_rate: 0 against 0\.5 \(\d+ samples, 3 needed\) — pass/);
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded');
    assert.equal(reopened, 0, 'one event stream followed every change: none was reopened');
    await page.getByText('Live: updates as the registry changes').waitFor();
    await w.shot(page, 'deployments-canary-step-2');
    assert.deepEqual(load.failures(), []);
  });

  it('at a past time shows what was served then, read-only, without live updates', async () => {
    const past = await w.open(`/deployments?at=${encodeURIComponent(beforeCanary)}`);
    await past.getByText(/Viewing the registry as of/).waitFor();
    const region = past.getByRole('region', { name: 'chatbot' });
    const then = region.getByRole('table', { name: 'Traffic split the gateways reported then' });
    await then.getByRole('row', { name: /v1\s+100%/ }).waitFor();
    assert.equal(await then.getByRole('row', { name: /v2/ }).count(), 0, 'no canary yet at that time');
    assert.equal(await past.getByText(/^Live/).count(), 0);
    assert.match((await region.locator('.rollout').first().textContent()) ?? '', /No rollout yet/, 'no rollout before the canary');
    assert.equal(await past.locator('main').getByRole('button').count(), 0, 'nothing in the page changes state at a past time');
    await w.shot(past, 'deployments-at-past');
    await past.getByRole('link', { name: 'back to now' }).click();
    await past.waitForURL(/\/deployments$/);
    await past
      .getByRole('region', { name: 'chatbot' })
      .getByRole('table', { name: 'Traffic split' })
      .getByRole('row', { name: /v2\s+@challenger\s+60%/ })
      .waitFor();
    await w.shot(past, 'deployments-back-to-now');
    await past.context().close();

    // While the canary was at its first step, the page shows that rollout as it stood then.
    const step1 = await w.open(`/deployments?at=${encodeURIComponent(duringStep1)}`);
    const thenRollout = step1.getByRole('region', { name: 'chatbot' }).locator('.rollout').first();
    await thenRollout.getByText('canary').waitFor();
    assert.match((await thenRollout.textContent()) ?? '', /1 of 3[\s\S]*20%/);
    await w.shot(step1, 'deployments-at-step-1');
    await step1.context().close();
  });
});
