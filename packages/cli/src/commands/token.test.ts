import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock } from '@berth/server';
import { main } from '../main.js';
import type { Io } from '../io.js';

/** A real server on a loopback port over a data folder that outlives it (a restart with --auth reopens it). */
async function start(dir: string, authRequired: boolean) {
  const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
  const blobs = await FsBlobStore.open(join(dir, 'blobs'));
  const app = await buildApp({ registry: new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }), authRequired });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async stop() {
      await app.close();
      await blobs.close();
      await store.close();
    },
  };
}

describe('berth token and whoami against a real server', () => {
  let dir = '';
  let url = '';
  let stop: () => Promise<void> = async () => {};
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-token-'));
  });
  after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function berth(argv: string[], env: Record<string, string> = {}) {
    const out: string[] = [];
    const errs: string[] = [];
    const io: Io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => errs.push(s) }, env: { BERTH_URL: url, ...env }, cwd: dir };
    const code = await main(argv, io);
    return { code, stdout: out.join(''), stderr: errs.join('') };
  }

  it('makes the first admin token as the loopback local user, then works with tokens once the server requires them', async () => {
    ({ url, stop } = await start(dir, false));
    const first = await berth(['token', 'create', 'admin', '--role', 'admin']);
    assert.equal(first.code, 0, first.stderr);
    const admin = first.stdout.trim();
    assert.match(admin, /^hf_[0-9A-Za-z]{40}$/, 'stdout holds the token alone');
    assert.match(first.stderr, /created token admin: admin, never expires\nstore it now: it is shown only this once/);
    await stop();
    ({ url, stop } = await start(dir, true));

    const anon = await berth(['ls']);
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /requires a token/);

    const me = await berth(['whoami', '--token', admin]);
    assert.equal(me.stdout, 'admin: token; roles viewer, editor, approver, admin\n');

    const ci = await berth(['token', 'create', 'ci-bot', '--role', 'editor', '--models', 'chatbot*', '--models', 'team/*', '--expires', '30d', '--json'], {
      BERTH_TOKEN: admin,
    });
    assert.equal(ci.code, 0, ci.stderr);
    const created = JSON.parse(ci.stdout);
    assert.deepEqual([created.name, created.role, created.models, created.created_by], ['ci-bot', 'editor', ['chatbot*', 'team/*'], 'admin']);
    assert.ok(Date.parse(created.expires_at) - Date.now() > 29 * 86_400_000);

    const ciMe = await berth(['whoami', '--json'], { BERTH_TOKEN: created.token });
    assert.deepEqual(JSON.parse(ciMe.stdout), { name: 'ci-bot', roles: ['viewer', 'editor'], models: ['chatbot*', 'team/*'], via: 'api', authenticated: true });
    const denied = await berth(['token', 'ls'], { BERTH_TOKEN: created.token });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /listing tokens needs the admin role; ci-bot does not have it/);

    const ls = await berth(['token', 'ls', '--token', admin]);
    assert.match(ls.stdout, /^NAME\s+ROLE\s+MODELS\s+EXPIRES\s+CREATED BY\s+CREATED\s+REVOKED\n/);
    assert.match(ls.stdout, /\nci-bot\s+editor\s+chatbot\*,team\/\*\s+20\d\d-/);
    assert.ok(!ls.stdout.includes(created.token));

    const taken = await berth(['token', 'create', 'ci-bot', '--role', 'viewer', '--token', admin]);
    assert.equal(taken.code, 4);
    const revoked = await berth(['token', 'revoke', 'ci-bot', '--reason', 'rotated', '--token', admin]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^revoked token ci-bot/);
    const after = await berth(['whoami'], { BERTH_TOKEN: created.token });
    assert.equal(after.code, 1);
    assert.match(after.stderr, /unknown, revoked or expired/);
    assert.equal((await berth(['token', 'revoke', 'nobody', '--token', admin])).code, 3);
  });

  it('refuses bad usage with exit 2 before asking the server', async () => {
    for (const argv of [
      ['token'],
      ['token', 'create', 'x'],
      ['token', 'create', 'x', '--role', 'owner'],
      ['token', 'ls', 'extra'],
      ['whoami', 'x'],
      ['token', 'mint'],
    ]) {
      const r = await berth(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, /^error: /);
    }
    const bad = await berth(['token', 'create', 'x', '--role', 'viewer', '--expires', 'tomorrow', '--token', 'hf_nope']);
    assert.equal(bad.code, 1, 'a malformed token is refused by the server: 401');
  });
});
