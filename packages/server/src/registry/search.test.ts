import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Migrator, sql, type Migration } from 'kysely';
import { BerthError, parseMlflowFilter } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import type { VersionView } from './results.js';
import { localActor, type Clock } from './actor.js';
import { openStore, type Store } from '../store/store.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import { createSqliteDb, sqliteDialect } from '../store/dialects/sqlite.js';

class StepClock implements Clock {
  t = Date.parse('2026-03-01T00:00:00Z');
  now() {
    this.t += 1000;
    return this.t;
  }
}

const admin = localActor('local:tester');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function expectInvalid(p: Promise<unknown>, match: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof BerthError && err.code === 'INVALID_ARGUMENT' && match.test(err.message));
}

for (const backend of BACKENDS) {
  describe(`search in SQL on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let reg: Registry;
    let cleanup: () => Promise<void>;

    const versions = async (filter: string, opts: { max?: number; orderBy?: string[]; pageToken?: string } = {}) =>
      reg.search.versions(parseMlflowFilter(filter, 'versions'), { max: opts.max ?? 1000, orderBy: opts.orderBy ?? [], pageToken: opts.pageToken });
    const models = async (filter: string, opts: { max?: number; orderBy?: string[]; pageToken?: string } = {}) =>
      reg.search.models(parseMlflowFilter(filter, 'models'), { max: opts.max ?? 1000, orderBy: opts.orderBy ?? [], pageToken: opts.pageToken });
    const ids = (vs: VersionView[]) => vs.map((v) => `${v.model}:${v.version}`);

    async function push(model: string, content: string, tags: Record<string, string> = {}, run_id?: string): Promise<VersionView> {
      const h = sha(content);
      await reg.blobs.put(admin, h, Readable.from([Buffer.from(content)]));
      return reg.versions.create(admin, model, { files: [{ path: 'w.bin', size: Buffer.byteLength(content), sha256: h }], tags, run_id });
    }

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store, blobs, clock: new StepClock(), config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
      await reg.models.create(admin, { name: 'Chatbot-Large', tags: { team: 'nlp', pattern: 'a*b?[c]\\d' } });
      await reg.models.create(admin, { name: 'chatbot-small', tags: { team: 'NLP' } });
      await reg.models.create(admin, { name: 'vision_x', tags: { 'mlflow.prompt.is_prompt': 'false' } });
      await reg.models.create(admin, { name: 'prompt-1', tags: { 'mlflow.prompt.is_prompt': 'true' } });
      await push('Chatbot-Large', 'l1', { stage: 'dev' }, 'run-a');
      await push('Chatbot-Large', 'l2', { stage: 'prod', note: '100%_sure' }, 'run-b');
      await push('chatbot-small', 's1', { stage: 'dev' }, 'run-a');
      await push('vision_x', 'v1');
    });
    after(async () => cleanup?.());

    it('LIKE is case-sensitive, ILIKE is not, and _ and % are the only wildcards', async () => {
      assert.deepEqual(
        (await models("name LIKE 'chatbot%'")).items.map((m) => m.name),
        ['chatbot-small'],
      );
      assert.deepEqual(
        (await models("name ILIKE 'CHATBOT%'")).items.map((m) => m.name),
        ['Chatbot-Large', 'chatbot-small'],
      );
      assert.deepEqual(
        (await models("name LIKE 'vision_x'")).items.map((m) => m.name),
        ['vision_x'],
      );
      assert.deepEqual(
        (await models("name LIKE 'vision%' AND name LIKE '%_x'")).items.map((m) => m.name),
        ['vision_x'],
      );
      // GLOB's and PostgreSQL's own metacharacters in a pattern are plain characters.
      assert.deepEqual(
        (await models("tags.pattern LIKE 'a*b?[c]\\\\d'")).items.map((m) => m.name),
        ['Chatbot-Large'],
      );
      assert.deepEqual(
        (await models("tags.pattern LIKE 'a_b_[c]%'")).items.map((m) => m.name),
        ['Chatbot-Large'],
      );
      assert.deepEqual((await models("tags.pattern LIKE 'ax%'")).items, []);
      assert.deepEqual(ids((await versions("tags.note LIKE '100%'")).items), ['Chatbot-Large:2']);
    });

    it('tag clauses match only entities that have the tag, except the prompt marker', async () => {
      assert.deepEqual(
        (await models("tags.team = 'nlp'")).items.map((m) => m.name),
        ['Chatbot-Large'],
      );
      assert.deepEqual(
        (await models("tags.team ILIKE 'nlp'")).items.map((m) => m.name),
        ['Chatbot-Large', 'chatbot-small'],
      );
      assert.deepEqual(
        (await models("tags.team != 'nlp'")).items.map((m) => m.name),
        ['chatbot-small'],
      );
      assert.deepEqual(
        (await models("tags.`mlflow.prompt.is_prompt` != 'true'")).items.map((m) => m.name),
        ['Chatbot-Large', 'chatbot-small', 'vision_x'],
      );
      assert.deepEqual(ids((await versions("tags.stage = 'dev'", { orderBy: ['name ASC'] })).items), ['Chatbot-Large:1', 'chatbot-small:1']);
    });

    it('combines name, run id, version and tag clauses with AND', async () => {
      assert.deepEqual(ids((await versions("run_id = 'run-a' AND name ILIKE 'chatbot-%'", { orderBy: ['name'] })).items), [
        'Chatbot-Large:1',
        'chatbot-small:1',
      ]);
      assert.deepEqual(ids((await versions("run_id IN ('run-b', 'nope')")).items), ['Chatbot-Large:2']);
      assert.deepEqual(ids((await versions("run_id = ''")).items), ['vision_x:1'], 'a version without a run has run_id ""');
      assert.deepEqual(ids((await versions("run_id != 'run-a'", { orderBy: ['name'] })).items), ['Chatbot-Large:2', 'vision_x:1']);
      assert.deepEqual(ids((await versions("name = 'Chatbot-Large' AND version_number > 1")).items), ['Chatbot-Large:2']);
      assert.deepEqual(ids((await versions("name = 'Chatbot-Large' AND tags.stage = 'dev' AND version_number <= 1")).items), ['Chatbot-Large:1']);
      const hit = (await versions("name = 'Chatbot-Large' AND version_number = 2")).items[0];
      assert.ok(hit);
      assert.equal(hit.run_id, 'run-b');
    });

    it('sees tag edits, removals and deletions at once', async () => {
      await reg.versions.update(admin, 'vision_x', 1, { tags: { stage: 'dev' } });
      assert.ok(ids((await versions("tags.stage = 'dev'")).items).includes('vision_x:1'));
      await reg.versions.update(admin, 'vision_x', 1, { untag: ['stage'] });
      assert.ok(!ids((await versions("tags.stage = 'dev'")).items).includes('vision_x:1'));
      await reg.models.update(admin, 'chatbot-small', { tags: { team: 'nlp' } });
      assert.deepEqual(
        (await models("tags.team = 'nlp'")).items.map((m) => m.name),
        ['Chatbot-Large', 'chatbot-small'],
      );
      await reg.models.update(admin, 'chatbot-small', { tags: { team: 'NLP' } });
      await push('chatbot-small', 's2', { stage: 'gone' });
      await reg.versions.delete(admin, 'chatbot-small', 2);
      assert.deepEqual(ids((await versions("tags.stage = 'gone'")).items), []);
    });

    it('pages by keyset: every row once, in order, across pages of any size', async () => {
      for (let i = 0; i < 23; i++) await push('paged', `p${i}`, { parity: i % 2 ? 'odd' : 'even' });
      const all = ids((await versions("name = 'paged'")).items);
      assert.equal(all.length, 23);
      assert.deepEqual(
        all,
        [...all].sort((a, b) => Number(b.split(':')[1]) - Number(a.split(':')[1])),
        'default order: newest edit first',
      );
      for (const max of [1, 5, 22, 23]) {
        const seen: string[] = [];
        let token: string | undefined;
        do {
          const page = await versions("name = 'paged'", { max, pageToken: token });
          assert.ok(page.items.length <= max);
          seen.push(...ids(page.items));
          token = page.next_page_token ?? undefined;
        } while (token);
        assert.deepEqual(seen, all, `max_results ${max}`);
      }
      const odd: string[] = [];
      let token: string | undefined;
      do {
        const page = await versions("tags.parity = 'odd' AND name LIKE 'pag%'", { max: 4, orderBy: ['version_number ASC'], pageToken: token });
        odd.push(...ids(page.items));
        token = page.next_page_token ?? undefined;
      } while (token);
      assert.deepEqual(
        odd,
        Array.from({ length: 11 }, (_, i) => `paged:${2 * i + 2}`),
      );
      // A version edited between pages moves to the front; the pages still end.
      const first = await versions('', { max: 3 });
      await reg.versions.update(admin, 'paged', 1, { description: 'touched' });
      const rest: string[] = [];
      token = first.next_page_token ?? undefined;
      while (token) {
        const page = await versions('', { max: 3, pageToken: token });
        rest.push(...ids(page.items));
        token = page.next_page_token ?? undefined;
      }
      assert.equal(new Set(rest).size, rest.length);
    });

    it('pages models by name and by last update', async () => {
      const byName: string[] = [];
      let token: string | undefined;
      do {
        const page = await models('', { max: 2, pageToken: token });
        byName.push(...page.items.map((m) => m.name));
        token = page.next_page_token ?? undefined;
      } while (token);
      assert.deepEqual(byName, [...byName].sort());
      assert.equal(byName.length, 5);
      const newest = await models('', { max: 1, orderBy: ['last_updated_timestamp DESC'] });
      const again = await models('', { max: 10, orderBy: ['last_updated_timestamp DESC'], pageToken: newest.next_page_token ?? undefined });
      assert.equal(again.items.length, 4);
      assert.ok(!again.items.some((m) => m.name === newest.items[0]!.name));
    });

    it('refuses a page token that is garbage or belongs to another order', async () => {
      const page = await versions('', { max: 1 });
      assert.ok(page.next_page_token);
      await expectInvalid(versions('', { max: 1, orderBy: ['version_number ASC'], pageToken: page.next_page_token }), /page_token/);
      await expectInvalid(versions('', { max: 1, pageToken: 'not-a-token' }), /page_token/);
      await expectInvalid(models('', { max: 1, pageToken: page.next_page_token }), /page_token/);
    });

    it('keeps working when a tag value or pattern holds quotes and SQL', async () => {
      await reg.models.create(admin, { name: 'quoted', tags: { q: "it's'; drop table models; --" } });
      assert.deepEqual(
        (await models(`tags.q = "it's'; drop table models; --"`)).items.map((m) => m.name),
        ['quoted'],
      );
      assert.deepEqual(
        (await models("tags.q LIKE '%drop table%'")).items.map((m) => m.name),
        ['quoted'],
      );
      assert.ok((await models('')).items.length >= 6);
      void store;
    });
  });
}

describe('search pages served from memory', () => {
  it('are fresh after a change by this server or by another process on the same database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cache-'));
    const file = join(dir, 'berth.db');
    const a = await openStore(`sqlite:${file}`);
    const b = await openStore(`sqlite:${file}`);
    const blobs = await FsBlobStore.open(join(dir, 'blobs'));
    try {
      const regA = new Registry({ store: a, blobs, clock: new StepClock(), config: DEFAULT_REGISTRY_CONFIG });
      const regB = new Registry({ store: b, blobs, clock: new StepClock(), config: DEFAULT_REGISTRY_CONFIG });
      const search = async () => (await regA.search.models(parseMlflowFilter("tags.team = 'x'", 'models'), { max: 10, orderBy: [] })).items.map((m) => m.name);
      await regA.models.create(admin, { name: 'one', tags: { team: 'x' } });
      assert.deepEqual(await search(), ['one']);
      assert.deepEqual(await search(), ['one'], 'a repeat is answered the same');
      await regB.models.create(admin, { name: 'two', tags: { team: 'x' } });
      assert.deepEqual(await search(), ['one', 'two'], 'a commit through another connection is seen');
      await regA.models.update(admin, 'one', { tags: { team: 'y' } });
      assert.deepEqual(await search(), ['two'], 'a commit through this server is seen');
    } finally {
      await blobs.close();
      await a.close();
      await b.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migration 0003 fills the tag rows of an existing registry', () => {
  it('finds tags written before the upgrade', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-mig-'));
    try {
      const file = join(dir, 'berth.db');
      const { db } = createSqliteDb(file);
      const migrations: Record<string, Migration> = {};
      for (const m of MIGRATIONS.slice(0, 2)) migrations[m.name] = { up: (d) => m.up(d, sqliteDialect) };
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => migrations },
        migrationTableName: 'berth_migrations',
        migrationLockTableName: 'berth_migrations_lock',
      });
      const { error } = await migrator.migrateToLatest();
      assert.equal(error, undefined);
      for (let i = 0; i < 1500; i++) {
        await sql`insert into models (name, kind, description, tags, protected_aliases, last_version, created_at, updated_at)
          values (${`old-${i}`}, 'model', '', ${JSON.stringify({ team: i % 3 === 0 ? 'core' : 'edge', idx: String(i) })}, '[]', 0, 1, 1)`.execute(db);
      }
      await db.destroy();
      const store = await openStore(`sqlite:${file}`);
      try {
        const blobs = await FsBlobStore.open(join(dir, 'blobs'));
        const reg = new Registry({ store, blobs, clock: new StepClock(), config: DEFAULT_REGISTRY_CONFIG });
        const page = await reg.search.models(parseMlflowFilter("tags.team = 'core'", 'models'), { max: 1000, orderBy: [] });
        assert.equal(page.items.length, 500);
        const one = await reg.search.models(parseMlflowFilter("tags.idx = '1499'", 'models'), { max: 10, orderBy: [] });
        assert.deepEqual(
          one.items.map((m) => m.name),
          ['old-1499'],
        );
        await blobs.close();
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
