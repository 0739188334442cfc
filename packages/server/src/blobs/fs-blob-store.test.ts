import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blobStoreContract, berthError, chunked, deferred, MiB, readAll, sha256Of } from '../../test-support/blob-store-contract.js';
import { FsBlobStore } from './fs-blob-store.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-blobs-'));
}

async function tempFiles(root: string): Promise<string[]> {
  return readdir(join(root, 'tmp'));
}

blobStoreContract('FsBlobStore', async () => {
  const root = await tempRoot();
  const store = await FsBlobStore.open(root);
  return {
    store,
    leftovers: async () => (await tempFiles(root)).length,
    cleanup: async () => {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('FsBlobStore', () => {
  let root: string;
  let store: FsBlobStore;
  const HOUR = 3600 * 1000;

  beforeEach(async () => {
    root = await tempRoot();
    store = await FsBlobStore.open(root);
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  async function age(path: string, ms: number) {
    const then = new Date(Date.now() - ms);
    await utimes(path, then, then);
  }

  it('keeps a blob at sha256/<first two hex>/<hex> and nothing in tmp/ when a put succeeds', async () => {
    for (const data of [Buffer.from('small'), randomBytes(2 * MiB)]) {
      const sha = sha256Of(data);
      await store.put(sha, chunked(data), { expectedSize: data.length });
      const onDisk = await readFile(join(root, 'sha256', sha.slice(0, 2), sha));
      assert.ok(onDisk.equals(data));
      assert.equal((await stat(join(root, 'sha256', sha.slice(0, 2), sha))).nlink, 1, 'no second name is left behind');
    }
    assert.deepEqual(await tempFiles(root), []);
  });

  it('sees the blobs of an existing root when opened again', async () => {
    const data = randomBytes(1000);
    const sha = sha256Of(data);
    await store.put(sha, chunked(data));
    const again = await FsBlobStore.open(root);
    try {
      assert.equal((await again.stat(sha))?.size, 1000);
      assert.equal((await again.put(sha, chunked(data))).created, false);
    } finally {
      await again.close();
    }
  });

  it('reports created for exactly one of several concurrent puts of one blob', async () => {
    for (const [size, declared] of [
      [4000, true],
      [3 * MiB, false],
    ] as const) {
      const data = randomBytes(size);
      const sha = sha256Of(data);
      const results = await Promise.all(Array.from({ length: 8 }, () => store.put(sha, chunked(data, 16 * 1024), declared ? { expectedSize: size } : {})));
      assert.equal(results.filter((r) => r.created).length, 1, `size ${size}`);
    }
    assert.deepEqual(await tempFiles(root), []);
  });

  it('reports created for exactly one put when two stores share a root', async () => {
    const other = await FsBlobStore.open(root);
    try {
      const data = randomBytes(3 * MiB);
      const sha = sha256Of(data);
      const results = await Promise.all([
        store.put(sha, chunked(data)),
        other.put(sha, chunked(data)),
        store.put(sha, chunked(data)),
        other.put(sha, chunked(data)),
      ]);
      assert.equal(results.filter((r) => r.created).length, 1);
    } finally {
      await other.close();
    }
  });

  it('refreshes the mtime of an old blob when it is touched or put again', async () => {
    for (const data of [Buffer.from('tiny'), randomBytes(MiB)]) {
      const sha = sha256Of(data);
      const path = join(root, 'sha256', sha.slice(0, 2), sha);
      await store.put(sha, chunked(data), { expectedSize: data.length });

      await age(path, 48 * HOUR);
      assert.ok((await store.stat(sha))!.mtimeMs < Date.now() - 47 * HOUR);
      await store.touch(sha);
      assert.ok((await store.stat(sha))!.mtimeMs > Date.now() - 60_000, 'touch makes it fresh');

      await age(path, 48 * HOUR);
      assert.equal((await store.put(sha, chunked(data), { expectedSize: data.length })).created, false);
      assert.ok((await store.stat(sha))!.mtimeMs > Date.now() - 60_000, 'a put of an existing blob makes it fresh');
      await age(path, 48 * HOUR);
      assert.equal((await store.put(sha, chunked(data))).created, false);
      assert.ok((await store.stat(sha))!.mtimeMs > Date.now() - 60_000, 'also through the streaming path');
    }
  });

  it('removes only .part files older than the cutoff when cleaning temp files', async () => {
    const tmp = join(root, 'tmp');
    await writeFile(join(tmp, 'old.part'), 'x');
    await age(join(tmp, 'old.part'), 2 * HOUR);
    await writeFile(join(tmp, 'recent.part'), 'x');
    await age(join(tmp, 'recent.part'), HOUR / 2);
    await writeFile(join(tmp, 'notes.txt'), 'not ours');
    await age(join(tmp, 'notes.txt'), 2 * HOUR);
    await mkdir(join(tmp, 'dir.part'));
    await age(join(tmp, 'dir.part'), 2 * HOUR);

    assert.equal((await store.cleanTemp(HOUR)).files, 1);
    assert.deepEqual((await tempFiles(root)).sort(), ['dir.part', 'notes.txt', 'recent.part']);
    assert.equal((await store.cleanTemp(HOUR)).files, 0);
    assert.equal((await store.cleanTemp(0)).files, 1);
    assert.deepEqual((await tempFiles(root)).sort(), ['dir.part', 'notes.txt']);
  });

  it('spares the temp file of a running upload even when it looks old', async () => {
    const first = randomBytes(5 * MiB);
    const rest = randomBytes(1000);
    const sha = sha256Of(Buffer.concat([first, rest]));
    const gate = deferred();
    const reached = deferred();
    const pending = store.put(
      sha,
      (async function* () {
        yield first;
        reached.resolve();
        await gate.promise;
        yield rest;
      })(),
    );
    await reached.promise;
    let parts: string[] = [];
    for (let i = 0; i < 100 && parts.length === 0; i++) {
      parts = await tempFiles(root);
      if (parts.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(parts.length, 1);
    assert.match(parts[0]!, /^[0-9a-f]+\.part$/);
    await age(join(root, 'tmp', parts[0]!), 2 * HOUR);
    assert.equal((await store.cleanTemp(HOUR)).files, 0);
    gate.resolve();
    assert.equal((await pending).created, true);
    assert.deepEqual(await tempFiles(root), []);
  });

  it('lists only real blobs, skipping stray files and blobs filed under the wrong shard', async () => {
    const data = Buffer.from('real');
    const sha = sha256Of(data);
    await store.put(sha, chunked(data));
    const other = sha256Of(Buffer.from('stray'));
    const wrongShard = other.startsWith('00') ? '01' : '00';
    await writeFile(join(root, 'sha256', wrongShard, other), 'stray');
    await writeFile(join(root, 'sha256', sha.slice(0, 2), 'not-a-hash'), 'x');
    await mkdir(join(root, 'sha256', 'zz'));
    await writeFile(join(root, 'sha256', 'README'), 'x');
    await mkdir(join(root, 'sha256', other.slice(0, 2), other), { recursive: true }).catch(() => {});
    await writeFile(join(root, 'tmp', 'leftover.part'), 'x');
    const listed = [];
    for await (const b of store.list()) listed.push(b.sha256);
    assert.deepEqual(listed, [sha]);
    assert.equal(await store.stat(other), undefined, 'a directory named like a blob is not a blob');
  });

  it('keeps streaming a download whose blob is deleted meanwhile', async () => {
    const data = randomBytes(3 * MiB);
    const sha = sha256Of(data);
    await store.put(sha, chunked(data));
    const opened = await store.open(sha, { start: 1 });
    assert.equal(await store.delete(sha), true);
    assert.ok((await readAll(opened.stream)).equals(data.subarray(1)));
  });

  it('puts a blob whose shard folder was removed by hand', async () => {
    for (const data of [Buffer.from('shard gone'), randomBytes(MiB)]) {
      const sha = sha256Of(data);
      await rm(join(root, 'sha256', sha.slice(0, 2)), { recursive: true });
      assert.equal((await store.put(sha, chunked(data), { expectedSize: data.length })).created, true);
      assert.ok((await readFile(join(root, 'sha256', sha.slice(0, 2), sha))).equals(data));
    }
  });

  it('puts a blob after tmp/ was removed by hand', async () => {
    await rm(join(root, 'tmp'), { recursive: true });
    const data = randomBytes(MiB);
    const sha = sha256Of(data);
    assert.equal((await store.put(sha, chunked(data))).created, true);
    assert.deepEqual(await tempFiles(root), []);
  });

  it('leaves only a temp file, never a blob, when the server process is killed mid-upload', async () => {
    const storeModule = new URL('./fs-blob-store.ts', import.meta.url).href;
    const repo = fileURLToPath(new URL('../../../../', import.meta.url));
    const sha = sha256Of(Buffer.from('never completes'));
    // The child streams 12 MiB into a put (so several batches reach the disk), says so, then
    // stalls; the parent kills it with SIGKILL, as a crash or the OOM killer would.
    const script = `
      const { FsBlobStore } = await import(${JSON.stringify(storeModule)});
      const store = await FsBlobStore.open(${JSON.stringify(root)});
      const body = (async function* () {
        for (let i = 0; i < 12; i++) yield Buffer.alloc(1024 * 1024, i);
        process.stdout.write('streamed\\n');
        await new Promise(() => setInterval(() => {}, 1000));
      })();
      await store.put(${JSON.stringify(sha)}, body);
    `;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`child never streamed: ${stderr}`)), 30_000);
      child.stdout.on('data', (d) => {
        if (String(d).includes('streamed')) {
          clearTimeout(timer);
          res();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        rej(new Error(`child exited early: ${stderr}`));
      });
    });
    // Wait until the bytes written so far are on disk, then kill.
    let parts: string[] = [];
    for (let i = 0; i < 200; i++) {
      parts = await tempFiles(root);
      if (parts.length === 1 && (await stat(join(root, 'tmp', parts[0]!))).size >= 8 * MiB) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    assert.equal(parts.length, 1, 'one upload in progress');
    assert.ok((await stat(join(root, 'tmp', parts[0]!))).size >= 8 * MiB, 'its bytes reached the temp file');
    const reopened = await FsBlobStore.open(root);
    try {
      assert.equal(await reopened.stat(sha), undefined);
      const listed = [];
      for await (const b of reopened.list()) listed.push(b);
      assert.deepEqual(listed, []);
      assert.equal((await reopened.cleanTemp(HOUR)).files, 0, 'a fresh leftover is kept for the grace period');
      assert.equal((await reopened.cleanTemp(0)).files, 1);
      assert.deepEqual(await tempFiles(root), []);
    } finally {
      await reopened.close();
    }
  });

  it('stores large blobs byte-exact through the page cache where O_DIRECT is not used', async () => {
    const root = await tempRoot();
    const shm = await FsBlobStore.open(root, { directIo: false });
    try {
      for (const size of [8 * MiB, 9 * MiB + 5]) {
        const data = randomBytes(size);
        const res = await shm.putUnknown(chunked(data));
        assert.deepEqual(res, { sha256: sha256Of(data), size, created: true });
        assert.ok((await readAll((await shm.open(res.sha256)).stream)).equals(data));
      }
      assert.deepEqual(await tempFiles(root), []);
    } finally {
      await shm.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses path tricks as keys without touching anything outside the root', async () => {
    const outside = join(root, '..', `${root.split('/').pop()}-outside`);
    await writeFile(outside, 'keep me');
    try {
      for (const key of [`../../${root.split('/').pop()}-outside`, '../tmp/x.part']) {
        await assert.rejects(store.delete(key), berthError('INVALID_ARGUMENT'));
        await assert.rejects(store.open(key), berthError('INVALID_ARGUMENT'));
      }
      assert.equal(await readFile(outside, 'utf8'), 'keep me');
    } finally {
      await rm(outside, { force: true });
    }
  });
});
