import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthClient } from '@berth/sdk';
import { browserUnavailable } from './support.js';
import { pushVersion, startAuthUi, type AuthWorld } from './auth-world.js';

const skip = browserUnavailable();

const POLICY = `policy: chatbot-promotion
target_alias: champion
gates:
  - { name: accuracy, metric: accuracy, min: 0.90 }
  - { name: latency, metric: p99_latency_ms, max: 500 }
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the Settings page with auth on', { skip }, () => {
  let w: AuthWorld;
  let receiver: Server;
  let hookUrl = '';
  const received: string[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      received.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/berth`;
    const env = { BERTH_WEBHOOK_ALLOW_PRIVATE: '1' };
    w = await startAuthUi(async (admin) => {
      await admin.applyPolicy('chatbot-promotion', POLICY);
      await pushVersion(admin, 'chatbot', 'weights 1');
    }, env);
    await w.client.createWebhook({ url: hookUrl, events: ['alias.*'], description: 'release notes' });
    await w.client.setAlias('chatbot', 'staging', 1);
    await until('the delivery', async () => (received.length > 0 ? true : undefined));
  });
  after(async () => {
    await w?.stop();
    receiver?.close();
  });

  it('creates a token shown once, which works, and revokes it with a reason', async () => {
    const page = await w.open('/settings', { token: w.tokens.root });
    await page.getByText('Signed in as root (admin)', { exact: true }).waitFor();
    const tokens = page.getByRole('table', { name: 'Tokens (secrets are never listed)' });
    for (const name of ['root', 'releaser', 'ci', 'reader']) await tokens.getByRole('row', { name: new RegExp(`^${name} `) }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('deploy-bot');
    await page.getByLabel('Role').selectOption('editor');
    await page.getByLabel(/^Models/).fill('chat*');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByLabel('Token deploy-bot');
    await secret.waitFor();
    const token = await secret.inputValue();
    assert.match(token, /^hf_/);
    await page.getByText('Copy it now: it is not shown again.').waitFor();
    await w.shot(page, 'settings-token-created');
    const me = await new BerthClient({ url: w.url, token }).whoami();
    assert.deepEqual([me.name, me.models], ['deploy-bot', ['chat*']]);
    assert.match((await tokens.getByRole('row', { name: /^deploy-bot / }).textContent()) ?? '', /editor.*chat\*.*active/);

    // Shown once: after a reload the secret is nowhere on the page.
    await page.reload();
    await tokens.getByRole('row', { name: /^deploy-bot / }).waitFor();
    assert.equal(await page.getByText(token).count(), 0);
    assert.ok(!(await page.content()).includes(token));

    await page.getByRole('button', { name: 'Revoke deploy-bot…' }).click();
    await page.getByLabel('Reason for revoking deploy-bot').fill('rotated');
    await page.getByRole('button', { name: 'Revoke deploy-bot', exact: true }).click();
    await page.getByText('Revoked token deploy-bot.').waitFor();
    // The list is read again after the revoke: wait for the row to say so.
    const revokedRow = tokens.getByRole('row', { name: /^deploy-bot / }).filter({ hasText: /revoked/ });
    await revokedRow.waitFor();
    assert.match((await revokedRow.textContent()) ?? '', /revoked .* by root/);
    await assert.rejects(new BerthClient({ url: w.url, token }).whoami(), (err: Error & { code?: string }) => err.code === 'UNAUTHENTICATED');
    const audit = (await w.client.listAudit({ limit: 1000 })).items.find((e) => e.action === 'token.revoke');
    assert.equal(audit?.reason, 'rotated');
    await w.shot(page, 'settings-token-revoked');
    await page.context().close();

    // A tab still holding the revoked token is asked to sign in again, with the server's reason.
    const stale = await w.open('/settings', { token });
    await stale
      .getByRole('region', { name: 'Sign in' })
      .getByText(/^The server refused this tab's token: /)
      .waitFor();
    await w.shot(stale, 'settings-revoked-token-tab');
    await stale.context().close();
  });

  it('shows a webhook delivery log and replays a delivery to the receiver', async () => {
    const page = await w.open('/settings', { token: w.tokens.root });
    const hook = page.getByRole('article', { name: hookUrl });
    await hook.getByText(/release notes/).waitFor();
    await hook.getByRole('button', { name: `Show delivery log of ${hookUrl}` }).click();
    const log = hook.getByRole('table', { name: `Deliveries to ${hookUrl}, newest first` });
    const row = log.getByRole('row', { name: /alias\.moved/ });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /delivered.*204/);
    await w.shot(page, 'settings-deliveries');
    const before = received.length;
    await row.getByRole('button', { name: /^Replay alias\.moved/ }).click();
    await page.getByText(/^Replayed alias\.moved #\d+ to /).waitFor();
    await until('the replayed delivery', async () => (received.length > before ? true : undefined));
    // A replay is the same event again: the receiver sees the same webhook-id twice.
    assert.equal(received.at(-1), received[0]);
    await until('the replay in the log', async () => ((await log.getByRole('row', { name: /alias\.moved/ }).count()) === 2 ? true : undefined));
    await page.context().close();
  });

  it('lists policies with their YAML', async () => {
    const page = await w.open('/settings', { token: w.tokens.root });
    const policy = page.getByRole('article', { name: 'chatbot-promotion v1' });
    await policy.getByText(/target alias @champion · 2 gate\(s\)/).waitFor();
    await policy.getByText('YAML of chatbot-promotion').click();
    assert.equal((await policy.locator('pre').textContent())?.trim(), POLICY.trim());
    await w.shot(page, 'settings-policies');
    await page.context().close();
  });

  it('shows a viewer the policies but no token or webhook controls, with the server refusal in the page', async () => {
    const page = await w.open('/settings', { token: w.tokens.reader });
    await page.getByText('Signed in as reader (viewer)', { exact: true }).waitFor();
    await page.getByText(/Changing tokens and webhooks needs the admin role; reader is a viewer/).waitFor();
    await page.getByRole('alert').filter({ hasText: /admin/ }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create token' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Revoke|^Replay/ }).count(), 0);
    await page.getByRole('article', { name: 'chatbot-promotion v1' }).waitFor();
    await w.shot(page, 'settings-viewer');
    await page.context().close();
  });

  it('is read-only as of a past time, with the way back to now', async () => {
    const at = new Date().toISOString();
    const page = await w.open(`/settings?at=${encodeURIComponent(at)}`, { token: w.tokens.root });
    await page.getByText(/Viewing the registry as of/).waitFor();
    await page
      .getByRole('table', { name: 'Tokens (secrets are never listed)' })
      .getByRole('row', { name: /^reader / })
      .waitFor();
    assert.equal(await page.getByRole('button', { name: /Create token|^Revoke/ }).count(), 0);
    await page.getByRole('link', { name: 'back to now' }).click();
    await page.getByRole('button', { name: 'Create token' }).waitFor();
    await page.context().close();
  });
});
