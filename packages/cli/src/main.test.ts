import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '@berth/core';
import { main, reportError, splitCommand } from './main.js';
import { makeContext } from './context.js';
import type { Io } from './io.js';

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: Record<string, string>;
}

type Route = (call: Call) => Response | undefined;

const err = (status: number, code: string, message: string, details: Record<string, unknown> = {}) => Response.json({ error: { code, message, details } }, { status });

/** Runs `berth <argv>` in process against a stubbed server: no network, no disk. */
async function berth(argv: string[], route: Route = () => undefined, env: Record<string, string> = {}) {
  const out: string[] = [];
  const errs: string[] = [];
  const calls: Call[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => errs.push(s) },
    env: { USER: 'ana', ...env },
    cwd: '/nowhere',
    fetch: async (input, init) => {
      const url = new URL(String(input));
      const call: Call = {
        method: init?.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
        headers: (init?.headers ?? {}) as Record<string, string>,
      };
      calls.push(call);
      return route(call) ?? err(404, 'NOT_FOUND', `no stub for ${call.method} ${call.path}`);
    },
  };
  const code = await main(argv, io);
  return { code, stdout: out.join(''), stderr: errs.join(''), calls };
}

const model = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'model',
  description: '',
  tags: {},
  aliases: {},
  protected_aliases: ['champion'],
  frozen_aliases: [],
  latest_version: 1,
  version_count: 1,
  created_at: '2026-03-01T10:00:00.000Z',
  updated_at: '2026-03-08T14:32:00.123Z',
  ...extra,
});

const alias = (name: string, version: number) => ({ model: 'chatbot', alias: name, version, protected: false, frozen: false, updated_by: 'local:ana', updated_at: '2026-03-08T14:32:00.000Z' });

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
    for (const argv of [['help', 'push'], ['push', '--help']]) {
      const r = await berth(argv);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^usage: berth push <dir\|file> --model NAME/);
    }
  });

  it('exits 2 with the usage for a usage mistake, before talking to a server', async () => {
    const r = await berth(['push', './best']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --model NAME is required\n\nusage: berth push/);
    assert.equal(r.calls.length, 0);
    const flag = await berth(['ls', '--frobnicate']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--frobnicate'/);
    const limit = await berth(['ls', '--limit', '1.5']);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit must be a whole number from 1/);
    const url = await berth(['ls', '--url', 'ftp://h']);
    assert.equal(url.code, 2);
    assert.match(url.stderr, /--url "ftp:\/\/h" is not an http\(s\) URL/);
  });

  it('exits with the code of the server error and prints its message; --json adds the error object on stdout', async () => {
    const route: Route = () => err(404, 'NOT_FOUND', 'model "ghost" not found: list models with `berth ls`', { model: 'ghost' });
    const r = await berth(['show', 'ghost:1'], route);
    assert.equal(r.code, 3);
    assert.equal(r.stderr, 'error: model "ghost" not found: list models with `berth ls`\n');
    assert.equal(r.stdout, '');
    const j = await berth(['show', 'ghost:1', '--json'], route);
    assert.equal(j.code, 3);
    assert.deepEqual(JSON.parse(j.stdout), { error: { code: 'NOT_FOUND', message: 'model "ghost" not found: list models with `berth ls`', details: { model: 'ghost' } } });
  });

  it('sends the user as the actor and the URL from BERTH_URL', async () => {
    const r = await berth(['ls'], () => Response.json({ items: [], next_cursor: null }), { BERTH_URL: 'http://berth.internal:7878' });
    assert.equal(r.code, 0);
    assert.equal(r.calls[0].headers['x-berth-actor'], 'ana');
    assert.match(r.stdout, /no models yet/);
  });
});

describe('berth commands', () => {
  it('ls pages through every model and draws the table', async () => {
    const r = await berth(['ls'], (c) =>
      c.query.cursor === 'p2'
        ? Response.json({ items: [model('summarizer', { kind: 'adapter', latest_version: null, version_count: 0 })], next_cursor: null })
        : Response.json({ items: [model('chatbot', { aliases: { champion: 2, staging: 3 }, latest_version: 3, version_count: 3 })], next_cursor: 'p2' }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'NAME        KIND     VERSIONS  LATEST  ALIASES               UPDATED',
        'chatbot     model    3         3       champion=2,staging=3  2026-03-08 14:32:00Z',
        'summarizer  adapter  0         -       -                     2026-03-08 14:32:00Z',
        '',
      ].join('\n'),
    );
    assert.equal(r.calls.length, 2);
  });

  it('ls --limit stops after that many', async () => {
    const r = await berth(['ls', '--limit', '1', '--json'], () => Response.json({ items: [model('a'), model('b')], next_cursor: 'more' }));
    assert.deepEqual(JSON.parse(r.stdout).map((m: { name: string }) => m.name), ['a']);
    assert.equal(r.calls[0].query.limit, '1');
  });

  it('alias set explains a lost compare-and-swap with the current value and exits 4', async () => {
    const r = await berth(['alias', 'set', 'chatbot', 'champion', '1', '--expect', '1'], () =>
      err(409, 'CONFLICT', 'alias champion of chatbot holds 2, not 1', { alias: 'champion', expected: 1, current: 2 }),
    );
    assert.equal(r.code, 4);
    assert.equal(r.stderr, 'error: champion is at 2 now (expected 1); nothing was changed\n');
    assert.deepEqual(r.calls[0].body, { version: 1, expect: 1 });
  });

  it('alias swap moves both aliases in one batch, each guarded by what it held', async () => {
    const r = await berth(['alias', 'swap', 'chatbot', 'champion', 'challenger', '--reason', 'flip'], (c) => {
      if (c.method === 'GET') return Response.json({ items: [alias('champion', 2), alias('challenger', 5)] });
      if (c.path.endsWith('/aliases:batch')) return Response.json({ items: [alias('champion', 5), alias('challenger', 2)] });
      return undefined;
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls[1].body, {
      moves: [
        { alias: 'champion', version: 5, expect: 2 },
        { alias: 'challenger', version: 2, expect: 5 },
      ],
      reason: 'flip',
    });
    assert.equal(r.stdout, 'chatbot@champion -> 5\nchatbot@challenger -> 2\n');
  });

  it('audit verify exits 1 naming the first broken seq', async () => {
    const r = await berth(['audit', 'verify'], () => Response.json({ ok: false, checked: 41, last_seq: 40, last_hash: 'x', first_bad_seq: 17, problem: 'hash-mismatch' }));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^audit chain broken at seq 17 \(hash-mismatch\)/);
    const ok = await berth(['audit', 'verify'], () => Response.json({ ok: true, checked: 41, last_seq: 41, last_hash: 'x' }));
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /^audit chain ok: 41 event\(s\)/);
  });

  it('audit --since takes a date and asks for events from UTC midnight', async () => {
    const r = await berth(['audit', '--since', '2026-03-01', '--model', 'chatbot'], () => Response.json({ items: [], next_cursor: null }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls[0].query.since, '2026-03-01T00:00:00.000Z');
    assert.equal(r.calls[0].query.model, 'chatbot');
    assert.equal((await berth(['audit', '--since', 'last week'])).code, 2);
  });

  it('at says when an alias was unset at that time', async () => {
    const r = await berth(['at', '2026-03-08T14:32:00Z', 'chatbot@champion'], () => Response.json({ at: '2026-03-08T14:32:00.000Z', ref: 'chatbot@champion', version: null, set_at: null, set_by: null, reason: null }));
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'chatbot@champion was unset at 2026-03-08 14:32:00Z\n');
    assert.deepEqual(r.calls[0].query, { t: '2026-03-08T14:32:00.000Z', ref: 'chatbot@champion' });
  });

  it('update sends typed metadata, removals and tags for a version', async () => {
    const r = await berth(['update', 'chatbot:2', '--metadata', 'val_loss=0.3', '--metadata', 'base=llama-3', '--unset-metadata', 'old', '--tag', 'reviewed=yes'], (c) =>
      c.method === 'PATCH' ? Response.json({ model: 'chatbot', version: 2 }) : undefined,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls[0].path, '/api/v1/models/chatbot/versions/2');
    assert.deepEqual(r.calls[0].body, { tags: { reviewed: 'yes' }, metadata: { val_loss: 0.3, base: 'llama-3', old: null } });
  });

  it('gc turns the grace period into seconds', async () => {
    const r = await berth(['gc', '--dry-run', '--grace', '1.5h', '--json'], () =>
      Response.json({ dry_run: true, grace_seconds: 5400, scanned: 3, candidates: 1, bytes: 10, removed: 0, expired_uploads: 0, temp_files_removed: 0 }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls[0].body, { dry_run: true, grace_seconds: 5400 });
  });

  it('rm deletes a model or a version, forced when asked', async () => {
    const r = await berth(['rm', 'my-team/chatbot:3', '--force'], () => new Response(null, { status: 204 }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls[0].method, 'DELETE');
    assert.equal(r.calls[0].path, '/api/v1/models/my-team%2Fchatbot/versions/3');
    assert.deepEqual(r.calls[0].query, { force: 'true' });
    const refused = await berth(['rm', 'chatbot:2'], () => err(412, 'FAILED_PRECONDITION', 'version 2 is pointed at by chatbot@champion', { aliases: ['champion'] }));
    assert.equal(refused.code, 1);
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
    const expected = { INVALID_ARGUMENT: 2, UNAUTHENTICATED: 1, PERMISSION_DENIED: 1, NOT_FOUND: 3, ALREADY_EXISTS: 4, CONFLICT: 4, FAILED_PRECONDITION: 1, PAYLOAD_TOO_LARGE: 2, INTERNAL: 1 } as const;
    for (const [code, exit] of Object.entries(expected)) {
      const { ctx, errs } = ctxFor(false);
      assert.equal(reportError(new BerthError(code as keyof typeof expected, 'boom'), ctx), exit, code);
      assert.deepEqual(errs, ['error: boom\n']);
    }
  });

  it('calls an unexpected error a bug and shows its stack only with BERTH_DEBUG', () => {
    const quiet = ctxFor(false);
    assert.equal(reportError(new TypeError('x is undefined'), quiet.ctx), 1);
    assert.equal(quiet.errs.join(''), 'error: x is undefined\nhint: this looks like a bug in berth; run again with BERTH_DEBUG=1 for the stack trace and report it\n');
    const debug = ctxFor(true, { BERTH_DEBUG: '1' });
    reportError(new TypeError('x is undefined'), debug.ctx);
    assert.match(debug.errs.join(''), /TypeError: x is undefined\n\s+at /);
    assert.equal(JSON.parse(debug.out.join('')).error.code, 'INTERNAL');
  });
});
