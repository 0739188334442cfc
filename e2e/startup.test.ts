import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BIN, ROOT, berth, startBerth, tempDir, type ServerHandle } from './support.js';

/** Runs `berth server …`, killing it after 10 s so a hang fails the test instead of stalling the suite. */
async function startFails(args: string[], cwd = ROOT): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [BIN, 'server', '--port', '0', ...args], {
    cwd,
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.resume();
  const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  const [code] = await once(proc, 'exit');
  clearTimeout(killer);
  return { code: code as number | null, stderr, ms: performance.now() - t0 };
}

/**
 * Exit 2 within 4 s (a process start and a refusal, with room for a busy machine; a retry loop
 * or a hang would run into the 10 s kill), and stderr is exactly one `error:` line matching `says`.
 */
async function refusesToStart(args: string[], says: RegExp, cwd?: string): Promise<string> {
  const r = await startFails(args, cwd);
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.ok(r.ms < 4000, `exited after ${Math.round(r.ms)} ms, not within 4 s`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.doesNotMatch(r.stderr, /looks like a bug|BERTH_DEBUG/);
  assert.match(lines[0]!, says);
  return lines[0]!;
}

/** A loopback TCP server; `silent` accepts connections and never answers. */
async function tcpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const srv = createTcpServer((s) => (sockets.add(s), s.on('error', () => {})));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

describe('berth server start-up failures', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(async () => cleanup?.());

  it('refuses a data folder under /proc instead of spinning forever', { skip: process.platform !== 'linux' }, async () => {
    await refusesToStart(['--data', '/proc/berth-data'], /^error: cannot use \/proc\/berth-data as the database folder: .*pick another --data$/);
    await refusesToStart(['--data', '/proc/self'], /cannot use \/proc\/self as the database folder/);
  });

  it('refuses a data folder that is a file, or lies under one', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    await refusesToStart(['--data', join(dir, 'a-file')], /a file, not a folder, is in the way .*pick another --data$/);
    await refusesToStart(['--data', join(dir, 'a-file', 'sub')], /a file, not a folder, is in the way \(ENOTDIR\)/);
    await refusesToStart(['--data', join(dir, 'ok'), '--blobs', join(dir, 'a-file')], /cannot use .*a-file as the blob folder: .*pick another --blobs$/);
  });

  it('refuses a data folder it cannot write', async () => {
    if (process.platform === 'linux')
      await refusesToStart(['--data', '/sys/berth-data'], /cannot use \/sys\/berth-data as the database folder: .*pick another --data$/);
    // root writes through any mode bits, so the mode case proves something only for other users
    if (process.getuid?.() !== 0) {
      await mkdir(join(dir, 'locked'));
      await chmod(join(dir, 'locked'), 0o500);
      await refusesToStart(['--data', join(dir, 'locked')], /permission denied \(EACCES\); pick another --data$/);
    }
  });

  it('refuses a SQLite database that is a folder or not a database', async () => {
    await mkdir(join(dir, 'folder.db'));
    await refusesToStart(['--data', join(dir, 'd1'), '--db', `sqlite:${join(dir, 'folder.db')}`], /cannot open the SQLite database .*folder\.db: .*check --db/);
    await writeFile(join(dir, 'text.db'), 'this is a text file, and no SQLite database at all, not even close to one\n'.repeat(20));
    await refusesToStart(['--data', join(dir, 'd2'), '--db', `sqlite:${join(dir, 'text.db')}`], /file is not a database/);
  });

  it('gives up on an unreachable PostgreSQL at once, without echoing its password', async () => {
    const closed = await tcpServer();
    const port = closed.port;
    await closed.close();
    const line = await refusesToStart(
      ['--data', join(dir, 'd3'), '--db', `postgres://berth:s3cret@127.0.0.1:${port}/berth`],
      new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/berth: connection refused.*check that it runs and that --db`),
    );
    assert.doesNotMatch(line, /s3cret/);
    // a host that takes the connection and never answers is given up on in under a second
    const silent = await tcpServer();
    try {
      await refusesToStart(
        ['--data', join(dir, 'd4'), '--db', `postgres://berth:s3cret@127.0.0.1:${silent.port}/berth`],
        /cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/berth: no answer in time/,
      );
    } finally {
      await silent.close();
    }
  });

  it('refuses a port in use and an address it cannot listen on', async () => {
    const taken = await tcpServer();
    try {
      await refusesToStart(['--data', join(dir, 'd5'), '--port', String(taken.port)], /address already in use .*stop it or pass --port$/);
    } finally {
      await taken.close();
    }
    // 192.0.2.1 is reserved for documentation: no machine has it
    await refusesToStart(['--data', join(dir, 'd6'), '--host', '192.0.2.1', '--insecure-no-auth'], /cannot listen on 192\.0\.2\.1: no such local address/);
    await refusesToStart(
      ['--data', join(dir, 'd6'), '--host', '0.0.0.0'],
      /refusing to listen on 0\.0\.0\.0 without authentication: no token exists yet\. .*berth token create admin --role admin.*--insecure-no-auth/,
    );
  });

  it('starts on a non-loopback address with --insecure-no-auth, warning loudly, every client with every role', async () => {
    const proc = spawn(process.execPath, [BIN, 'server', '--port', '0', '--host', '0.0.0.0', '--insecure-no-auth', '--data', join(dir, 'd7')], {
      env: { ...process.env, BERTH_LOG_LEVEL: 'silent', BERTH_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      let err = '';
      proc.stderr.on('data', (d) => (err += d));
      const url = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no start in 20 s: ${err}`)), 20_000);
        proc.stdout.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) res((clearTimeout(timer), m[1]!));
        });
      });
      assert.match(
        err,
        /^WARNING: listening on 0\.0\.0\.0 with authentication disabled \(--insecure-no-auth\): every client that can reach it has every role\n/,
      );
      const res = await fetch(`${url}/api/v1/models`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"open"}' });
      assert.equal(res.status, 201);
    } finally {
      proc.kill('SIGTERM');
      await once(proc, 'exit');
    }
  });

  it('starts on a non-loopback address once a token exists (made on loopback first) and then requires it', async () => {
    const data = join(dir, 'd8');
    const loopback = await startBerth(data);
    const made = await berth(['token', 'create', 'admin', '--role', 'admin'], { url: loopback.url });
    await loopback.stop();
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    const open = await startBerth(data, ['--host', '0.0.0.0']);
    try {
      const anon = await fetch(`${open.url}/api/v1/models`);
      assert.equal(anon.status, 401);
      assert.equal(((await anon.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
      assert.equal((await fetch(`${open.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${open.url}/api/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      const me = await berth(['whoami', '--json'], { url: open.url, env: { BERTH_TOKEN: token } });
      assert.equal(JSON.parse(me.stdout).name, 'admin');
    } finally {
      await open.stop();
    }
  });

  it('refuses a berth.yaml that does not parse or has unknown settings', async () => {
    await writeFile(join(dir, 'broken.yaml'), 'data: [1\nport: x\n');
    await refusesToStart(['--config', join(dir, 'broken.yaml')], /cannot read config file .*broken\.yaml: .*line 2/);
    await writeFile(join(dir, 'limit.yaml'), 'body_limit: lots\n');
    await refusesToStart(['--config', join(dir, 'limit.yaml')], /body_limit must be a whole number, not "lots"/);
    await writeFile(join(dir, 'unknown.yaml'), 'colour: blue\n');
    await refusesToStart(['--config', join(dir, 'unknown.yaml')], /unknown setting\(s\) colour/);
  });
});

describe('berth CLI edges', () => {
  let server: ServerHandle;
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    server = await startBerth(join(dir, 'data'));
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${server.url}/api/v1/models`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `model-${i}` }),
      });
      assert.equal(res.status, 201);
    }
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('exits quietly when the reader of its output goes away (berth ls | head)', async () => {
    const proc = spawn(process.execPath, [BIN, 'ls', '--json'], { env: { ...process.env, BERTH_URL: server.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    // closed before the answer arrives, so the write meets a pipe with no reader (EPIPE)
    proc.stdout.destroy();
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const [code] = await once(proc, 'exit');
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('sets an alias with --expect none only while it is unset, and exits 4 with the current version otherwise', async () => {
    await writeFile(join(dir, 'weights.bin'), 'v1');
    const run = (...args: string[]) => berth(args, { url: server.url, cwd: dir });
    assert.equal((await run('push', 'weights.bin', '--model', 'model-0')).code, 0);
    assert.equal((await run('push', 'weights.bin', '--model', 'model-0')).code, 0);
    const first = await run('alias', 'set', 'model-0', 'champion', '1', '--expect', 'none', '--json');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).version, 1);
    const second = await run('alias', 'set', 'model-0', 'champion', '2', '--expect', 'none');
    assert.equal(second.code, 4, second.stderr);
    assert.equal(second.stderr, 'error: champion is at 1 now (expected unset); nothing was changed\n');
    const still = await run('alias', 'ls', 'model-0', '--json');
    assert.deepEqual(
      JSON.parse(still.stdout).map((a: { alias: string; version: number }) => [a.alias, a.version]),
      [['champion', 1]],
    );
  });

  describe('pointed at a service that is not Berth', () => {
    let other: Server;
    let url: string;
    before(async () => {
      other = createHttpServer((req, res) => {
        if (/^\/api\/v1\/models(\?|$)/.test(req.url ?? ''))
          return res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[],"next_cursor":null}');
        res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not Found</body></html>');
      });
      other.listen(0, '127.0.0.1');
      await once(other, 'listening');
      url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => other.close(() => r())));

    it('says so instead of "not found" for a 404 page, and instead of an empty list for JSON', async () => {
      for (const args of [['show', 'chatbot:1'], ['ls']]) {
        const r = await berth(args, { url, cwd: dir });
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stderr, `error: ${url}: this is not a Berth server (no berth-api header); check --url / BERTH_URL\n`);
        assert.equal(r.stdout, '');
      }
      assert.equal((await berth(['ls'], { url: server.url, cwd: dir })).code, 0, 'a Berth server is accepted');
    });
  });
});
