import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor, type Actor } from './actor.js';
import { TOKEN_CACHE_TTL_MS, hashToken, type TokenIdentity } from './tokens-service.js';
import { openStore, type Store } from '../store/store.js';
import { FakeClock, expectCode } from '../../test-support/expect.js';

const admin = localActor('local');

for (const backend of BACKENDS) {
  describe(`token service on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let reg: Registry;
    let clock: FakeClock;
    let url = '';
    let dir = '';
    let cleanup: () => Promise<void>;

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      url = opened.url;
      dir = opened.dir;
      clock = new FakeClock();
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store, blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
    });
    after(async () => cleanup?.());

    const identify = async (secret: string): Promise<TokenIdentity | null> => reg.tokens.identify(secret);

    it('creates a random hf_ token shown once, stores only its hash and audits the creation without the secret', async () => {
      const { record, token } = await reg.tokens.create(admin, { name: 'ci-bot', role: 'editor', models: ['chatbot*'], expires_in: '30d' });
      assert.match(token, /^hf_[0-9A-Za-z]{40}$/);
      assert.equal(record.hash, hashToken(token));
      assert.equal(record.expires_at, clock.now() + 30 * 86_400_000);
      const other = await reg.tokens.create(admin, { name: 'other', role: 'viewer' });
      assert.notEqual(other.token, token);
      const rows = await store.db.selectFrom('tokens').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(token), 'the secret is not stored');
      const trail = JSON.stringify([
        await store.db.selectFrom('audit_events').selectAll().execute(),
        await store.db.selectFrom('events').selectAll().execute(),
      ]);
      assert.ok(!trail.includes(token) && !trail.includes(record.hash), 'neither the secret nor its hash reaches the audit trail or the outbox');
      const [audit] = await store.db.selectFrom('audit_events').selectAll().where('subject', '=', 'ci-bot').execute();
      assert.equal(audit?.action, 'token.create');
      assert.equal(audit?.subject_type, 'token');
      assert.equal(audit?.actor, 'local');
      assert.deepEqual(JSON.parse(audit?.after ?? 'null'), {
        role: 'editor',
        models: ['chatbot*'],
        expires_at: new Date(record.expires_at ?? 0).toISOString(),
      });
    });

    it('identifies a token as its name with every role up to its own and its model patterns', async () => {
      const { token } = await reg.tokens.create(admin, { name: 'approver-1', role: 'approver', models: ['a*', 'b'] });
      const id = await identify(token);
      assert.equal(id?.name, 'approver-1');
      assert.deepEqual([...(id?.roles ?? [])].sort(), ['approver', 'editor', 'viewer']);
      assert.deepEqual(id?.scopes, ['a*', 'b']);
      const adminToken = await reg.tokens.create(admin, { name: 'root', role: 'admin' });
      const a = await identify(adminToken.token);
      assert.equal(a?.roles.has('admin'), true);
      assert.equal(a?.scopes, undefined);
    });

    it('does not know a forged token that shares a prefix with a real one, nor text that is not a token', async () => {
      const { token } = await reg.tokens.create(admin, { name: 'prefixed', role: 'admin' });
      const last = token.at(-1) === 'a' ? 'b' : 'a';
      assert.equal(await identify(`${token.slice(0, -1)}${last}`), null);
      assert.equal(await identify(token.slice(0, 20)), null);
      assert.equal(await identify(`${token}x`), null);
      assert.equal(await identify(''), null);
    });

    it('refuses a taken name, even a revoked one, and changes nothing', async () => {
      await reg.tokens.create(admin, { name: 'taken', role: 'viewer' });
      await expectCode(reg.tokens.create(admin, { name: 'taken', role: 'admin' }), 'ALREADY_EXISTS', /token "taken" already exists/);
      await reg.tokens.revoke(admin, 'taken');
      await expectCode(reg.tokens.create(admin, { name: 'taken', role: 'admin' }), 'ALREADY_EXISTS');
      const t = (await reg.tokens.list(admin)).find((x) => x.name === 'taken');
      assert.equal(t?.role, 'viewer');
    });

    it('refuses bad input naming the field, and creates nothing', async () => {
      const before = (await reg.tokens.list(admin)).length;
      const e1 = await expectCode(reg.tokens.create(admin, { name: 'bad pattern', role: 'viewer' }), 'INVALID_ARGUMENT');
      assert.equal(e1.details.field, 'name');
      const e2 = await expectCode(reg.tokens.create(admin, { name: 'p', role: 'viewer', models: ['ok', 'no way'] }), 'INVALID_ARGUMENT', /no way/);
      assert.equal(e2.details.field, 'models');
      const e3 = await expectCode(reg.tokens.create(admin, { name: 'r', role: 'owner' as 'admin' }), 'INVALID_ARGUMENT', /owner/);
      assert.equal(e3.details.field, 'role');
      await expectCode(reg.tokens.create(admin, { name: 'd', role: 'viewer', expires_in: '2w' }), 'INVALID_ARGUMENT', /expires_in "2w"/);
      await expectCode(
        reg.tokens.create(admin, { name: 'd', role: 'viewer', expires_in: '1d', expires_at: '2030-01-01T00:00:00Z' }),
        'INVALID_ARGUMENT',
        /not both/,
      );
      await expectCode(reg.tokens.create(admin, { name: 'd', role: 'viewer', expires_at: '2020-01-01T00:00:00Z' }), 'INVALID_ARGUMENT', /in the past/);
      await expectCode(reg.tokens.create(admin, { name: 'd', role: 'viewer', expires_at: 'soon' }), 'INVALID_ARGUMENT', /not an ISO time/);
      assert.equal((await reg.tokens.list(admin)).length, before);
    });

    it('lets only an admin create, list and revoke tokens', async () => {
      const editor: Actor = { name: 'ed', roles: new Set(['viewer', 'editor', 'approver']), via: 'api' };
      await expectCode(reg.tokens.create(editor, { name: 'sneaky', role: 'admin' }), 'PERMISSION_DENIED', /admin role/);
      await expectCode(reg.tokens.list(editor), 'PERMISSION_DENIED');
      await expectCode(reg.tokens.revoke(editor, 'ci-bot'), 'PERMISSION_DENIED');
      assert.equal(
        (await reg.tokens.list(admin)).find((t) => t.name === 'sneaky'),
        undefined,
      );
      assert.equal((await reg.tokens.list(admin)).find((t) => t.name === 'ci-bot')?.revoked_at, null);
    });

    it('revokes a token at once on this server, keeps its row, audits it once, and 404s an unknown name', async () => {
      const { token } = await reg.tokens.create(admin, { name: 'to-revoke', role: 'editor' });
      assert.equal((await identify(token))?.name, 'to-revoke');
      const r = await reg.tokens.revoke(admin, 'to-revoke', 'leaked in a log');
      assert.equal(r.revoked_at, clock.now());
      assert.equal(r.revoked_by, 'local');
      assert.equal(await identify(token), null);
      await reg.tokens.revoke(admin, 'to-revoke');
      const events = await store.db.selectFrom('audit_events').selectAll().where('subject', '=', 'to-revoke').orderBy('seq').execute();
      assert.deepEqual(
        events.map((e) => [e.action, e.reason]),
        [
          ['token.create', null],
          ['token.revoke', 'leaked in a log'],
        ],
      );
      assert.ok((await reg.tokens.list(admin)).some((t) => t.name === 'to-revoke'));
      await expectCode(reg.tokens.revoke(admin, 'nobody'), 'NOT_FOUND', /token "nobody" not found/);
    });

    it('stops accepting a token when it expires', async () => {
      const { token } = await reg.tokens.create(admin, { name: 'short', role: 'viewer', expires_in: '90m' });
      assert.equal((await identify(token))?.name, 'short');
      clock.t += 90 * 60_000 - 1;
      assert.equal((await identify(token))?.name, 'short');
      clock.t += 1;
      assert.equal(await identify(token), null);
    });

    it('counts the tokens that are neither revoked nor expired', async () => {
      const before = await reg.tokens.countActive();
      await reg.tokens.create(admin, { name: 'counted', role: 'viewer', expires_at: new Date(clock.now() + 1000).toISOString() });
      assert.equal(await reg.tokens.countActive(), before + 1);
      clock.t += 1000;
      assert.equal(await reg.tokens.countActive(), before);
    });

    it('answers a known token from the cache, and another server honours a revoke within the cache time', async () => {
      const other = await openStore(url);
      const blobs = await FsBlobStore.open(`${dir}/blobs2`);
      try {
        const reg2 = new Registry({ store: other, blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
        const { token } = await reg.tokens.create(admin, { name: 'shared', role: 'viewer' });
        assert.ok(reg2.tokens.identify(token) instanceof Promise, 'the first lookup asks the database');
        assert.equal((await reg2.tokens.identify(token))?.name, 'shared');
        const cached = reg2.tokens.identify(token);
        assert.ok(!(cached instanceof Promise), 'the next lookup is answered from the cache');
        await reg.tokens.revoke(admin, 'shared');
        assert.equal((await reg2.tokens.identify(token))?.name, 'shared', 'within the cache time the other server still takes it');
        clock.t += TOKEN_CACHE_TTL_MS;
        assert.equal(await reg2.tokens.identify(token), null);
      } finally {
        await blobs.close();
        await other.close();
      }
    });
  });
}
