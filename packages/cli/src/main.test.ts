import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, type Version } from '@berth/core';
import { BerthClient } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock, type Store } from '@berth/server';
import { main, reportError, splitCommand } from './main.js';
import { makeContext } from './context.js';
import type { Io } from './io.js';

/** The real server, fresh for each test: buildApp() over SQLite and a blob folder in a temp dir, on a loopback port. */
interface Berth {
  url: string;
  dir: string;
  store: Store;
  stop(): Promise<void>;
}

async function startBerth(): Promise<Berth> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-test-'));
  const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
  const blobs = await FsBlobStore.open(join(dir, 'blobs'));
  const app = await buildApp({ registry: new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    dir,
    store,
    async stop() {
      await app.close();
      await blobs.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let server: Berth;
/** Sets up and inspects the server's state, as another user would. */
let direct: BerthClient;

beforeEach(async () => {
  server = await startBerth();
  direct = new BerthClient({ url: server.url, actor: 'setup', fetch: nodeFetch });
});
afterEach(() => server.stop());

/** Runs `berth <argv>` in process, with the real transport, against the test's server (or `env.BERTH_URL`). */
async function berth(argv: string[], env: Record<string, string> = {}, cwd = tmpdir()) {
  const out: string[] = [];
  const errs: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => errs.push(s) },
    env: { USER: 'ana', BERTH_URL: server.url, ...env },
    cwd,
  };
  const code = await main(argv, io);
  return { code, stdout: out.join(''), stderr: errs.join('') };
}

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** Commits a one-file version of `name` (creating the model), its bytes inline. */
function commit(name: string, text = `${name} ${Math.random()}`): Promise<Version> {
  return direct.createVersion(name, {
    files: [{ path: 'weights.txt', size: Buffer.byteLength(text), sha256: sha(text) }],
    blobs: [{ sha256: sha(text), base64: Buffer.from(text).toString('base64') }],
  });
}

/** The server's own error object for a request, to compare the CLI's rendering against. */
async function serverError(path: string): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  return ((await (await fetch(`${server.url}${path}`)).json()) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
}

const unreachable = { BERTH_URL: 'http://127.0.0.1:9' };

describe('berth main', () => {
  it('finds the command after global flags and leaves the flags to the command', () => {
    assert.deepEqual(splitCommand(['--url', 'http://h:1', '--json', 'ls', 'chatbot']), { name: 'ls', rest: ['--url', 'http://h:1', '--json', 'chatbot'] });
    assert.deepEqual(splitCommand(['push', './dir', '--model', 'm']), { name: 'push', rest: ['./dir', '--model', 'm'] });
    assert.deepEqual(splitCommand(['--json']), { rest: ['--json'] });
  });

  it('prints the overview with exit 0 for help, and exit 2 with no command or an unknown one', async () => {
    const help = await berth(['help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: berth <command>/);
    const none = await berth([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^usage: berth <command>/);
    const unknown = await berth(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown command "frobnicate"/);
  });

  it('shows a command usage for `help <command>` and `<command> --help`', async () => {
    for (const argv of [
      ['help', 'push'],
      ['push', '--help'],
    ]) {
      const r = await berth(argv);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^usage: berth push <dir\|file> --model NAME/);
    }
  });

  it('exits 2 with the usage for a usage mistake, before talking to a server', async () => {
    // The URL reaches nothing: a command that talked to it first would fail with exit 1 instead.
    const r = await berth(['push', './best'], unreachable);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --model NAME is required\n\nusage: berth push/);
    const flag = await berth(['ls', '--frobnicate'], unreachable);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--frobnicate'/);
    const limit = await berth(['ls', '--limit', '1.5'], unreachable);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit must be a whole number from 1/);
    const url = await berth(['ls', '--url', 'ftp://h']);
    assert.equal(url.code, 2);
    assert.match(url.stderr, /--url "ftp:\/\/h" is not an http\(s\) URL/);
    const gone = await berth(['ls'], unreachable);
    assert.equal(gone.code, 1, 'the same command that does reach for the server fails otherwise');
    assert.match(gone.stderr, /cannot reach Berth at http:\/\/127\.0\.0\.1:9/);
  });

  it('exits with the code of the server error and prints its message; --json adds the error object on stdout', async () => {
    const expected = await serverError('/api/v1/resolve?ref=ghost:1');
    assert.equal(expected.code, 'NOT_FOUND');
    const r = await berth(['show', 'ghost:1']);
    assert.equal(r.code, 3);
    assert.equal(r.stderr, `error: ${expected.message}\n`);
    assert.equal(r.stdout, '');
    const j = await berth(['show', 'ghost:1', '--json']);
    assert.equal(j.code, 3);
    assert.deepEqual(JSON.parse(j.stdout), { error: expected });
  });

  it('sends the user as the actor and the URL from BERTH_URL', async () => {
    const empty = await berth(['ls']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /no models yet/);
    assert.equal((await berth(['model', 'create', 'chatbot'])).code, 0);
    assert.equal((await direct.getModel('chatbot')).name, 'chatbot', 'the model was created on the server BERTH_URL names');
    const [event] = (await direct.listAudit({ model: 'chatbot' })).items;
    assert.ok(event);
    assert.equal(event.actor, 'self-declared:ana');
  });
});

describe('berth commands', () => {
  it('push then pull round-trips a folder, with --json results and progress only on a terminal', async () => {
    const work = await mkdtemp(join(tmpdir(), 'berth-cli-files-'));
    try {
      await mkdir(join(work, 'src/sub'), { recursive: true });
      const big = Buffer.alloc(300 * 1024, 7);
      await writeFile(join(work, 'src/model.bin'), big);
      await writeFile(join(work, 'src/sub/config.json'), '{"r":16}');
      const pushed = await berth(['push', 'src', '--model', 'chatbot', '--metadata', 'val_loss=0.3', '--json'], {}, work);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(pushed.stderr, '', 'no progress bar when stderr is not a terminal');
      const p = JSON.parse(pushed.stdout);
      assert.equal(p.version, 1);
      assert.equal(p.uploaded_bytes, big.length + 8);
      assert.deepEqual((await direct.getVersion('chatbot', 1)).metadata, { val_loss: 0.3 });

      const pulled = await berth(['pull', 'chatbot:1', '--json'], {}, work);
      assert.equal(pulled.code, 0, pulled.stderr);
      const q = JSON.parse(pulled.stdout);
      assert.deepEqual([q.output, q.downloaded_bytes, q.reused_bytes], [join(work, 'chatbot-1'), big.length + 8, 0]);
      assert.ok((await readFile(join(work, 'chatbot-1/model.bin'))).equals(big));
      assert.equal(await readFile(join(work, 'chatbot-1/sub/config.json'), 'utf8'), '{"r":16}');

      const again = await berth(['pull', 'chatbot:1'], {}, work);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^chatbot:1 sha256:[0-9a-f]{64} -> chatbot-1\n2 file\(s\) verified; downloaded 0 B, reused /);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('pull refuses to replace a file whose bytes differ, exit 4 naming --force, and replaces it with --force', async () => {
    const work = await mkdtemp(join(tmpdir(), 'berth-cli-files-'));
    try {
      await mkdir(join(work, 'src'));
      await writeFile(join(work, 'src/config.json'), '{"r":16}');
      assert.equal((await berth(['push', 'src', '--model', 'chatbot'], {}, work)).code, 0);
      await mkdir(join(work, 'out'));
      await writeFile(join(work, 'out/config.json'), '{"edited":"by hand"}');
      const refused = await berth(['pull', 'chatbot:1', '-o', 'out'], {}, work);
      assert.equal(refused.code, 4);
      assert.match(refused.stderr, /1 file\(s\) in .*out differ from chatbot:1 \(config\.json\): nothing was written; pull again with --force/);
      assert.equal(await readFile(join(work, 'out/config.json'), 'utf8'), '{"edited":"by hand"}');
      const forced = await berth(['pull', 'chatbot:1', '-o', 'out', '--force'], {}, work);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(await readFile(join(work, 'out/config.json'), 'utf8'), '{"r":16}');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('ls pages through every model and draws the table', async () => {
    await direct.createModel({ name: 'summarizer', kind: 'adapter' });
    for (let i = 0; i < 3; i++) await commit('chatbot');
    await direct.setAlias('chatbot', 'champion', 2);
    await direct.setAlias('chatbot', 'staging', 3);
    const [chatbot, summarizer] = [await direct.getModel('chatbot'), await direct.getModel('summarizer')];
    const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
    const r = await berth(['ls']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'NAME        KIND     VERSIONS  LATEST  ALIASES               UPDATED',
        `chatbot     model    3         3       champion=2,staging=3  ${when(chatbot.updated_at)}`,
        `summarizer  adapter  0         -       -                     ${when(summarizer.updated_at)}`,
        '',
      ].join('\n'),
    );

    // more models than the largest page the CLI asks for (500): it follows the cursor
    await Promise.all(Array.from({ length: 500 }, (_, i) => direct.createModel({ name: `bulk-${String(i).padStart(3, '0')}` })));
    const all = await berth(['ls', '--json']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(JSON.parse(all.stdout).length, 502);
  });

  it('ls --limit stops after that many', async () => {
    await direct.createModel({ name: 'a' });
    await direct.createModel({ name: 'b' });
    const r = await berth(['ls', '--limit', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).map((m: { name: string }) => m.name),
      ['a'],
    );
  });

  it('alias set explains a lost compare-and-swap with the current value and exits 4', async () => {
    await commit('chatbot');
    await commit('chatbot');
    await direct.setAlias('chatbot', 'champion', 2);
    const r = await berth(['alias', 'set', 'chatbot', 'champion', '1', '--expect', '1']);
    assert.equal(r.code, 4);
    assert.equal(r.stderr, 'error: champion is at 2 now (expected 1); nothing was changed\n');
    assert.equal((await direct.resolveAlias('chatbot', 'champion')).version, 2);
    const won = await berth(['alias', 'set', 'chatbot', 'champion', '1', '--expect', '2']);
    assert.equal(won.code, 0, won.stderr);
    assert.equal((await direct.resolveAlias('chatbot', 'champion')).version, 1);
  });

  it('alias swap moves both aliases in one batch, each guarded by what it held', async () => {
    for (let i = 0; i < 5; i++) await commit('chatbot');
    await direct.setAlias('chatbot', 'champion', 2);
    await direct.setAlias('chatbot', 'challenger', 5);
    const r = await berth(['alias', 'swap', 'chatbot', 'champion', 'challenger', '--reason', 'flip']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'chatbot@champion -> 5\nchatbot@challenger -> 2\n');
    assert.deepEqual(Object.fromEntries((await direct.listAliases('chatbot')).map((a) => [a.alias, a.version])), { champion: 5, challenger: 2 });
    for (const [alias, from, to] of [
      ['champion', 2, 5],
      ['challenger', 5, 2],
    ] as const) {
      const [last] = (await direct.aliasHistory('chatbot', alias)).items.slice(-1);
      assert.ok(last);
      assert.deepEqual([last.from_version, last.to_version, last.reason], [from, to, 'flip'], alias);
    }
  });

  it('audit verify exits 1 naming the first broken seq', async () => {
    await commit('chatbot');
    await commit('chatbot');
    const ok = await berth(['audit', 'verify']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^audit chain ok: \d+ event\(s\)/);
    const events = (await direct.listAudit()).items;
    const target = events[1];
    assert.ok(target);
    await server.store.db.updateTable('audit_events').set({ reason: 'rewritten' }).where('seq', '=', target.seq).execute();
    const r = await berth(['audit', 'verify']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^audit chain broken at seq ${target.seq} \\(`));
  });

  it('audit --since takes a date and asks for events from UTC midnight', async () => {
    await commit('chatbot');
    await commit('other');
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const r = await berth(['audit', '--since', today, '--model', 'chatbot', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = JSON.parse(r.stdout) as { model: string }[];
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => e.model === 'chatbot'));
    const none = await berth(['audit', '--since', tomorrow]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, 'no events\n');
    assert.equal((await berth(['audit', '--since', 'last week'])).code, 2);
  });

  it('at says when an alias was unset at that time', async () => {
    await commit('chatbot');
    const earlier = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await direct.setAlias('chatbot', 'champion', 1);
    const r = await berth(['at', earlier, 'chatbot@champion']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `chatbot@champion was unset at ${earlier.slice(0, 10)} ${earlier.slice(11, 19)}Z\n`);
    const now = await berth(['at', new Date().toISOString(), 'chatbot@champion']);
    assert.match(now.stdout, /^chatbot:1 {2}\(chatbot@champion at /);
  });

  it('update sends typed metadata, removals and tags for a version', async () => {
    await commit('chatbot');
    const v = await commit('chatbot');
    await direct.updateVersion('chatbot', v.version, { metadata: { old: 'gone soon', kept: true } });
    const r = await berth([
      'update',
      'chatbot:2',
      '--metadata',
      'val_loss=0.3',
      '--metadata',
      'base=llama-3',
      '--unset-metadata',
      'old',
      '--tag',
      'reviewed=yes',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const after = await direct.getVersion('chatbot', 2);
    assert.deepEqual(after.metadata, { kept: true, val_loss: 0.3, base: 'llama-3' });
    assert.deepEqual(after.tags, { reviewed: 'yes' });
  });

  it('gc turns the grace period into seconds', async () => {
    const r = await berth(['gc', '--dry-run', '--grace', '1.5h', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.dry_run, true);
    assert.equal(out.grace_seconds, 5400);
  });

  it('gc reports stale temp files on --dry-run, removes nothing, and removes them without it', async () => {
    const tmp = join(server.dir, 'blobs', 'tmp');
    const stale = join(tmp, `${'ab'.repeat(12)}.part`);
    await writeFile(stale, Buffer.alloc(3000));
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(stale, old, old);
    const dry = await berth(['gc', '--dry-run', '--grace', '0']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /and 1 stale temp file\(s\), 2\.9 KiB/);
    assert.deepEqual(await readdir(tmp), [`${'ab'.repeat(12)}.part`]);
    const real = JSON.parse((await berth(['gc', '--grace', '0', '--json'])).stdout);
    assert.deepEqual([real.temp_files, real.temp_bytes, real.temp_files_removed], [1, 3000, 1]);
    assert.deepEqual(await readdir(tmp), []);
  });

  it('rm deletes a model or a version, forced when asked', async () => {
    for (let i = 0; i < 3; i++) await commit('my-team/chatbot');
    await direct.setAlias('my-team/chatbot', 'champion', 3);
    const refused = await berth(['rm', 'my-team/chatbot:3']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: .*champion/);
    assert.equal((await direct.getVersion('my-team/chatbot', 3)).version, 3, 'nothing was deleted');
    const r = await berth(['rm', 'my-team/chatbot:3', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'my-team/chatbot:3 deleted\n');
    await assert.rejects(direct.getVersion('my-team/chatbot', 3), (e: unknown) => e instanceof BerthError && e.code === 'NOT_FOUND');
    assert.deepEqual(await direct.listAliases('my-team/chatbot'), []);
  });
});

describe('reportError', () => {
  const ctxFor = (json: boolean, env: Record<string, string> = {}) => {
    const out: string[] = [];
    const errs: string[] = [];
    const ctx = makeContext({ stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => errs.push(s) }, env, cwd: '/' }, { json });
    return { ctx, out, errs };
  };

  it('maps every error code to its documented exit code', () => {
    const expected = {
      INVALID_ARGUMENT: 2,
      UNAUTHENTICATED: 1,
      PERMISSION_DENIED: 1,
      NOT_FOUND: 3,
      ALREADY_EXISTS: 4,
      CONFLICT: 4,
      FAILED_PRECONDITION: 1,
      PAYLOAD_TOO_LARGE: 2,
      INTERNAL: 1,
    } as const;
    for (const [code, exit] of Object.entries(expected)) {
      const { ctx, errs } = ctxFor(false);
      assert.equal(reportError(new BerthError(code as keyof typeof expected, 'boom'), ctx), exit, code);
      assert.deepEqual(errs, ['error: boom\n']);
    }
  });

  it('calls an unexpected error a bug and shows its stack only with BERTH_DEBUG', () => {
    const quiet = ctxFor(false);
    assert.equal(reportError(new TypeError('x is undefined'), quiet.ctx), 1);
    assert.equal(
      quiet.errs.join(''),
      'error: x is undefined\nhint: this looks like a bug in berth; run again with BERTH_DEBUG=1 for the stack trace and report it\n',
    );
    const debug = ctxFor(true, { BERTH_DEBUG: '1' });
    reportError(new TypeError('x is undefined'), debug.ctx);
    assert.match(debug.errs.join(''), /TypeError: x is undefined\n\s+at /);
    assert.equal(JSON.parse(debug.out.join('')).error.code, 'INTERNAL');
  });
});
