import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock } from '@berth/server';
import { main } from '../src/main.js';
import type { Io } from '../src/io.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A real server on loopback (SQLite, blobs on disk) and the CLI run in-process against it, in one working folder. */
export interface CliApp {
  url: string;
  /** The working folder; the server's database and blobs live inside it too. */
  dir: string;
  /** Runs `berth argv…` in `dir`. */
  berth(...argv: string[]): Promise<CliResult>;
  /** Runs `berth argv…` and fails the test unless it exits 0. */
  ok(...argv: string[]): Promise<CliResult>;
  /** Writes each file (path relative to `dir`), making its folders. */
  writeFiles(files: Readonly<Record<string, string | Uint8Array>>): Promise<void>;
  stop(): Promise<void>;
}

export async function startCliApp(prefix: string): Promise<CliApp> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
  const blobs = await FsBlobStore.open(join(dir, 'blobs'));
  const app = await buildApp({ registry: new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const berth = async (...argv: string[]): Promise<CliResult> => {
    const out: string[] = [];
    const errs: string[] = [];
    const io: Io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => errs.push(s) },
      env: { USER: 'ana', BERTH_URL: url },
      cwd: dir,
    };
    const code = await main(argv, io);
    return { code, stdout: out.join(''), stderr: errs.join('') };
  };
  return {
    url,
    dir,
    berth,
    async ok(...argv) {
      const r = await berth(...argv);
      assert.equal(r.code, 0, r.stderr);
      return r;
    },
    async writeFiles(files) {
      for (const [p, c] of Object.entries(files)) {
        await mkdir(join(dir, p, '..'), { recursive: true });
        await writeFile(join(dir, p), c);
      }
    },
    async stop() {
      await app.close();
      await blobs.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
