import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Migrator, sql, type Migration } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { MAX_INDEXED_META_KEY, MAX_INDEXED_META_VALUE, type CatalogAtPage, type SearchPage } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { FakeClock } from '../../test-support/expect.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { buildApp } from '../app.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor } from './actor.js';
import { openStore } from '../store/store.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import { createSqliteDb, sqliteDialect } from '../store/dialects/sqlite.js';

const admin = localActor('local:tester');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

for (const backend of BACKENDS) {
  describe(`catalog search and time travel on ${backend.name}`, { skip: backend.unavailable }, () => {
    let reg: Registry;
    let app: FastifyInstance;
    let cleanup: () => Promise<void>;
    const clock = new FakeClock(Date.parse('2026-03-08T14:00:00Z'), 1000);
    /** Times between the seeded changes, for `?at=`. */
    const marks: Record<string, string> = {};

    async function push(
      model: string,
      content: string,
      fields: { tags?: Record<string, string>; metadata?: Record<string, unknown>; dependencies?: { model: string; version: number; digest: string }[] } = {},
    ) {
      const h = sha(content);
      await reg.blobs.put(admin, h, Readable.from([Buffer.from(content)]));
      return reg.versions.create(admin, model, { files: [{ path: 'w.bin', size: Buffer.byteLength(content), sha256: h }], ...fields });
    }
    const mark = (name: string) => {
      marks[name] = new Date(clock.t).toISOString();
      clock.advance(60_000);
    };

    async function get<T>(url: string, status = 200): Promise<T> {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, status, r.body);
      return r.json() as T;
    }
    const search = (q: string, kind = 'versions', extra = '') => get<SearchPage>(`/api/v1/search?kind=${kind}&q=${encodeURIComponent(q)}${extra}`);
    const versionIds = async (q: string) => ((await search(q)).versions ?? []).map((v) => `${v.model}:${v.version}`);
    const modelNames = async (q: string) => ((await search(q, 'models')).models ?? []).map((m) => m.name);

    before(async () => {
      const opened = await backend.open();
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store: opened.store, blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
      app = await buildApp({ registry: reg, authRequired: false });
      cleanup = async () => {
        await app.close();
        await blobs.close();
        await opened.cleanup();
      };
      await reg.models.create(admin, { name: 'old-model' });
      await reg.models.create(admin, { name: 'chatbot-large', tags: { team: 'nlp' } });
      await reg.models.create(admin, { name: 'chatbot-small' });
      await reg.models.create(admin, { name: 'llama-lora', kind: 'adapter' });
      const l1 = await push('chatbot-large', 'l1', { tags: { env: 'dev' }, metadata: { base_model: 'llama', params: { n: 7 } } });
      await reg.aliases.set(admin, 'chatbot-large', 'champion', { version: 1 });
      mark('champion-1');
      await push('chatbot-large', 'l2', { tags: { env: 'prod' }, metadata: { base_model: 'mistral' } });
      await reg.aliases.set(admin, 'chatbot-large', 'champion', { version: 2, reason: 'better' });
      await push('chatbot-small', 's1', { tags: { env: 'prod' }, metadata: { base_model: 'llama' } });
      await reg.aliases.set(admin, 'chatbot-small', 'challenger', { version: 1 });
      await push('llama-lora', 'a1', { metadata: { lr: 0.001 }, dependencies: [{ model: l1.model, version: l1.version, digest: l1.digest }] });
      await reg.models.delete(admin, 'old-model');
      await reg.models.create(admin, { name: 'vision_x' });
      await push('vision_x', 'v1', { tags: { env: 'prod' } });
      mark('now');
    });
    after(async () => cleanup?.());

    it('finds versions by tag, newest first, with their aliases and model kind', async () => {
      const page = await search('tag:env=prod');
      assert.deepEqual(
        page.versions?.map((v) => [`${v.model}:${v.version}`, v.aliases, v.model_kind]),
        [
          ['vision_x:1', [], 'model'],
          ['chatbot-small:1', ['challenger'], 'model'],
          ['chatbot-large:2', ['champion'], 'model'],
        ],
      );
      assert.equal(page.next_cursor, null);
    });

    it('joins terms with OR and AND, AND binding tighter, parentheses grouping', async () => {
      assert.deepEqual(await versionIds('meta.base_model=llama OR alias:champion'), ['chatbot-small:1', 'chatbot-large:2', 'chatbot-large:1']);
      assert.deepEqual(await versionIds('name:chat* tag:env=prod'), ['chatbot-small:1', 'chatbot-large:2']);
      assert.deepEqual(await versionIds('kind:adapter OR name:vision* tag:env=prod'), ['vision_x:1', 'llama-lora:1']);
      assert.deepEqual(await versionIds('(kind:adapter OR name:vision*) tag:env=prod'), ['vision_x:1']);
    });

    it('matches names ignoring case, with * the only wildcard', async () => {
      assert.deepEqual(await modelNames('LARGE'), ['chatbot-large']);
      assert.deepEqual(await modelNames('name:CHAT*'), ['chatbot-large', 'chatbot-small']);
      assert.deepEqual(await modelNames('name:chatbot'), []);
      assert.deepEqual(await modelNames('vision_x'), ['vision_x']);
      // `_` and `%` are literal characters, not wildcards.
      assert.deepEqual(await modelNames('vision%'), []);
      assert.deepEqual(await modelNames('chatbot_large'), []);
    });

    it('reads metadata fields at any depth, numbers as their text', async () => {
      assert.deepEqual(await versionIds('meta.params.n=7'), ['chatbot-large:1']);
      assert.deepEqual(await versionIds('meta.lr=0.001'), ['llama-lora:1']);
      assert.deepEqual(await versionIds('meta.base_model=gpt'), []);
    });

    it('finds a metadata value too long for the field index by reading the JSON', async () => {
      const long = 'q'.repeat(MAX_INDEXED_META_VALUE + 1);
      await push('chatbot-small', 's-long', { metadata: { prompt: long } });
      try {
        assert.deepEqual(await versionIds(`meta.prompt=${long}`), ['chatbot-small:2']);
        assert.deepEqual(await modelNames(`meta.prompt=${long}`), ['chatbot-small']);
        assert.deepEqual(await versionIds(`meta.prompt=${long}x`), []);
        const key = 'k'.repeat(MAX_INDEXED_META_KEY + 1);
        await reg.versions.update(admin, 'chatbot-small', 2, { metadata: { [key]: 'v' } });
        assert.deepEqual(await versionIds(`meta.${key}=v`), ['chatbot-small:2']);
      } finally {
        await reg.versions.delete(admin, 'chatbot-small', 2);
      }
      assert.deepEqual(await versionIds(`meta.prompt=${long}`), []);
    });

    it('follows metadata edits and deletions', async () => {
      const v = await push('vision_x', 'v-edit', { metadata: { base_model: 'vit' } });
      assert.deepEqual(await versionIds('meta.base_model=vit'), [`vision_x:${v.version}`]);
      await reg.versions.update(admin, 'vision_x', v.version, { metadata: { base_model: 'clip' } });
      assert.deepEqual(await versionIds('meta.base_model=vit'), []);
      assert.deepEqual(await versionIds('meta.base_model=clip'), [`vision_x:${v.version}`]);
      await reg.versions.delete(admin, 'vision_x', v.version);
      assert.deepEqual(await versionIds('meta.base_model=clip'), []);
    });

    it('finds models by kind, tag, alias and the metadata of their versions', async () => {
      assert.deepEqual(await modelNames('kind:adapter'), ['llama-lora']);
      assert.deepEqual(await modelNames('tag:team'), ['chatbot-large']);
      assert.deepEqual(await modelNames('tag:team=ops'), []);
      assert.deepEqual(await modelNames('alias:champion OR alias:challenger'), ['chatbot-large', 'chatbot-small']);
      assert.deepEqual(await modelNames('meta.base_model=llama'), ['chatbot-large', 'chatbot-small']);
      const [large] = (await search('name:chatbot-large', 'models')).models ?? [];
      assert.deepEqual(large?.aliases, { champion: 2 });
      assert.equal(large?.version_count, 2);
    });

    it('lists everything without a query, models by name by default', async () => {
      assert.deepEqual(
        ((await get<SearchPage>('/api/v1/search')).models ?? []).map((m) => m.name),
        ['chatbot-large', 'chatbot-small', 'llama-lora', 'vision_x'],
      );
    });

    it('pages by cursor without repeating or skipping when limit is small', async () => {
      for (const kind of ['versions', 'models']) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: SearchPage = await search('', kind, `&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
          const items = kind === 'versions' ? (page.versions ?? []).map((v) => `${v.model}:${v.version}`) : (page.models ?? []).map((m) => m.name);
          assert.ok(items.length <= 2);
          seen.push(...items);
          cursor = page.next_cursor;
          pages++;
        } while (cursor);
        const all = kind === 'versions' ? await versionIds('') : await modelNames('');
        assert.deepEqual(seen, all);
        assert.equal(pages, Math.ceil(all.length / 2));
      }
    });

    it('answers bad input with a 400 that names the problem', async () => {
      const bad = async (url: string, match: RegExp) => {
        const body = await get<{ error: { code: string; message: string } }>(url, 400);
        assert.equal(body.error.code, 'INVALID_ARGUMENT');
        assert.match(body.error.message, match);
      };
      await bad(`/api/v1/search?q=${encodeURIComponent('(a OR')}`, /invalid search query/);
      await bad('/api/v1/search?q=owner:me', /unknown field "owner"/);
      await bad('/api/v1/search?kind=runs', /kind/);
      await bad('/api/v1/search?limit=0', /limit/);
      await bad('/api/v1/search?cursor=garbage', /invalid cursor/);
      await bad(`/api/v1/search?q=${'x'.repeat(1001)}`, /q/);
      await bad(`/api/v1/search?q=${encodeURIComponent('tag:env=a\u0000b')}`, /control character/);
      const forged = (c: Record<string, unknown>) => Buffer.from(JSON.stringify(c)).toString('base64url');
      await bad(`/api/v1/search?kind=versions&cursor=${forged({ v: 'NaN' })}`, /invalid cursor/);
      await bad(`/api/v1/search?kind=versions&cursor=${forged({ v: 1.5 })}`, /invalid cursor/);
      await bad(`/api/v1/search?cursor=${forged({ n: 'a\u0000' })}`, /invalid cursor/);
      await bad(`/api/v1/search?cursor=${forged({ n: 7 })}`, /invalid cursor/);
      await bad(`/api/v1/catalog?at=${marks.now}&cursor=${forged({ m: '1' })}`, /invalid cursor/);
      await bad('/api/v1/catalog?at=yesterday-ish', /at/);
      await bad('/api/v1/catalog', /at/);
      await bad(`/api/v1/catalog?at=${marks.now}&cursor=garbage`, /invalid cursor/);
    });

    it('refuses a kind other than models or versions when called directly', async () => {
      await assert.rejects(reg.catalog.search({ kind: 'runs' }), /invalid kind "runs"/);
    });

    it('shows the models that existed at a past time with their aliases then', async () => {
      const then = await get<CatalogAtPage>(`/api/v1/catalog?at=${marks['champion-1']}`);
      assert.equal(then.at, marks['champion-1']);
      assert.deepEqual(
        then.items.map((m) => [m.name, m.kind, m.aliases]),
        [
          ['old-model', 'model', {}],
          ['chatbot-large', 'model', { champion: 1 }],
          ['chatbot-small', 'model', {}],
          ['llama-lora', 'adapter', {}],
        ],
      );
      assert.deepEqual(then.items[1]?.tags, { team: 'nlp' });
      const now = await get<CatalogAtPage>(`/api/v1/catalog?at=${marks.now}&limit=3`);
      assert.deepEqual(
        now.items.map((m) => [m.name, m.aliases]),
        [
          ['chatbot-large', { champion: 2 }],
          ['chatbot-small', { challenger: 1 }],
          ['llama-lora', {}],
        ],
      );
      const rest = await get<CatalogAtPage>(`/api/v1/catalog?at=${marks.now}&limit=3&cursor=${now.next_cursor}`);
      assert.deepEqual(
        rest.items.map((m) => m.name),
        ['vision_x'],
      );
      assert.equal(rest.next_cursor, null);
      const before = await get<CatalogAtPage>('/api/v1/catalog?at=2026-03-01T00:00:00Z');
      assert.deepEqual(before.items, []);
    });
  });
}

describe('migration 0013 fills the metadata field rows of an existing registry', () => {
  it('finds metadata written before the upgrade', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-mig-'));
    try {
      const file = join(dir, 'berth.db');
      const { db } = createSqliteDb(file);
      const migrations: Record<string, Migration> = {};
      for (const m of MIGRATIONS.filter((m) => m.name < '0013')) migrations[m.name] = { up: (d) => m.up(d, sqliteDialect) };
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => migrations },
        migrationTableName: 'berth_migrations',
        migrationLockTableName: 'berth_migrations_lock',
      });
      assert.equal((await migrator.migrateToLatest()).error, undefined);
      await sql`insert into models (name, kind, description, tags, protected_aliases, last_version, created_at, updated_at)
        values ('old', 'model', '', '{}', '[]', 1200, 1, 1)`.execute(db);
      for (let i = 1; i <= 1200; i++) {
        await sql`insert into versions (model_id, version, digest, status, stage, size, file_count, metadata, tags, description, dependencies, created_by, created_at, updated_at)
          values (1, ${i}, ${`sha256:${i}`}, 'READY', 'None', 0, 0, ${JSON.stringify({ base: i % 4 === 0 ? 'llama' : 'qwen', train: { step: i } })}, '{}', '', '[]', 'old', ${i}, ${i})`.execute(
          db,
        );
      }
      await db.destroy();
      const store = await openStore(`sqlite:${file}`);
      const blobs = await FsBlobStore.open(join(dir, 'blobs'));
      try {
        const reg = new Registry({ store, blobs, clock: new FakeClock(), config: DEFAULT_REGISTRY_CONFIG });
        const llama = await reg.catalog.search({ kind: 'versions', q: 'meta.base=llama', limit: 1000 });
        assert.equal(llama.page.items.length, 300);
        const one = await reg.catalog.search({ kind: 'versions', q: 'meta.train.step=1199' });
        assert.deepEqual(
          one.page.items.map((v) => (v as { version: number }).version),
          [1199],
        );
      } finally {
        await blobs.close();
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
