import { request as httpRequest } from 'node:http';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_DIR, partialName } from '@berth/sdk/node';
import { berth, startBerth, tempDir, type ServerHandle } from './support.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('berth CLI against a real server', () => {
  let server: ServerHandle;
  let dir: string;
  let cleanup: () => Promise<void>;
  let run: (...args: string[]) => ReturnType<typeof berth>;
  const weights = randomBytes(2 * 1024 * 1024 + 123);

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    server = await startBerth(join(dir, 'data'));
    run = (...args: string[]) => berth(args, { url: server.url, cwd: dir });
    await mkdir(join(dir, 'best/sub'), { recursive: true });
    await writeFile(join(dir, 'best/model.safetensors'), weights);
    await writeFile(join(dir, 'best/sub/config.json'), '{"r":16}');
    await mkdir(join(dir, 'best2/sub'), { recursive: true });
    await writeFile(join(dir, 'best2/model.safetensors'), weights);
    await writeFile(join(dir, 'best2/sub/config.json'), '{"r":32}');
    await writeFile(join(dir, 'metrics.json'), '{"val_accuracy": 0.918}');
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('pushes a folder with metadata, tags and a run, and reports what it uploaded', async () => {
    const r = await run(
      'push',
      './best',
      '--model',
      'chatbot',
      '--kind',
      'model',
      '--metadata',
      'base_model=meta-llama/Llama-3-8B',
      '--metadata',
      'val_loss=0.342',
      '--metadata-file',
      'metrics.json',
      '--tag',
      'task=customer-support',
      '--run',
      'run-123',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.version, 1);
    assert.match(out.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(out.uploaded_bytes, weights.length + 8);
    assert.equal(out.skipped_bytes, 0);
    const show = JSON.parse((await run('show', 'chatbot:1', '--json')).stdout);
    assert.deepEqual(show.metadata, { base_model: 'meta-llama/Llama-3-8B', val_loss: 0.342, val_accuracy: 0.918 });
    assert.deepEqual(show.tags, { task: 'customer-support' });
    assert.equal(show.run_id, 'run-123');
    assert.deepEqual(
      show.files.map((f: { path: string }) => f.path),
      ['model.safetensors', 'sub/config.json'],
    );
  });

  it('uploads only the files that changed on the next push', async () => {
    const r = await run('push', './best2', '--model', 'chatbot', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.version, 2);
    assert.equal(out.uploaded_bytes, 8);
    assert.equal(out.skipped_bytes, weights.length);
    const text = await run('push', './best2', '--model', 'chatbot');
    assert.match(text.stdout, /^chatbot:3 sha256:[0-9a-f]{64}$/m);
  });

  it('pushes a small bundle in one commit and still counts only the bytes that changed', async () => {
    await mkdir(join(dir, 'bundle'), { recursive: true });
    await writeFile(join(dir, 'bundle/prompt.txt'), 'You are a support assistant.');
    await writeFile(join(dir, 'bundle/examples.json'), '[{"q":"hi","a":"hey"}]\n');
    const first = JSON.parse((await run('push', './bundle', '--model', 'support-prompt', '--kind', 'prompt', '--json')).stdout);
    assert.equal(first.uploaded_bytes, 28 + 23);
    assert.equal(first.skipped_bytes, 0);
    await writeFile(join(dir, 'bundle/prompt.txt'), 'You are a patient support assistant.');
    const second = JSON.parse((await run('push', './bundle', '--model', 'support-prompt', '--json')).stdout);
    assert.equal(second.version, 2);
    assert.equal(second.uploaded_bytes, 36, 'only the changed file is new');
    assert.equal(second.skipped_bytes, 23);
    const pulled = await run('pull', 'support-prompt:2', '-o', join(dir, 'bundle-out'), '--json');
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(await readFile(join(dir, 'bundle-out/prompt.txt'), 'utf8'), 'You are a patient support assistant.');
  });

  it('moves aliases with compare-and-swap and exits 4 with the current value on conflict', async () => {
    assert.equal((await run('alias', 'set', 'chatbot', 'champion', '1', '--expect', 'none', '--reason', 'first release')).code, 0);
    assert.equal((await run('alias', 'set', 'chatbot', 'champion', '2', '--expect', '1', '--reason', 'beats v1 on eval')).code, 0);
    const lost = await run('alias', 'set', 'chatbot', 'champion', '1', '--expect', '1');
    assert.equal(lost.code, 4);
    assert.match(lost.stderr, /champion is at 2 now \(expected 1\)/);
    const hist = JSON.parse((await run('alias', 'history', 'chatbot', 'champion', '--json')).stdout);
    assert.deepEqual(
      hist.map((h: { from_version: number | null; to_version: number; reason: string }) => [h.from_version, h.to_version, h.reason]),
      [
        [null, 1, 'first release'],
        [1, 2, 'beats v1 on eval'],
      ],
    );
    assert.equal((await run('alias', 'set', 'chatbot', 'latest', '1')).code, 2);
  });

  it('pulls by alias, verifies hashes and resumes a partial download', async () => {
    const out = join(dir, 'model');
    // leave a truncated partial file behind, as an interrupted pull would
    await mkdir(join(out, PARTIAL_DIR), { recursive: true });
    const partial = join(out, PARTIAL_DIR, partialName({ path: 'model.safetensors', size: weights.length, sha256: sha(weights) }));
    await writeFile(partial, weights.subarray(0, 1_000_000));
    const r = await run('pull', 'chatbot@champion', '-o', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.version, 2);
    assert.equal(res.reused_bytes, 1_000_000);
    assert.equal(res.downloaded_bytes, weights.length - 1_000_000 + 8);
    assert.equal(sha(await readFile(join(out, 'model.safetensors'))), sha(weights));
    assert.equal(await readFile(join(out, 'sub/config.json'), 'utf8'), '{"r":32}');
    await assert.rejects(stat(partial));
    await assert.rejects(stat(join(out, PARTIAL_DIR)), 'the partial folder is gone once empty');
    // a second pull finds everything in place
    const again = JSON.parse((await run('pull', 'chatbot@champion', '-o', out, '--json')).stdout);
    assert.equal(again.downloaded_bytes, 0);
  });

  it('lists models and versions with their aliases', async () => {
    const ls = await run('ls');
    assert.match(ls.stdout, /^NAME\s+KIND\s+VERSIONS\s+LATEST\s+ALIASES/m);
    assert.match(ls.stdout, /^chatbot\s+model\s+3\s+3\s+champion=2/m);
    const versions = await run('ls', 'chatbot');
    assert.match(versions.stdout, /^2\s+sha256:\w+\s+.*champion/m);
    const json = JSON.parse((await run('show', 'chatbot@champion', '--json')).stdout);
    assert.equal(json.version, 2);
    assert.deepEqual(json.aliases, ['champion']);
  });

  it('answers which version an alias pointed to at a time', async () => {
    const before = await run('at', '2026-03-08T14:32:00Z', 'chatbot@champion', '--json');
    assert.equal(JSON.parse(before.stdout).version, null);
    const now = new Date(Date.now() + 1000).toISOString();
    const r = await run('at', now, 'chatbot@champion');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^chatbot:2 /);
    const bad = await run('at', 'yesterday', 'chatbot@champion');
    assert.equal(bad.code, 2);
  });

  it('lists the audit trail oldest first and verifies its chain', async () => {
    const a = JSON.parse((await run('audit', '--model', 'chatbot', '--since', '2026-03-01', '--json')).stdout);
    assert.deepEqual(
      a.slice(0, 3).map((e: { action: string }) => e.action),
      ['model.create', 'version.create', 'version.create'],
    );
    assert.ok(a.some((e: { action: string; reason: string }) => e.action === 'alias.set' && e.reason === 'beats v1 on eval'));
    const v = await run('audit', 'verify');
    assert.equal(v.code, 0);
    assert.match(v.stdout, /audit chain ok/);
  });

  it('edits a version and guards deletion while an alias points at it', async () => {
    const u = await run('update', 'chatbot:2', '--description', 'beats v1', '--tag', 'reviewed=yes', '--metadata', 'accuracy=0.93');
    assert.equal(u.code, 0, u.stderr);
    const shown = JSON.parse((await run('show', 'chatbot:2', '--json')).stdout);
    assert.equal(shown.description, 'beats v1');
    assert.equal(shown.tags.reviewed, 'yes');
    assert.equal(shown.metadata.accuracy, 0.93);
    const refused = await run('rm', 'chatbot:2');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /@champion/);
    assert.equal((await run('rm', 'chatbot:2', '--force')).code, 0);
    const gone = await run('show', 'chatbot@champion');
    assert.equal(gone.code, 3);
    const next = JSON.parse((await run('push', './best', '--model', 'chatbot', '--json')).stdout);
    assert.equal(next.version, 4, 'a deleted number is never reused');
  });

  it('reports garbage-collection candidates without deleting on --dry-run', async () => {
    const r = JSON.parse((await run('gc', '--dry-run', '--grace', '0', '--json')).stdout);
    assert.equal(r.dry_run, true);
    assert.equal(r.removed, 0);
  });

  it('exits 3 for what does not exist and 2 for usage mistakes', async () => {
    assert.equal((await run('show', 'ghost:1')).code, 3);
    assert.equal((await run('push', './best')).code, 2);
    assert.equal((await run('frobnicate')).code, 2);
    const unreachable = await berth(['ls'], { url: 'http://127.0.0.1:9', cwd: dir });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach Berth at http:\/\/127\.0\.0\.1:9/);
  });

  it('stops cleanly on SIGTERM', async () => {
    const s = await startBerth(join(dir, 'data2'));
    assert.equal(await s.stop('SIGTERM'), 0);
  });
});

describe('berth server configuration', () => {
  it('refuses a non-loopback address without authentication', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const r = await berth(['server', '--host', '0.0.0.0', '--port', '0', '--data', dir]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without authentication/);
    } finally {
      await cleanup();
    }
  });

  it('answers only the names it is told to: --allowed-hosts and --public-url on the real binary', async () => {
    const { dir, cleanup } = await tempDir();
    const s = await startBerth(dir, ['--allowed-hosts', 'models.internal', '--public-url', 'https://registry.example.com']);
    try {
      const status = (host: string) =>
        new Promise<number>((resolvePromise, reject) => {
          const u = new URL(`${s.url}/api/v1/models`);
          const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, headers: { host } }, (res) => {
            res.resume();
            resolvePromise(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      assert.equal(await status('models.internal:8080'), 200);
      assert.equal(await status('registry.example.com'), 200, 'the public URL names the server');
      assert.equal(await status('rebound.example.net'), 400, 'a DNS-rebinding name is refused');
    } finally {
      await s.stop();
      await cleanup();
    }
  });

  it('reads berth.yaml, overridden by BERTH_* and flags', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeFile(join(dir, 'berth.yaml'), 'data: ./from-yaml\nlog_level: warn\n');
      let s = await startBerth(null, [], {}, dir);
      await s.stop();
      await assert.doesNotReject(stat(join(dir, 'from-yaml', 'berth.db')), 'berth.yaml sets the data folder');
      s = await startBerth(null, [], { BERTH_DATA: join(dir, 'from-env') }, dir);
      await s.stop();
      await assert.doesNotReject(stat(join(dir, 'from-env', 'berth.db')), 'BERTH_DATA overrides berth.yaml');
      s = await startBerth(join(dir, 'from-flag'), [], { BERTH_DATA: join(dir, 'from-env2') }, dir);
      await s.stop();
      await assert.doesNotReject(stat(join(dir, 'from-flag', 'berth.db')), '--data overrides BERTH_DATA');
      await assert.rejects(stat(join(dir, 'from-env2')));
      const bad = await berth(['server', '--config', join(dir, 'missing.yaml')]);
      assert.equal(bad.code, 2);
      await writeFile(join(dir, 'bad.yaml'), 'colour: blue\n');
      const unknown = await berth(['server', '--config', join(dir, 'bad.yaml')]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown setting\(s\) colour/);
    } finally {
      await cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
