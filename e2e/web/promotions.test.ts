import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { browserUnavailable } from './support.js';
import { pushVersion, startAuthUi, type AuthWorld } from './auth-world.js';

const skip = browserUnavailable();

const REVIEWED = `policy: reviewed
target_alias: champion
require_approvals: 1
gates:
  - { name: accuracy, metric: accuracy, min: 0.9 }
  - { name: safety, metric: safety_score, min: 0.95 }
`;

async function holder(w: AuthWorld, model: string, alias: string): Promise<number | undefined> {
  return (await w.client.listAliases(model)).find((a) => a.alias === alias)?.version;
}

describe('the Promotions page with auth on', { skip }, () => {
  let w: AuthWorld;
  let beforeApproval = '';

  before(async () => {
    w = await startAuthUi(async (admin) => {
      await admin.applyPolicy('reviewed', REVIEWED);
      for (const model of ['chatbot', 'summarizer']) {
        for (const n of [1, 2]) {
          const v = await pushVersion(admin, model, `${model} weights ${n}`);
          await admin.recordEvaluation(model, v, { metrics: { accuracy: 0.9 + n / 100, safety_score: 0.97 }, source: 'ci' });
        }
        await admin.setAlias(model, 'champion', 1, { reason: 'first release' });
      }
    });
    // Requested by the editor token, so that another token (the approver's) may approve.
    await w.as('ci').promote('chatbot', { version: 2, policy: 'reviewed', reason: 'better accuracy' });
    await w.as('ci').promote('summarizer', { version: 2, policy: 'reviewed' });
    beforeApproval = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
  });
  after(async () => {
    await w?.stop();
  });

  it('asks for a token when the server answers 401, and keeps it for the tab once the server accepts it', async () => {
    const page = await w.open('/promotions');
    const form = page.getByRole('region', { name: 'Sign in' });
    await form.getByText('This server needs a token to show the registry.').waitFor();
    await page.getByLabel('Token').fill('hf_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await form.getByRole('alert').filter({ hasText: /\S/ }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('berth.token')), null, 'a refused token is not kept');
    await w.shot(page, 'promotions-sign-in-refused');
    await page.getByLabel('Token').fill(w.tokens.reader);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as reader (viewer)', { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('berth.token')), w.tokens.reader);
    await page.getByRole('heading', { name: 'chatbot:2 → @champion' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('region', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('berth.token')), null);
    await page.context().close();
  });

  it('shows a viewer the pending approvals of every model with their gate reports, but no approve, reject or rollback', async () => {
    const page = await w.open('/promotions', { token: w.tokens.reader });
    const chatbot = page.getByRole('article', { name: 'chatbot:2 → @champion' });
    await chatbot.waitFor();
    await page.getByRole('article', { name: 'summarizer:2 → @champion' }).waitFor();
    const gates = chatbot.getByRole('table', { name: 'Gate report of chatbot:2 → @champion' });
    assert.match((await gates.getByRole('row', { name: /accuracy/ }).textContent()) ?? '', /0\.92.*0\.9.*pass/);
    assert.match((await chatbot.textContent()) ?? '', /0 of 1/);
    assert.match((await chatbot.textContent()) ?? '', /needs the approver role; reader is a viewer/);
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Reject' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Roll back' }).count(), 0);
    await page.getByText(/you can see promotions and their gate reports, but approving/).waitFor();
    await w.shot(page, 'promotions-viewer');
    // What the page hides the server refuses too: the viewer's token cannot approve.
    const [pending] = (await w.client.listAllPromotions({ state: 'pending' })).items.filter((p) => p.model === 'chatbot');
    await assert.rejects(w.as('reader').approvePromotion(pending!.id), /approver role/);
    await page.context().close();
  });

  it('lets an approver approve with a reason, which moves the alias, and reject another', async () => {
    const page = await w.open('/promotions', { token: w.tokens.releaser });
    await page.getByText('Signed in as releaser (approver)', { exact: true }).waitFor();
    const chatbot = page.getByRole('article', { name: 'chatbot:2 → @champion' });
    await chatbot.getByLabel('Reason for chatbot:2 → @champion').fill('gates pass, reviewed the eval');
    await w.shot(page, 'promotions-approver');
    await chatbot.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved chatbot:2 → @champion: chatbot@champion now points to version 2.').waitFor();
    assert.equal(await holder(w, 'chatbot', 'champion'), 2);
    await page.getByRole('article', { name: 'chatbot:2 → @champion' }).waitFor({ state: 'detached' });

    const summarizer = page.getByRole('article', { name: 'summarizer:2 → @champion' });
    await summarizer.getByLabel('Reason for summarizer:2 → @champion').fill('wait for the safety review');
    await summarizer.getByRole('button', { name: 'Reject' }).click();
    await page.getByText('Rejected summarizer:2 → @champion.').waitFor();
    assert.equal(await holder(w, 'summarizer', 'champion'), 1);
    await page.getByText('No promotion awaits approval.').waitFor();

    const approved = (await w.client.listPromotions('chatbot', { state: 'passed' })).items[0];
    assert.deepEqual(
      approved?.approvals.map((a) => [a.by, a.reason]),
      [['releaser', 'gates pass, reviewed the eval']],
    );
    const history = page.getByRole('table', { name: 'Promotions and rollbacks, newest first' });
    assert.match(
      (await history
        .getByRole('row', { name: /summarizer/ })
        .first()
        .textContent()) ?? '',
      /rejected/,
    );
    await w.shot(page, 'promotions-approved');
    await page.context().close();
  });

  it('rolls an alias back in one click with a reason', async () => {
    const page = await w.open('/promotions', { token: w.tokens.releaser });
    await page.getByRole('button', { name: 'Roll back chatbot@champion…' }).first().click();
    assert.equal(await page.getByRole('textbox', { name: 'Model', exact: true }).inputValue(), 'chatbot');
    assert.equal(await page.getByRole('textbox', { name: 'Alias', exact: true }).inputValue(), 'champion');
    await page.getByRole('textbox', { name: 'Reason', exact: true }).fill('latency regression in production');
    await page.getByRole('button', { name: 'Roll back', exact: true }).click();
    await page.getByText('Rolled back chatbot@champion from version 2 to version 1.').waitFor();
    assert.equal(await holder(w, 'chatbot', 'champion'), 1);
    const last = (await w.client.aliasHistory('chatbot', 'champion')).items.at(-1);
    assert.deepEqual([last?.from_version, last?.to_version], [2, 1]);
    assert.equal(last?.reason, 'latency regression in production');
    const history = page.getByRole('table', { name: 'Promotions and rollbacks, newest first' });
    assert.match(
      (await history
        .getByRole('row', { name: /rollback/ })
        .first()
        .textContent()) ?? '',
      /chatbot:1.*@champion \(was 2\).*rollback.*passed.*releaser/,
    );
    await w.shot(page, 'promotions-rolled-back');

    // An alias that is not set has nothing to roll back: the server's reason is shown in the page.
    await page.getByRole('textbox', { name: 'Alias', exact: true }).fill('staging');
    await page.getByRole('textbox', { name: 'Reason', exact: true }).fill('clean up');
    await page.getByRole('button', { name: 'Roll back', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'chatbot@staging is not set: there is nothing to roll back' }).waitFor();
    assert.equal(await holder(w, 'chatbot', 'champion'), 1);
    await page.context().close();
  });

  it('shows the promotions as they stood at ?at=, read-only, with the way back to now', async () => {
    const page = await w.open(`/promotions?at=${encodeURIComponent(beforeApproval)}`, { token: w.tokens.releaser });
    await page.getByText(/Viewing the registry as of/).waitFor();
    await page.getByRole('article', { name: 'chatbot:2 → @champion' }).waitFor();
    await page.getByRole('article', { name: 'summarizer:2 → @champion' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Approve|Reject|Roll back/ }).count(), 0);
    const link = page.getByRole('link', { name: 'chatbot', exact: true }).first();
    assert.match((await link.getAttribute('href')) ?? '', /\/models\/chatbot\?at=/);
    await w.shot(page, 'promotions-at');
    await page.getByRole('link', { name: 'back to now' }).click();
    await page.getByText('No promotion awaits approval.').waitFor();
    assert.equal(new URL(page.url()).search, '');
    await page.context().close();
  });
});
