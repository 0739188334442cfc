import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { chmod, link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, type Version } from '@berth/core';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock, type Store } from '@berth/server';
import { BerthClient } from './index.js';
import { listFiles, nodeBody, nodeFetch, PARTIAL_DIR, partialName, pullVersion, pushDirectory } from './node.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The real server: buildApp() over SQLite and a blob folder in a temp dir, on a loopback port. */
class RealBerth {
  dir = '';
  url = '';
  private app!: Awaited<ReturnType<typeof buildApp>>;
  private store!: Store;
  private blobs!: FsBlobStore;

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'berth-sdk-server-'));
    this.store = await openStore(`sqlite:${join(this.dir, 'berth.db')}`);
    this.blobs = await FsBlobStore.open(join(this.dir, 'blobs'));
    this.app = await buildApp({ registry: new Registry({ store: this.store, blobs: this.blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }) });
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.url = `http://127.0.0.1:${(this.app.server.address() as AddressInfo).port}`;
  }

  /** Overwrites a stored blob in place with other bytes of the same length, as a failing disk would. */
  async corrupt(sha256: string): Promise<void> {
    const path = join(this.dir, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
    const data = await readFile(path);
    await chmod(path, 0o644);
    await writeFile(
      path,
      data.map((b) => b ^ 0xff),
    );
  }

  async stop(): Promise<void> {
    await this.app.close();
    await this.blobs.close();
    await this.store.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  /** The request's JSON body, when it had one. */
  json?: Record<string, unknown>;
  /** The server's JSON answer, when it gave one. */
  answer?: Record<string, unknown>;
}

/**
 * The network between the SDK and the server, which is the outside world for these tests: a
 * tiny HTTP proxy on 127.0.0.1 that records what the client sends and can misbehave as
 * networks and intermediaries do (strip a Range header, drop a download halfway, redirect,
 * answer with an HTML error page).
 */
class Wire {
  seen: Seen[] = [];
  ignoreRange = false;
  dropAfter: number | undefined;
  server!: Server;
  url = '';

  constructor(private readonly upstream: () => string) {}

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
    this.seen = [];
    this.ignoreRange = false;
    this.dropAfter = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const entry: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes: body.length };
    if (String(req.headers['content-type']).startsWith('application/json')) entry.json = JSON.parse(body.toString());
    this.seen.push(entry);
    const target = /^\/moved\/(.*)$/.exec(entry.url);
    if (target) {
      res.writeHead(307, { location: `/${target[1]}` });
      return void res.end();
    }
    if (entry.url === '/proxy-error') {
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end('<html><body>Bad Gateway</body></html>');
    }
    const headers = { ...req.headers };
    if (this.ignoreRange) delete headers.range;
    const up = request(`${this.upstream()}${entry.url}`, { method: entry.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (String(answer.headers['content-type']).startsWith('application/json')) {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const text = Buffer.concat(parts);
          if (text.length) entry.answer = JSON.parse(text.toString());
          res.end(text);
        });
        return;
      }
      if (this.dropAfter === undefined || entry.method !== 'GET') return void answer.pipe(res);
      let left = this.dropAfter;
      answer.on('data', (c: Buffer) => {
        if (left <= 0) return;
        res.write(c.subarray(0, left));
        left -= c.length;
        if (left <= 0) {
          answer.destroy();
          setTimeout(() => res.socket?.destroy(), 20);
        }
      });
    });
    up.on('error', () => res.socket?.destroy());
    up.end(body);
  }
}

/**
 * A TCP relay to the server that counts the bytes clients send through it and, when asked,
 * drops the connection after that many, as a network that fails mid-upload does.
 */
class Cutter {
  sent = 0;
  cutAfter: number | undefined;
  url = '';
  private server!: NetServer;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly upstream: () => string) {}

  async start(): Promise<void> {
    this.server = createNetServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      const { hostname, port } = new URL(this.upstream());
      const server = connect(Number(port), hostname);
      let passed = 0;
      client.on('data', (chunk: Buffer) => {
        const limit = this.cutAfter;
        const n = limit === undefined ? chunk.length : Math.max(0, Math.min(chunk.length, limit - passed));
        passed += n;
        this.sent += n;
        if (n > 0) server.write(chunk.subarray(0, n));
        if (limit !== undefined && passed >= limit) {
          client.destroy();
          server.destroy();
        }
      });
      server.pipe(client);
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
      client.on('close', () => server.end());
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Closes idle keep-alive connections too, which would otherwise hold the close until they time out. */
  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const berth = new RealBerth();
const wire = new Wire(() => berth.url);
let dir: string;
/** The client under test, talking through the wire. */
let client: BerthClient;
/** A client straight to the server, to set up and inspect state. */
let direct: BerthClient;
let published = 0;

before(async () => {
  await berth.start();
  await wire.start();
  client = new BerthClient({ url: wire.url, actor: 'ana', fetch: nodeFetch });
  direct = new BerthClient({ url: berth.url, actor: 'setup', fetch: nodeFetch });
});
after(async () => {
  await wire.stop();
  await berth.stop();
});
beforeEach(async () => {
  wire.reset();
  dir = await mkdtemp(join(tmpdir(), 'berth-sdk-test-'));
});

const blobRequests = () => wire.seen.filter((s) => s.url.startsWith('/api/v1/blobs/'));
const calls = () => wire.seen.map((x) => `${x.method} ${x.url}`);

/** Registers `files` as version 1 of a model of its own, straight to the server. */
async function publish(files: { path: string; data: Buffer }[]): Promise<Version> {
  const src = join(dir, `published-${++published}`);
  for (const f of files) {
    await mkdir(join(src, f.path, '..'), { recursive: true });
    await writeFile(join(src, f.path), f.data);
  }
  return (await pushDirectory(direct, src, { model: `published-${published}`, inline: false })).version;
}

describe('pushDirectory', () => {
  it('uploads only the blobs the server lacks, as streams with a length, then commits with the upload id', async () => {
    const weights = randomBytes(3 * 1024 * 1024 + 17);
    const config = Buffer.from(`{"r":16,"seed":"${randomBytes(8).toString('hex')}"}`);
    await mkdir(join(dir, 'src/sub'), { recursive: true });
    await writeFile(join(dir, 'src/model.bin'), weights);
    await writeFile(join(dir, 'src/sub/config.json'), config);
    await writeFile(join(dir, 'src/copy.bin'), weights); // same content twice: uploaded once
    await direct.putBlob(sha(config), config, config.length);
    const progress: string[] = [];

    const r = await pushDirectory(client, join(dir, 'src'), {
      model: 'chatbot',
      metadata: { val_loss: 0.342 },
      tags: { task: 'support' },
      runId: 'run-1',
      onProgress: (p) => progress.push(`${p.phase}:${p.done}/${p.total}`),
    });

    const puts = wire.seen.filter((s) => s.method === 'PUT');
    const uploadId = wire.seen[0]?.answer?.upload_id;
    assert.deepEqual(
      puts.map((p) => p.url),
      [`/api/v1/blobs/${sha(weights)}?upload_id=${uploadId}`],
    );
    assert.equal(puts[0]!.headers['content-length'], String(weights.length));
    assert.equal(puts[0]!.bytes, weights.length);
    assert.equal(puts[0]!.headers['x-berth-actor'], 'ana');
    assert.equal(r.uploaded_bytes, weights.length);
    assert.equal(r.skipped_bytes, weights.length + config.length);
    assert.deepEqual(
      r.files.map((f) => f.path),
      ['copy.bin', 'model.bin', 'sub/config.json'],
    );
    const [open, , commit] = wire.seen;
    assert.ok(open && commit);
    assert.equal(`${open.method} ${open.url}`, 'POST /api/v1/uploads');
    assert.deepEqual(open.answer?.missing, [sha(weights)]);
    assert.equal(`${commit.method} ${commit.url}`, 'POST /api/v1/models/chatbot/versions');
    assert.deepEqual(commit.json, {
      files: r.files,
      upload_id: open.answer?.upload_id,
      metadata: { val_loss: 0.342 },
      tags: { task: 'support' },
      run_id: 'run-1',
    });
    const stored = await direct.getVersion('chatbot', r.version.version);
    assert.deepEqual(stored.files, r.files);
    assert.deepEqual([stored.metadata, stored.tags, stored.run_id], [{ val_loss: 0.342 }, { task: 'support' }, 'run-1']);
    assert.ok(progress.includes(`hash:${2 * weights.length + config.length}/${2 * weights.length + config.length}`));
    assert.equal(progress.at(-1), `upload:${weights.length}/${weights.length}`);
  });

  it('resumes a push cut off mid-blob from the bytes the server holds, sending only the rest', async () => {
    const weights = randomBytes(12 * 1024 * 1024 + 5);
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src/model.bin'), weights);
    const cutter = new Cutter(() => berth.url);
    await cutter.start();
    try {
      const through = new BerthClient({ url: cutter.url, actor: 'ana', fetch: nodeFetch });
      cutter.cutAfter = 7 * 1024 * 1024;
      await assert.rejects(pushDirectory(through, join(dir, 'src'), { model: 'resumed' }));
      assert.equal(await direct.headBlob(sha(weights)), undefined, 'the cut-off blob is not stored');
      cutter.cutAfter = undefined;
      cutter.sent = 0;
      const progress: number[] = [];
      const r = await pushDirectory(through, join(dir, 'src'), { model: 'resumed', onProgress: (p) => p.phase === 'upload' && progress.push(p.done) });
      assert.ok(r.resumed_bytes > 1024 * 1024, `resumed ${r.resumed_bytes} bytes`);
      assert.equal(r.uploaded_bytes + r.resumed_bytes, weights.length);
      assert.ok(cutter.sent < r.uploaded_bytes + 64 * 1024, `${cutter.sent} bytes went to the server for the ${r.uploaded_bytes} it lacked`);
      assert.equal(progress.at(-1), weights.length);
      assert.deepEqual(r.version.files, [{ path: 'model.bin', size: weights.length, sha256: sha(weights) }]);
      const back = Buffer.from(await (await direct.getBlob(sha(weights))).arrayBuffer());
      assert.ok(back.equals(weights));
    } finally {
      await cutter.stop();
    }
  });

  it('fails the push, naming the file, when a file changes between hashing and upload', async () => {
    await mkdir(join(dir, 'src'));
    const file = join(dir, 'src/model.bin');
    const original = randomBytes(300 * 1024); // over the inline limit: uploaded on its own
    for (const [change, inline] of [
      ['rewrite', true],
      ['grow', true],
      ['rewrite', false],
      ['grow', false],
    ] as const) {
      const bytes = inline ? Buffer.from('original bytes') : original;
      await writeFile(file, bytes);
      wire.reset();
      await assert.rejects(
        pushDirectory(client, join(dir, 'src'), {
          model: 'changing',
          onProgress: (p) => {
            if (p.phase === 'upload' && p.done === 0)
              writeFileSync(file, change === 'rewrite' ? bytes.map((b) => b ^ 1) : Buffer.concat([bytes, Buffer.from('and more')]));
          },
        }),
        (e: unknown) =>
          e instanceof BerthError &&
          e.code === 'FAILED_PRECONDITION' &&
          e.message.startsWith(`${file} changed while it was being pushed`) &&
          e.message.endsWith('push again'),
        `${change}, ${inline ? 'inline' : 'uploaded'}`,
      );
      assert.ok(!calls().includes('POST /api/v1/models/changing/versions'), 'no version is committed');
    }
    await assert.rejects(direct.getModel('changing'), (e: unknown) => e instanceof BerthError && e.code === 'NOT_FOUND');
  });

  it('sends a small folder in one request, files inline, and reports the bytes the server did not have', async () => {
    const [alpha, bravo] = [`alpha ${randomBytes(4).toString('hex')}`, `bravo ${randomBytes(4).toString('hex')}!`];
    await mkdir(join(dir, 'small'));
    await writeFile(join(dir, 'small/a.txt'), alpha);
    await writeFile(join(dir, 'small/b.txt'), bravo);
    await writeFile(join(dir, 'small/c.txt'), alpha);
    await direct.putBlob(sha(bravo), Buffer.from(bravo), bravo.length);
    const r = await pushDirectory(client, join(dir, 'small'), { model: 'small' });
    assert.deepEqual(calls(), ['POST /api/v1/models/small/versions']);
    assert.deepEqual(wire.seen[0]!.json?.blobs, [
      { sha256: sha(alpha), base64: Buffer.from(alpha).toString('base64') },
      { sha256: sha(bravo), base64: Buffer.from(bravo).toString('base64') },
    ]);
    assert.equal(r.uploaded_bytes, alpha.length, 'alpha was new; bravo was stored already');
    assert.equal(r.skipped_bytes, alpha.length + bravo.length);
    assert.equal((await direct.getVersion('small', r.version.version)).file_count, 3);

    await writeFile(join(dir, 'small/a.txt'), `charlie ${randomBytes(4).toString('hex')}`);
    await writeFile(join(dir, 'small/b.txt'), `delta ${randomBytes(4).toString('hex')}`);
    wire.reset();
    await pushDirectory(client, join(dir, 'small'), { model: 'small', inline: false });
    const asked = calls();
    assert.equal(asked[0], 'POST /api/v1/uploads', 'inline: false asks first');
    const missing = wire.seen[0]!.answer?.missing as string[];
    assert.equal(missing.length, 2, 'c.txt (alpha) is stored already');
    assert.deepEqual(asked.slice(1, -1).sort(), missing.map((s) => `PUT /api/v1/blobs/${s}`).sort());
    assert.equal(asked[asked.length - 1], 'POST /api/v1/models/small/versions');
  });

  it('leaves version-control folders and berth partial files out of the version', async () => {
    const src = join(dir, 'clone');
    await mkdir(join(src, '.git', 'hooks'), { recursive: true });
    await writeFile(join(src, '.git', 'config'), '[core]\n');
    await writeFile(join(src, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\n');
    await mkdir(join(src, '.berth-partial'), { recursive: true });
    await writeFile(join(src, '.berth-partial', 'w.bin'), 'half');
    await writeFile(join(src, '.gitattributes'), '*.bin filter=lfs\n');
    await writeFile(join(src, 'config.json'), '{}');
    const r = await pushDirectory(client, src, { model: 'cloned' });
    assert.deepEqual(
      r.files.map((f) => f.path),
      ['.gitattributes', 'config.json'],
    );
  });

  it('pushes a single file under its own name', async () => {
    await writeFile(join(dir, 'prompt.txt'), 'You are helpful.');
    const r = await pushDirectory(client, join(dir, 'prompt.txt'), { model: 'prompt' });
    assert.deepEqual(r.files, [{ path: 'prompt.txt', size: 16, sha256: sha('You are helpful.') }]);
    assert.deepEqual((await direct.resolve(`prompt:${r.version.version}`)).files, r.files);
  });

  it('follows links inside the folder and refuses links that leave it, dangle or loop', async () => {
    await mkdir(join(dir, 'src/real'), { recursive: true });
    await writeFile(join(dir, 'src/real/a.txt'), 'a');
    await symlink(join(dir, 'src/real'), join(dir, 'src/alias'));
    assert.deepEqual((await listFiles(join(dir, 'src'))).map((f) => f.path).sort(), ['alias/a.txt', 'real/a.txt']);

    await writeFile(join(dir, 'secret'), 's');
    await symlink(join(dir, 'secret'), join(dir, 'src/leak'));
    await assert.rejects(
      pushDirectory(client, join(dir, 'src'), { model: 'm' }),
      (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /leak links outside/.test(e.message),
    );
    assert.equal(wire.seen.length, 0, 'nothing is sent when the folder is refused');
    await rm(join(dir, 'src/leak'));

    await symlink(join(dir, 'src'), join(dir, 'src/real/loop'));
    await assert.rejects(listFiles(join(dir, 'src')), /symbolic link loop/);
    await rm(join(dir, 'src/real/loop'));

    await symlink(join(dir, 'src/nowhere'), join(dir, 'src/dangling'));
    await assert.rejects(listFiles(join(dir, 'src')), /broken symbolic link/);
  });

  it('says so when the folder does not exist or is empty', async () => {
    await assert.rejects(
      pushDirectory(client, join(dir, 'ghost'), { model: 'm' }),
      (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /ghost does not exist/.test(e.message),
    );
    await mkdir(join(dir, 'empty'));
    await assert.rejects(pushDirectory(client, join(dir, 'empty'), { model: 'm' }), /holds no files/);
  });
});

describe('pullVersion', () => {
  const data = randomBytes(2 * 1024 * 1024 + 5);
  const ref = (v: Version) => `${v.model}:${v.version}`;
  /** Where the pull keeps the partial download of `path` of `v` inside `out`. */
  const partialOf = (out: string, v: Version, path: string) => {
    const f = v.files?.find((x) => x.path === path);
    assert.ok(f, path);
    return join(out, PARTIAL_DIR, partialName(f));
  };

  it('resumes a partial file with a Range request, hashing the part it has', async () => {
    const v = await publish([
      { path: 'weights/model.bin', data },
      { path: 'config.json', data: Buffer.from('{}') },
    ]);
    const out = join(dir, 'out');
    await mkdir(join(out, PARTIAL_DIR), { recursive: true });
    await writeFile(partialOf(out, v, 'weights/model.bin'), data.subarray(0, 1_000_000));

    const r = await pullVersion(client, ref(v), out);

    const get = blobRequests().find((s) => s.url.endsWith(sha(data)));
    assert.equal(get?.headers.range, 'bytes=1000000-');
    assert.equal(r.reused_bytes, 1_000_000);
    assert.equal(r.downloaded_bytes, data.length - 1_000_000 + 2);
    assert.equal(r.version.digest, v.digest);
    assert.equal(sha(await readFile(join(out, 'weights/model.bin'))), sha(data));
    assert.deepEqual((await readdir(join(out, 'weights'))).sort(), ['model.bin']);
    assert.deepEqual((await readdir(out)).sort(), ['config.json', 'weights'], 'the partial folder is gone once empty');
  });

  it('starts the file over when the server answers a Range with the whole blob', async () => {
    const v = await publish([{ path: 'model.bin', data }]);
    wire.ignoreRange = true;
    const out = join(dir, 'out');
    await mkdir(join(out, PARTIAL_DIR), { recursive: true });
    await writeFile(partialOf(out, v, 'model.bin'), data.subarray(0, 4096));
    const r = await pullVersion(client, ref(v), out);
    assert.equal(r.reused_bytes, 0);
    assert.equal(r.downloaded_bytes, data.length);
    assert.equal(sha(await readFile(join(out, 'model.bin'))), sha(data));
  });

  it('fails on a hash mismatch, removes the partial file and leaves no file in place', async () => {
    const own = randomBytes(1024 * 1024 + 3);
    const v = await publish([{ path: 'model.bin', data: own }]);
    await berth.corrupt(sha(own));
    const out = join(dir, 'out');
    await assert.rejects(pullVersion(client, ref(v), out), (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, 'FAILED_PRECONDITION');
      assert.match(e.message, /model\.bin failed verification.*partial file was removed/);
      assert.equal(e.details.expected, sha(own));
      assert.equal(e.details.actual, sha(Buffer.from(own.map((b) => b ^ 0xff))));
      return true;
    });
    assert.deepEqual(await readdir(out), []);
  });

  it('keeps an interrupted download as a partial file that the next pull resumes', async () => {
    const v = await publish([{ path: 'model.bin', data }]);
    wire.dropAfter = 300_000;
    const out = join(dir, 'out');
    await assert.rejects(
      pullVersion(client, ref(v), out),
      (e: unknown) => e instanceof BerthError && /interrupted .*run the same pull again to resume/.test(e.message),
    );
    const kept = (await stat(partialOf(out, v, 'model.bin'))).size;
    assert.ok(kept > 0 && kept <= 300_000);
    wire.dropAfter = undefined;
    const r = await pullVersion(client, ref(v), out);
    assert.equal(r.reused_bytes, kept);
    assert.equal(blobRequests().at(-1)?.headers.range, `bytes=${kept}-`);
    assert.equal(sha(await readFile(join(out, 'model.bin'))), sha(data));
  });

  it('keeps files already present with the right hash without downloading them', async () => {
    const v = await publish([
      { path: 'a.bin', data },
      { path: 'empty', data: Buffer.alloc(0) },
    ]);
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
    // The server never hands out such a manifest; the client must refuse one whoever made it.
    const v = await publish([{ path: 'fine.txt', data: Buffer.from('x') }]);
    const forged: Version = { ...v, files: [...(v.files ?? []), { path: '../escape.txt', size: 1, sha256: sha('x') }] };
    const out = join(dir, 'out');
    await assert.rejects(
      pullVersion(client, forged, out),
      (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /'\.\.'/.test(e.message),
    );
    await assert.rejects(stat(out), 'not even the output folder is created');
    await assert.rejects(stat(join(dir, 'escape.txt')));
    assert.equal(wire.seen.length, 0);
  });

  it('refuses to write through a link inside the output folder that points outside it', async () => {
    const v = await publish([{ path: 'sub/model.bin', data: Buffer.from('x') }]);
    const out = join(dir, 'out');
    await mkdir(join(dir, 'elsewhere'));
    await mkdir(out);
    await symlink(join(dir, 'elsewhere'), join(out, 'sub'));
    await assert.rejects(pullVersion(client, ref(v), out), /links outside the output folder/);
    assert.deepEqual(await readdir(join(dir, 'elsewhere')), []);
  });

  it("refuses a link that leads outside, in a file's place or on the way to it, and writes nothing outside", async () => {
    const v = await publish([
      { path: 'model.bin', data: Buffer.from('new bytes') },
      { path: 'sub/deeper/config.json', data: Buffer.from('{}') },
    ]);
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'precious'), 'precious');
    const out = join(dir, 'out');
    await mkdir(out);

    // a dangling link on the way: following it would create the folder outside
    await symlink(join(outside, 'made-by-pull'), join(out, 'sub'));
    await assert.rejects(pullVersion(client, ref(v), out), (e: unknown) => e instanceof BerthError && /sub is a symbolic link to nothing/.test(e.message));
    await unlink(join(out, 'sub'));

    // a link in the file's place: refused without force, replaced (never written through) with it
    await symlink(join(outside, 'precious'), join(out, 'model.bin'));
    await assert.rejects(pullVersion(client, ref(v), out), (e: unknown) => e instanceof BerthError && e.code === 'ALREADY_EXISTS' && /--force/.test(e.message));
    assert.equal(await readlink(join(out, 'model.bin')), join(outside, 'precious'));
    await pullVersion(client, ref(v), out, { force: true });
    assert.ok((await lstat(join(out, 'model.bin'))).isFile());
    assert.equal(await readFile(join(out, 'model.bin'), 'utf8'), 'new bytes');

    // berth's own partial folder as a link out
    await rm(out, { recursive: true });
    await mkdir(out);
    await symlink(outside, join(out, PARTIAL_DIR));
    await assert.rejects(pullVersion(client, ref(v), out), (e: unknown) => e instanceof BerthError && /\.berth-partial is not a folder/.test(e.message));

    assert.deepEqual(await readdir(outside), ['precious']);
    assert.equal(await readFile(join(outside, 'precious'), 'utf8'), 'precious');
  });

  it('never appends to a partial file that is also linked from outside the folder', async () => {
    const v = await publish([{ path: 'model.bin', data }]);
    const outside = join(dir, 'outside.txt');
    await writeFile(outside, 'precious');
    const out = join(dir, 'out');
    await mkdir(join(out, PARTIAL_DIR), { recursive: true });
    // a hard link is a file like any other to lstat: where the partial file lives now and where it lived before
    await link(outside, partialOf(out, v, 'model.bin'));
    await link(outside, join(out, 'model.bin.berth-partial'));
    const r = await pullVersion(client, ref(v), out);
    assert.equal(r.reused_bytes, 0);
    assert.equal(sha(await readFile(join(out, 'model.bin'))), sha(data));
    assert.equal(await readFile(outside, 'utf8'), 'precious');
  });

  it('refuses to replace a file whose bytes differ unless forced, and writes nothing when it refuses', async () => {
    const v = await publish([
      { path: 'config.json', data: Buffer.from('{"from":"the version"}') },
      { path: 'model.bin', data },
    ]);
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'config.json'), '{"mine":true}');
    await writeFile(join(out, 'notes.txt'), 'not in the version');
    await assert.rejects(pullVersion(client, ref(v), out), (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, 'ALREADY_EXISTS');
      assert.match(e.message, /1 file\(s\) in .* differ from published-\d+:1 \(config\.json\): nothing was written; pull again with --force/);
      assert.deepEqual(e.details.paths, ['config.json']);
      return true;
    });
    assert.equal(await readFile(join(out, 'config.json'), 'utf8'), '{"mine":true}');
    assert.deepEqual((await readdir(out)).sort(), ['config.json', 'notes.txt'], 'model.bin was not downloaded either');
    assert.equal(blobRequests().length, 0);

    const r = await pullVersion(client, ref(v), out, { force: true });
    assert.equal(await readFile(join(out, 'config.json'), 'utf8'), '{"from":"the version"}');
    assert.equal(sha(await readFile(join(out, 'model.bin'))), sha(data));
    assert.equal(r.downloaded_bytes, data.length + 22);
    assert.equal(await readFile(join(out, 'notes.txt'), 'utf8'), 'not in the version', 'files outside the version are left alone');
  });

  it('pulls a version holding m and m.berth-partial with the right bytes, every time and again over itself', async () => {
    const m = randomBytes(300 * 1024);
    const other = randomBytes(200 * 1024);
    const v = await publish([
      { path: 'm', data: m },
      { path: 'm.berth-partial', data: other },
    ]);
    const check = async (out: string) => {
      assert.equal(sha(await readFile(join(out, 'm'))), sha(m), out);
      assert.equal(sha(await readFile(join(out, 'm.berth-partial'))), sha(other), out);
    };
    for (let i = 0; i < 20; i++) {
      const out = join(dir, `out-${i}`);
      await pullVersion(client, v, out, { concurrency: 2 });
      await check(out);
    }
    // m gone, m.berth-partial (shorter than m) still there: it is a file of the version, not a download to resume
    const out = join(dir, 'out-0');
    await unlink(join(out, 'm'));
    const again = await pullVersion(client, v, out);
    await check(out);
    assert.deepEqual([again.downloaded_bytes, again.reused_bytes], [m.length, other.length]);
    assert.deepEqual((await readdir(out)).sort(), ['m', 'm.berth-partial']);
  });

  it('pulls several files at once, each verified, reporting progress up to the total', async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ path: `shard-${i}.bin`, data: randomBytes(512 * 1024 + i) }));
    const v = await publish(files);
    const out = join(dir, 'out');
    let last = { done: 0, total: 0 };
    const r = await pullVersion(client, ref(v), out, { concurrency: 3, onProgress: (p) => (last = p) });
    for (const f of files) assert.equal(sha(await readFile(join(out, f.path))), sha(f.data));
    const total = files.reduce((n, f) => n + f.data.length, 0);
    assert.equal(r.downloaded_bytes, total);
    assert.deepEqual([last.done, last.total], [total, total]);
  });
});

describe('nodeFetch', () => {
  it('streams large answers, as a web stream or as the node stream itself', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    await direct.putBlob(sha(data), data, data.length);
    const web = await client.getBlob(sha(data));
    assert.equal(sha(Buffer.from(await web.arrayBuffer())), sha(data));
    const raw = await client.getBlob(sha(data), { start: 1024 });
    assert.equal(raw.status, 206);
    const chunks: Buffer[] = [];
    for await (const c of nodeBody(raw)) chunks.push(c as Buffer);
    assert.equal(sha(Buffer.concat(chunks)), sha(data.subarray(1024)));
  });

  it('sends a streamed body with its length', async () => {
    const data = Buffer.from(`streamed bytes ${randomBytes(4).toString('hex')}`);
    async function* gen() {
      yield data.subarray(0, 5);
      yield data.subarray(5);
    }
    const r = await client.putBlob(sha(data), gen(), data.length);
    assert.deepEqual(r, { sha256: sha(data), size: data.length, created: true });
    assert.equal(wire.seen.at(-1)?.headers['content-length'], String(data.length));
    assert.equal(wire.seen.at(-1)?.bytes, data.length);
  });

  it('sends a GET again on a fresh socket when the server closed the idle keep-alive one it went out on', async () => {
    // An HTTP server that answers each connection's first request, keeps the socket open, and
    // closes it without answering when a second request arrives on it (as a server does when its
    // keep-alive timeout fires just as the client reuses the socket).
    const sockets: Socket[] = [];
    const server = createNetServer((socket) => {
      sockets.push(socket);
      let answered = false;
      socket.on('data', () => {
        if (answered) return void socket.destroy();
        answered = true;
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      assert.equal(await (await nodeFetch(url)).text(), 'ok');
      assert.equal(await (await nodeFetch(url)).text(), 'ok', 'the second GET, first sent on the reused socket, succeeds');
      assert.equal(sockets.length, 2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('follows a redirect for GET', async () => {
    const data = Buffer.from(`after a redirect ${randomBytes(4).toString('hex')}`);
    await direct.putBlob(sha(data), data, data.length);
    const res = await nodeFetch(`${wire.url}/moved/api/v1/blobs/${sha(data)}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), data.toString());
  });
});

describe('BerthClient over HTTP', () => {
  it('turns the error shape into a BerthError and anything else into one that names the server', async () => {
    const answer = (await (await fetch(`${berth.url}/api/v1/resolve?ref=ghost`)).json()) as { error: { code: string; message: string } };
    assert.equal(answer.error.code, 'NOT_FOUND');
    await assert.rejects(client.resolve('ghost'), (e: unknown) => e instanceof BerthError && e.code === 'NOT_FOUND' && e.message === answer.error.message);
    await assert.rejects(
      client.raw('GET', '/proxy-error'),
      (e: unknown) =>
        e instanceof BerthError &&
        e.code === 'INVALID_ARGUMENT' &&
        e.message === `${wire.url}: this is not a Berth server (no berth-api header); check --url / BERTH_URL` &&
        e.details.status === 502,
    );
  });

  it('says how to fix a server it cannot reach', async () => {
    const gone = new BerthClient({ url: 'http://127.0.0.1:9', fetch: nodeFetch });
    await assert.rejects(
      gone.listModels(),
      (e: unknown) =>
        e instanceof BerthError &&
        e.code === 'INTERNAL' &&
        /cannot reach Berth at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): start it with `berth server`, or point --url \/ BERTH_URL at it/.test(e.message),
    );
  });
});
