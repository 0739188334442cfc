import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, type ManifestFile, type Version } from '@berth/core';
import { BerthClient } from './index.js';
import { listFiles, nodeBody, nodeFetch, pullVersion, pushDirectory } from './node.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bytes?: number;
}

/**
 * The outside world for these tests: a tiny stand-in for a Berth server on 127.0.0.1 that
 * keeps blobs in memory and can misbehave (ignore Range, serve corrupt bytes, drop the
 * connection halfway).
 */
class FakeBerth {
  blobs = new Map<string, Buffer>();
  seen: Seen[] = [];
  commits: Record<string, unknown>[] = [];
  version: Version | undefined;
  ignoreRange = false;
  corrupt = new Set<string>();
  dropAfter: number | undefined;
  server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  reset(): void {
    this.blobs.clear();
    this.seen = [];
    this.commits = [];
    this.version = undefined;
    this.ignoreRange = false;
    this.corrupt.clear();
    this.dropAfter = undefined;
  }

  setVersion(files: { path: string; data: Buffer }[]): Version {
    for (const f of files) this.blobs.set(sha(f.data), f.data);
    const manifest: ManifestFile[] = files.map((f) => ({ path: f.path, size: f.data.length, sha256: sha(f.data) }));
    this.version = version(manifest);
    return this.version;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    this.seen.push(entry);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    entry.bytes = body.length;
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const blob = /^\/api\/v1\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/api/v1/uploads') {
      const { files } = JSON.parse(body.toString()) as { files: ManifestFile[] };
      const missing = [...new Set(files.map((f) => f.sha256))].filter((s) => !this.blobs.has(s));
      return json(201, { upload_id: 'up-1', missing, expires_at: '2026-03-09T00:00:00.000Z' });
    }
    if (req.method === 'PUT' && blob) {
      if (sha(body) !== blob[1]) return json(400, { error: { code: 'INVALID_ARGUMENT', message: 'sha256 mismatch', details: { field: 'sha256', expected: blob[1], actual: sha(body) } } });
      this.blobs.set(blob[1], body);
      return json(201, { sha256: blob[1], size: body.length, created: true });
    }
    if (req.method === 'POST' && /^\/api\/v1\/models\/[^/]+\/versions$/.test(url.pathname)) {
      const commit = JSON.parse(body.toString()) as { files: ManifestFile[]; blobs?: { sha256: string; base64: string }[] };
      this.commits.push(commit);
      let stored: number | undefined;
      for (const b of commit.blobs ?? []) {
        const data = Buffer.from(b.base64, 'base64');
        if (sha(data) !== b.sha256) return json(400, { error: { code: 'INVALID_ARGUMENT', message: 'sha256 mismatch', details: { field: 'sha256' } } });
        if (!this.blobs.has(b.sha256)) stored = (stored ?? 0) + data.length;
        else stored ??= 0;
        this.blobs.set(b.sha256, data);
      }
      if (stored !== undefined) res.setHeader('berth-stored-bytes', String(stored));
      const missing = commit.files.filter((f) => !this.blobs.has(f.sha256)).map((f) => f.sha256);
      if (missing.length) return json(412, { error: { code: 'FAILED_PRECONDITION', message: 'blobs missing', details: { missing } } });
      return json(201, version(commit.files));
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/resolve') {
      return this.version ? json(200, this.version) : json(404, { error: { code: 'NOT_FOUND', message: `no version matches ${url.searchParams.get('ref')}`, details: {} } });
    }
    if (req.method === 'GET' && blob) {
      let data = this.blobs.get(blob[1]);
      if (!data) return json(404, { error: { code: 'NOT_FOUND', message: 'blob not found', details: {} } });
      if (this.corrupt.has(blob[1])) data = Buffer.from(data.map((b) => b ^ 0xff));
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      let start = 0;
      if (m && !this.ignoreRange) {
        start = Number(m[1]);
        res.writeHead(206, { 'content-length': data.length - start, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` });
      } else res.writeHead(200, { 'content-length': data.length });
      const part = data.subarray(start);
      if (this.dropAfter !== undefined) {
        res.write(part.subarray(0, this.dropAfter));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      return void res.end(part);
    }
    if (url.pathname === '/moved') {
      res.writeHead(307, { location: '/api/v1/blobs/' + [...this.blobs.keys()][0] });
      return void res.end();
    }
    if (url.pathname === '/proxy-error') {
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end('<html><body>Bad Gateway</body></html>');
    }
    json(404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}`, details: {} } });
  }
}

function version(files: ManifestFile[]): Version {
  const now = '2026-03-08T14:32:00.000Z';
  return {
    model: 'chatbot',
    version: 1,
    digest: `sha256:${'0'.repeat(64)}`,
    status: 'READY',
    stage: 'None',
    size: files.reduce((n, f) => n + f.size, 0),
    file_count: files.length,
    files,
    metadata: {},
    tags: {},
    description: '',
    source: null,
    run_id: null,
    dependencies: [],
    aliases: [],
    created_by: 'local:test',
    created_at: now,
    updated_at: now,
  };
}

const fake = new FakeBerth();
let dir: string;
let client: BerthClient;

before(async () => {
  await fake.start();
  client = new BerthClient({ url: fake.url, actor: 'ana', fetch: nodeFetch });
});
after(() => fake.stop());
beforeEach(async () => {
  fake.reset();
  dir = await mkdtemp(join(tmpdir(), 'berth-sdk-test-'));
});

const blobRequests = () => fake.seen.filter((s) => s.url.startsWith('/api/v1/blobs/'));

describe('pushDirectory', () => {
  it('uploads only the blobs the server lacks, as streams with a length, then commits with the upload id', async () => {
    const weights = randomBytes(3 * 1024 * 1024 + 17);
    const config = Buffer.from('{"r":16}');
    await mkdir(join(dir, 'src/sub'), { recursive: true });
    await writeFile(join(dir, 'src/model.bin'), weights);
    await writeFile(join(dir, 'src/sub/config.json'), config);
    await writeFile(join(dir, 'src/copy.bin'), weights); // same content twice: uploaded once
    fake.blobs.set(sha(config), config);
    const progress: string[] = [];

    const r = await pushDirectory(client, join(dir, 'src'), {
      model: 'chatbot',
      metadata: { val_loss: 0.342 },
      tags: { task: 'support' },
      runId: 'run-1',
      onProgress: (p) => progress.push(`${p.phase}:${p.done}/${p.total}`),
    });

    const puts = fake.seen.filter((s) => s.method === 'PUT');
    assert.deepEqual(puts.map((p) => p.url), [`/api/v1/blobs/${sha(weights)}`]);
    assert.equal(puts[0].headers['content-length'], String(weights.length));
    assert.equal(puts[0].headers['x-berth-actor'], 'ana');
    assert.equal(r.uploaded_bytes, weights.length);
    assert.equal(r.skipped_bytes, weights.length + config.length);
    assert.deepEqual(r.files.map((f) => f.path), ['copy.bin', 'model.bin', 'sub/config.json']);
    assert.deepEqual(fake.commits[0], {
      files: r.files,
      upload_id: 'up-1',
      metadata: { val_loss: 0.342 },
      tags: { task: 'support' },
      run_id: 'run-1',
    });
    assert.ok(progress.includes(`hash:${2 * weights.length + config.length}/${2 * weights.length + config.length}`));
    assert.equal(progress.at(-1), `upload:${weights.length}/${weights.length}`);
  });

  it('fails the push, naming the file, when a file changes between hashing and upload', async () => {
    await mkdir(join(dir, 'src'));
    const file = join(dir, 'src/model.bin');
    for (const change of ['rewrite', 'grow'] as const) {
      await writeFile(file, 'original bytes');
      fake.reset();
      await assert.rejects(
        pushDirectory(client, join(dir, 'src'), {
          model: 'm',
          onProgress: (p) => {
            if (p.phase === 'upload' && p.done === 0) writeFileSync(file, change === 'rewrite' ? 'ORIGINAL BYTES' : 'original bytes and more');
          },
        }),
        (e: unknown) => e instanceof BerthError && e.code === 'FAILED_PRECONDITION' && e.message.startsWith(`${file} changed while it was being pushed`) && e.message.endsWith('push again'),
        change,
      );
      assert.equal(fake.commits.length, 0, 'no version is committed');
    }
  });

  it('sends a small folder in one request, files inline, and reports the bytes the server did not have', async () => {
    await mkdir(join(dir, 'small'));
    await writeFile(join(dir, 'small/a.txt'), 'alpha');
    await writeFile(join(dir, 'small/b.txt'), 'bravo!');
    await writeFile(join(dir, 'small/c.txt'), 'alpha');
    fake.blobs.set(sha('bravo!'), Buffer.from('bravo!'));
    const r = await pushDirectory(client, join(dir, 'small'), { model: 'm' });
    assert.deepEqual(fake.seen.map((x) => `${x.method} ${x.url}`), ['POST /api/v1/models/m/versions']);
    assert.deepEqual(fake.commits[0].blobs, [
      { sha256: sha('alpha'), base64: Buffer.from('alpha').toString('base64') },
      { sha256: sha('bravo!'), base64: Buffer.from('bravo!').toString('base64') },
    ]);
    assert.equal(r.uploaded_bytes, 5, 'alpha was new; bravo! was stored already');
    assert.equal(r.skipped_bytes, 11);

    fake.reset();
    await pushDirectory(client, join(dir, 'small'), { model: 'm', inline: false });
    const calls = fake.seen.map((x) => `${x.method} ${x.url}`);
    assert.equal(calls[0], 'POST /api/v1/uploads', 'inline: false asks first');
    assert.deepEqual(calls.slice(1, -1).sort(), [`PUT /api/v1/blobs/${sha('alpha')}`, `PUT /api/v1/blobs/${sha('bravo!')}`].sort());
    assert.equal(calls[calls.length - 1], 'POST /api/v1/models/m/versions');
  });

  it('pushes a single file under its own name', async () => {
    await writeFile(join(dir, 'prompt.txt'), 'You are helpful.');
    const r = await pushDirectory(client, join(dir, 'prompt.txt'), { model: 'prompt' });
    assert.deepEqual(r.files, [{ path: 'prompt.txt', size: 16, sha256: sha('You are helpful.') }]);
  });

  it('follows links inside the folder and refuses links that leave it, dangle or loop', async () => {
    await mkdir(join(dir, 'src/real'), { recursive: true });
    await writeFile(join(dir, 'src/real/a.txt'), 'a');
    await symlink(join(dir, 'src/real'), join(dir, 'src/alias'));
    assert.deepEqual((await listFiles(join(dir, 'src'))).map((f) => f.path).sort(), ['alias/a.txt', 'real/a.txt']);

    await writeFile(join(dir, 'secret'), 's');
    await symlink(join(dir, 'secret'), join(dir, 'src/leak'));
    await assert.rejects(pushDirectory(client, join(dir, 'src'), { model: 'm' }), (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /leak links outside/.test(e.message));
    assert.equal(fake.seen.length, 0, 'nothing is sent when the folder is refused');
    await rm(join(dir, 'src/leak'));

    await symlink(join(dir, 'src'), join(dir, 'src/real/loop'));
    await assert.rejects(listFiles(join(dir, 'src')), /symbolic link loop/);
    await rm(join(dir, 'src/real/loop'));

    await symlink(join(dir, 'src/nowhere'), join(dir, 'src/dangling'));
    await assert.rejects(listFiles(join(dir, 'src')), /broken symbolic link/);
  });

  it('says so when the folder does not exist or is empty', async () => {
    await assert.rejects(pushDirectory(client, join(dir, 'ghost'), { model: 'm' }), (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /ghost does not exist/.test(e.message));
    await mkdir(join(dir, 'empty'));
    await assert.rejects(pushDirectory(client, join(dir, 'empty'), { model: 'm' }), /holds no files/);
  });
});

describe('pullVersion', () => {
  const data = randomBytes(2 * 1024 * 1024 + 5);

  it('resumes a partial file with a Range request, hashing the part it has', async () => {
    const v = fake.setVersion([{ path: 'weights/model.bin', data }, { path: 'config.json', data: Buffer.from('{}') }]);
    const out = join(dir, 'out');
    await mkdir(join(out, 'weights'), { recursive: true });
    await writeFile(join(out, 'weights/model.bin.berth-partial'), data.subarray(0, 1_000_000));

    const r = await pullVersion(client, 'chatbot:1', out);

    const get = blobRequests().find((s) => s.url.endsWith(sha(data)));
    assert.equal(get?.headers.range, 'bytes=1000000-');
    assert.equal(r.reused_bytes, 1_000_000);
    assert.equal(r.downloaded_bytes, data.length - 1_000_000 + 2);
    assert.equal(r.version.version, v.version);
    assert.equal(sha(await readFile(join(out, 'weights/model.bin'))), sha(data));
    assert.deepEqual((await readdir(join(out, 'weights'))).sort(), ['model.bin']);
  });

  it('starts the file over when the server answers a Range with the whole blob', async () => {
    fake.setVersion([{ path: 'model.bin', data }]);
    fake.ignoreRange = true;
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'model.bin.berth-partial'), data.subarray(0, 4096));
    const r = await pullVersion(client, 'chatbot:1', out);
    assert.equal(r.reused_bytes, 0);
    assert.equal(r.downloaded_bytes, data.length);
    assert.equal(sha(await readFile(join(out, 'model.bin'))), sha(data));
  });

  it('fails on a hash mismatch, removes the partial file and leaves no file in place', async () => {
    fake.setVersion([{ path: 'model.bin', data }]);
    fake.corrupt.add(sha(data));
    const out = join(dir, 'out');
    await assert.rejects(pullVersion(client, 'chatbot:1', out), (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, 'FAILED_PRECONDITION');
      assert.match(e.message, /model\.bin failed verification.*partial file was removed/);
      assert.equal(e.details.expected, sha(data));
      return true;
    });
    assert.deepEqual(await readdir(out), []);
  });

  it('keeps an interrupted download as a partial file that the next pull resumes', async () => {
    fake.setVersion([{ path: 'model.bin', data }]);
    fake.dropAfter = 300_000;
    const out = join(dir, 'out');
    await assert.rejects(pullVersion(client, 'chatbot:1', out), (e: unknown) => e instanceof BerthError && /interrupted .*run the same pull again to resume/.test(e.message));
    const kept = (await stat(join(out, 'model.bin.berth-partial'))).size;
    assert.ok(kept > 0 && kept <= 300_000);
    fake.dropAfter = undefined;
    const r = await pullVersion(client, 'chatbot:1', out);
    assert.equal(r.reused_bytes, kept);
    assert.equal(sha(await readFile(join(out, 'model.bin'))), sha(data));
  });

  it('keeps files already present with the right hash without downloading them', async () => {
    const v = fake.setVersion([{ path: 'a.bin', data }, { path: 'empty', data: Buffer.alloc(0) }]);
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'a.bin'), data);
    const r = await pullVersion(client, v, out);
    assert.equal(r.downloaded_bytes, 0);
    assert.equal(r.reused_bytes, data.length);
    assert.equal(blobRequests().length, 0);
    assert.equal((await stat(join(out, 'empty'))).size, 0);
  });

  it('refuses manifest paths that would land outside the output folder, before writing anything', async () => {
    const v = version([
      { path: 'fine.txt', size: 1, sha256: sha('x') },
      { path: '../escape.txt', size: 1, sha256: sha('x') },
    ]);
    const out = join(dir, 'out');
    await assert.rejects(pullVersion(client, v, out), (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /'\.\.'/.test(e.message));
    await assert.rejects(stat(out), 'not even the output folder is created');
    await assert.rejects(stat(join(dir, 'escape.txt')));
  });

  it('refuses to write through a link inside the output folder that points outside it', async () => {
    fake.setVersion([{ path: 'sub/model.bin', data: Buffer.from('x') }]);
    const out = join(dir, 'out');
    await mkdir(join(dir, 'elsewhere'));
    await mkdir(out);
    await symlink(join(dir, 'elsewhere'), join(out, 'sub'));
    await assert.rejects(pullVersion(client, 'chatbot:1', out), /links outside the output folder/);
    assert.deepEqual(await readdir(join(dir, 'elsewhere')), []);
  });
});

describe('nodeFetch', () => {
  it('streams large answers, as a web stream or as the node stream itself', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    fake.blobs.set(sha(data), data);
    const web = await client.getBlob(sha(data));
    assert.equal(sha(Buffer.from(await web.arrayBuffer())), sha(data));
    const raw = await client.getBlob(sha(data), { start: 1024 });
    assert.equal(raw.status, 206);
    const chunks: Buffer[] = [];
    for await (const c of nodeBody(raw)) chunks.push(c as Buffer);
    assert.equal(sha(Buffer.concat(chunks)), sha(data.subarray(1024)));
  });

  it('sends a streamed body with its length', async () => {
    const data = Buffer.from('streamed bytes');
    async function* gen() {
      yield data.subarray(0, 5);
      yield data.subarray(5);
    }
    const r = await client.putBlob(sha(data), gen(), data.length);
    assert.deepEqual(r, { sha256: sha(data), size: data.length, created: true });
    assert.equal(fake.seen.at(-1)?.headers['content-length'], String(data.length));
    assert.equal(fake.seen.at(-1)?.bytes, data.length);
  });

  it('follows a redirect for GET', async () => {
    const data = Buffer.from('after a redirect');
    fake.blobs.set(sha(data), data);
    const res = await nodeFetch(`${fake.url}/moved`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'after a redirect');
  });
});

describe('BerthClient over HTTP', () => {
  it('turns the error shape into a BerthError and anything else into one that names the server', async () => {
    await assert.rejects(client.resolve('ghost'), (e: unknown) => e instanceof BerthError && e.code === 'NOT_FOUND' && e.message === 'no version matches ghost');
    await assert.rejects(client.raw('GET', '/proxy-error'), (e: unknown) => e instanceof BerthError && e.code === 'INTERNAL' && e.message.includes(`the server at ${fake.url} answered 502`) && /pointing at a Berth server/.test(e.message));
  });

  it('says how to fix a server it cannot reach', async () => {
    const gone = new BerthClient({ url: 'http://127.0.0.1:9', fetch: nodeFetch });
    await assert.rejects(gone.listModels(), (e: unknown) => e instanceof BerthError && e.code === 'INTERNAL' && /cannot reach Berth at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): start it with `berth server`, or point --url \/ BERTH_URL at it/.test(e.message));
  });
});
