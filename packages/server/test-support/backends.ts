import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore, type Store } from '../src/store/store.js';
import { pgSkipReason } from './services.js';

/**
 * The metadata-store backends every contract suite runs against. PostgreSQL comes from
 * BERTH_TEST_PG_URL (scripts/test.mjs starts a throwaway server when it can); each suite gets
 * a database of its own, dropped afterwards. Without a URL the PostgreSQL suite skips, unless
 * BERTH_REQUIRE_ALL=1, where it fails.
 */
export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Why the backend cannot run here, or undefined when it can. */
  unavailable?: string;
  /**
   * A fresh store, a temp dir for the test's files, and the store's URL: another
   * `openStore(url)` on it acts like a second server process sharing the database.
   */
  open(): Promise<{ store: Store; dir: string; url: string; cleanup(): Promise<void> }>;
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-test-'));
}

export const sqliteBackend: Backend = {
  name: 'sqlite',
  async open() {
    const dir = await tempDir();
    const url = `sqlite:${join(dir, 'berth.db')}`;
    const store = await openStore(url);
    return {
      store,
      dir,
      url,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

export const postgresBackend: Backend = {
  name: 'postgres',
  get unavailable() {
    return pgSkipReason();
  },
  async open() {
    const base = process.env.BERTH_TEST_PG_URL as string;
    const pg = (await import('pg')).default;
    const dbName = `berth_t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${dbName}`;
    const store = await openStore(url.toString(), { poolSize: 10 });
    const dir = await tempDir();
    return {
      store,
      dir,
      url: url.toString(),
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
        const a = new pg.Client({ connectionString: base });
        await a.connect();
        // The pool has ended its clients, but their backends may still be closing: dropping the
        // database with force under them sends them an error nobody listens to any more.
        for (let i = 0; i < 100; i++) {
          const { rows } = await a.query('select count(*)::int as n from pg_stat_activity where datname = $1', [dbName]);
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await a.query(`drop database if exists ${dbName} with (force)`);
        await a.end();
      },
    };
  },
};

export const BACKENDS: Backend[] = [sqliteBackend, postgresBackend];
