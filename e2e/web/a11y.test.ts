import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { startAuthUi } from './auth-world.js';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();
const require = createRequire(import.meta.url);

/**
 * The WCAG 2.0 and 2.1 level A and AA rules (contrast, names, labels, structure, keyboard), and
 * axe's best practices (one main landmark, all content in landmarks, heading levels in order).
 */
const RULES = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

/** A version body with its files inline: weights and a model card with a table, code and a link. */
function files(n: number) {
  const content: Record<string, string> = {
    'model.safetensors': `chatbot weights ${n}`,
    'README.md': `# Chatbot ${n}\n\nA chat model. See [the paper](https://example.com/paper).\n\n| metric | value |\n| --- | --- |\n| accuracy | 0.9${n} |\n\n\`\`\`\nberth pull chatbot:${n}\n\`\`\`\n`,
  };
  return {
    files: Object.entries(content).map(([path, c]) => ({ path, size: Buffer.byteLength(c), sha256: sha(c) })),
    blobs: Object.values(content).map((c) => ({ sha256: sha(c), base64: Buffer.from(c).toString('base64') })),
    metadata: { base_model: 'llama', lr: n / 1000 },
  };
}

const REVIEWED = `policy: reviewed
target_alias: champion
require_approvals: 1
gates:
  - { name: accuracy, metric: accuracy, min: 0.9 }
`;

const DEPLOYMENT = `deployment: chatbot
model: chatbot
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 20, pause: 1h}, {weight: 100}]
upstreams:
  - {versions: "*", url: http://127.0.0.1:9}
`;

interface AxeNode {
  target: string[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

/** Violations as a reader can act on them: the rule, why, and each element that breaks it. */
function describeViolations(path: string, violations: AxeViolation[]): string {
  const lines = [`${violations.length} accessibility violation(s) on ${path}:`];
  for (const v of violations) {
    lines.push(`- ${v.id} (${v.impact ?? 'n/a'}): ${v.help} — ${v.helpUrl}`);
    for (const n of v.nodes) {
      lines.push(`    at ${n.target.join(' ')}: ${n.html.slice(0, 160)}`);
      if (n.failureSummary) lines.push(`      ${n.failureSummary.replace(/\n/g, '\n      ')}`);
    }
  }
  return lines.join('\n');
}

let axeSource = '';

/** Runs axe-core in the page with the WCAG 2 A/AA rules and returns what it found. */
async function axe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async (tags) => {
    const w = window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: unknown[] }> } };
    const r = await w.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations;
  }, RULES) as Promise<AxeViolation[]>;
}

/** Waits until no part of the page is still loading (live pages keep a stream open, so the network is never idle). */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => !/Loading…|Checking/.test(document.querySelector('main')?.textContent ?? ''));
}

/** Every focusable or interactive element without an accessible name (as axe computes names). */
async function unnamed(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    type Axe = { setup(d: Document): void; teardown(): void; commons: { text: { accessibleText(e: Element): string } } };
    const a = (window as unknown as { axe: Axe }).axe;
    a.setup(document);
    try {
      const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"]), [role=button], [role=link]';
      return [...document.querySelectorAll(selector)]
        .filter((e) => (e as HTMLElement).offsetParent !== null || e.getClientRects().length > 0)
        .filter((e) => a.commons.text.accessibleText(e).trim() === '')
        .map((e) => e.outerHTML.slice(0, 160));
    } finally {
      a.teardown();
    }
  });
}

/**
 * The UI against the WCAG 2 A/AA rules, in a real browser: axe-core on every page with data in
 * it (a model with versions, aliases, an evaluation, a policy, a pending promotion, a deployment,
 * a webhook and the audit trail they leave), one page at a past time, and the keyboard path
 * through the header.
 */
describe('the web UI is accessible', { skip }, () => {
  let w: UiWorld;
  let past = '';

  before(async () => {
    axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
    w = await startUi();
    const c = w.client;
    for (const n of [1, 2, 3]) {
      const v = (await c.createVersion('chatbot', files(n))).version;
      await c.recordEvaluation('chatbot', v, { metrics: { accuracy: 0.9 + n / 100 }, source: 'ci' });
    }
    await c.setAlias('chatbot', 'champion', 1, { reason: 'first release' });
    await c.setAlias('chatbot', 'challenger', 2);
    past = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await c.applyPolicy('reviewed', REVIEWED);
    await c.promote('chatbot', { version: 3, policy: 'reviewed', reason: 'better accuracy' });
    await c.applyDeployment(DEPLOYMENT);
    await c.createWebhook({ url: 'http://127.0.0.1:9/hook', events: ['alias.*'], description: 'release notes' });
  });
  after(async () => {
    await w?.stop();
  });

  it('finds violations where there are some (the check itself works)', async () => {
    const page = await w.open('/');
    await page.locator('main').getByText('chatbot').first().waitFor();
    await page.evaluate(() => {
      const bad = document.createElement('div');
      bad.innerHTML = '<p style="color:#bbb;background:#fff">faint text</p><input type="text"><button></button>';
      document.querySelector('main')?.append(bad);
    });
    const ids = (await axe(page)).map((v) => v.id).sort();
    assert.deepEqual(ids, ['button-name', 'color-contrast', 'label']);
    assert.equal((await unnamed(page)).length, 2);
    await page.context().close();
  });

  for (const [path, ready] of [
    ['/', 'chatbot'],
    ['/models/chatbot', 'challenger'],
    ['/models/chatbot/versions/1', 'accuracy'],
    ['/audit', 'alias.set'],
    ['/promotions', 'chatbot:3 → @champion'],
    ['/deployments', 'canary'],
    ['/settings', 'release notes'],
    // States a page reaches from its URL: a search, a comparison with picked metrics, a filtered trail.
    ['/?q=alias%3Achampion&kind=versions', 'chatbot'],
    ['/models/chatbot?metrics=accuracy&compare=1%2C2', 'Comparing versions 1, 2'],
    ['/audit?model=chatbot&action=alias.set', 'first release'],
  ] as const) {
    it(`has no WCAG 2 A/AA violation on ${path}`, async () => {
      const page = await w.open(path);
      await page.locator('main').getByText(ready).first().waitFor();
      await settled(page);
      const violations = await axe(page);
      assert.equal(violations.length, 0, describeViolations(path, violations));
      assert.deepEqual(await unnamed(page), [], `interactive elements without an accessible name on ${path}`);
      await page.context().close();
    });
  }

  it('has no WCAG 2 A/AA violation on a page at a past time', async () => {
    const path = `/models/chatbot?at=${encodeURIComponent(past)}`;
    const page = await w.open(path);
    await page.getByText('Viewing the registry as of').first().waitFor();
    await page.locator('main').getByText('champion').first().waitFor();
    await settled(page);
    const violations = await axe(page);
    assert.equal(violations.length, 0, describeViolations(path, violations));
    assert.deepEqual(await unnamed(page), [], `interactive elements without an accessible name on ${path}`);
    await page.context().close();
  });

  it('has no WCAG 2 A/AA violation in the sign-in form of a server with auth on', async () => {
    const auth = await startAuthUi(async () => undefined);
    try {
      const page = await auth.open('/');
      await page.getByRole('region', { name: 'Sign in' }).waitFor();
      let violations = await axe(page);
      assert.equal(violations.length, 0, describeViolations('the sign-in form', violations));
      await page.getByLabel('Token').fill('hf_not-a-real-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('region', { name: 'Sign in' }).getByRole('alert').filter({ hasText: /\S/ }).waitFor();
      violations = await axe(page);
      assert.equal(violations.length, 0, describeViolations('the sign-in form with a refused token', violations));
      assert.deepEqual(await unnamed(page), []);
      await page.context().close();
    } finally {
      await auth.stop();
    }
  });

  it('reaches the main navigation and the time slider by Tab from the top of the page', async () => {
    const page = await w.open('/');
    await page.locator('main').getByText('chatbot').first().waitFor();
    const reached: string[] = [];
    for (let i = 0; i < 15; i++) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate(() => {
          const e = document.activeElement;
          if (!e) return '';
          const label = e.id ? document.querySelector(`label[for="${e.id}"]`)?.textContent : null;
          return `${e.tagName.toLowerCase()}${e instanceof HTMLInputElement ? `[${e.type}]` : ''}:${(label ?? e.textContent ?? '').trim()}`;
        }),
      );
    }
    for (const link of ['Berth', 'Audit', 'Promotions', 'Deployments', 'Settings']) {
      assert.ok(reached.includes(`a:${link}`), `Tab reaches the ${link} link: ${reached.join(', ')}`);
    }
    assert.ok(reached.includes('input[range]:Registry as of'), `Tab reaches the time slider: ${reached.join(', ')}`);
    // The slider moves with the keyboard and sets the time the pages show.
    await page.locator('input[type=range]').focus();
    await page.keyboard.press('Home');
    await page.waitForURL((u) => u.searchParams.has('at'));
    await page.getByText('Viewing the registry as of').first().waitFor();
    await page.context().close();
  });
});
