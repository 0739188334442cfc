import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCliApp, type CliApp } from '../../test-support/cli-app.js';

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/**
 * A Hub endpoint that is not Berth: it serves one commit whose tree lists `listed` (regular
 * files by git blob id, LFS files by sha256) but answers each download with `served`.
 */
async function fakeHub(
  listed: Record<string, { bytes: Buffer; lfs?: boolean }>,
  served: Record<string, Buffer>,
  token?: string,
): Promise<{ url: string; commit: string; requests: string[]; close(): Promise<void> }> {
  const commit = 'c'.repeat(40);
  const requests: string[] = [];
  const tree = Object.entries(listed).map(([path, f]) => ({
    type: 'file',
    path,
    size: f.lfs ? 134 : f.bytes.length,
    oid: f.lfs ? 'a'.repeat(40) : gitOid(f.bytes),
    ...(f.lfs ? { lfs: { oid: sha256(f.bytes), size: f.bytes.length, pointerSize: 134 } } : {}),
  }));
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'x-error-message': 'Invalid credentials' }).end();
      return;
    }
    const url = req.url ?? '';
    if (url === '/api/models/up/model/revision/main')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sha: commit }));
    // two pages, the second behind a Link header, as the Hub paginates long trees
    if (url === `/api/models/up/model/tree/${commit}?recursive=true`) {
      const next = `http://${req.headers.host}/api/models/up/model/tree/${commit}?recursive=true&cursor=2`;
      return void res
        .writeHead(200, { 'content-type': 'application/json', ...(tree.length > 1 ? { link: `<${next}>; rel="next"` } : {}) })
        .end(JSON.stringify([{ type: 'directory', path: 'w', oid: 'd'.repeat(40) }, ...tree.slice(0, 1)]));
    }
    if (url === `/api/models/up/model/tree/${commit}?recursive=true&cursor=2`)
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tree.slice(1)));
    const file = url.startsWith(`/up/model/resolve/${commit}/`) ? served[decodeURIComponent(url.slice(`/up/model/resolve/${commit}/`.length))] : undefined;
    if (file) return void res.writeHead(200, { 'content-length': file.length }).end(file);
    res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    commit,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('berth import hub', () => {
  let src: CliApp;
  let dst: CliApp;
  let v1: { version: number; digest: string };
  let v2: { version: number; digest: string };
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);

  before(async () => {
    // the source is a second Berth server: its own Hub front is the upstream endpoint
    [src, dst] = await Promise.all([startCliApp('berth-cli-hub-src-'), startCliApp('berth-cli-hub-dst-')]);
    await src.writeFiles({
      'v1/config.json': '{"v": 1}',
      'v1/weights/model.safetensors': big,
      'v1/empty.txt': '',
      'v2/config.json': '{"v": 2}',
    });
    v1 = JSON.parse((await src.ok('push', './v1', '--model', 'team/chatbot', '--json')).stdout);
    v2 = JSON.parse((await src.ok('push', './v2', '--model', 'team/chatbot', '--json')).stdout);
    await src.ok('alias', 'set', 'team/chatbot', 'champion', '1');
  });
  after(async () => Promise.all([src?.stop(), dst?.stop()]));

  it('mirrors a repo at an alias, pinned to the commit it resolved to, with the same files and digest', async () => {
    const commit = v1.digest.slice('sha256:'.length, 'sha256:'.length + 40);
    const r = await dst.ok('import', 'hub', 'team/chatbot', '--from', src.url, '--revision', 'champion', '--json');
    const out = JSON.parse(r.stdout);
    assert.equal(out.upstream, `hf:team/chatbot@${commit}`);
    // the same files make the same manifest: the mirror's commit id is the source's
    assert.equal(out.digest, v1.digest);
    assert.match(r.stderr, new RegExp(`team/chatbot@champion is commit ${commit}`));
    assert.match(r.stderr, /verified 3 file\(s\)/);
    const shown = JSON.parse((await dst.ok('show', `team/chatbot:${out.version}`, '--json')).stdout);
    assert.equal(shown.metadata.upstream, `hf:team/chatbot@${commit}`);
    assert.deepEqual(shown.metadata.origin, { source: 'hub', endpoint: src.url, repo: 'team/chatbot', revision: 'champion', commit });
    await dst.ok('pull', `team/chatbot:${out.version}`, '-o', './pulled');
    assert.deepEqual(await readFile(join(dst.dir, 'pulled/weights/model.safetensors')), big);
    assert.equal(await readFile(join(dst.dir, 'pulled/empty.txt'), 'utf8'), '');
  });

  it('skips a commit already imported, and imports main (another commit) as a new version', async () => {
    const again = await dst.ok('import', 'hub', 'team/chatbot', '--from', src.url, '--revision', 'champion');
    assert.match(again.stderr, /already team\/chatbot:1; nothing to do/);
    const byCommit = JSON.parse((await dst.ok('import', 'hub', 'team/chatbot', '--from', src.url, '--revision', v1.digest.slice(7, 47), '--json')).stdout);
    assert.equal(byCommit.skipped, true);
    const main = JSON.parse((await dst.ok('import', 'hub', 'team/chatbot', '--from', `${src.url}/`, '--json')).stdout);
    assert.equal(main.version, 2);
    assert.equal(main.digest, v2.digest);
    const versions = JSON.parse((await dst.ok('ls', 'team/chatbot', '--json')).stdout);
    assert.equal(versions.length, 2);
  });

  it('plans without downloading on --dry-run, and names the Berth model with --as', async () => {
    const plan = await dst.ok('import', 'hub', 'team/chatbot', '--from', src.url, '--revision', 'champion', '--as', 'mirror/bot', '--dry-run');
    assert.match(plan.stdout, /would import hf:team\/chatbot@[0-9a-f]{40} as a new version of mirror\/bot: 3 file\(s\)/);
    assert.match(plan.stdout, /weights\/model\.safetensors/);
    assert.equal((await dst.berth('show', 'mirror/bot')).code, 3);
    const done = JSON.parse((await dst.ok('import', 'hub', 'team/chatbot', '--from', src.url, '--as', 'mirror/bot', '--json')).stdout);
    assert.equal(done.model, 'mirror/bot');
    assert.equal(done.digest, v2.digest);
  });

  it('says which repo or revision is unknown upstream, and which endpoint it cannot reach', async () => {
    const repo = await dst.berth('import', 'hub', 'team/nope', '--from', src.url);
    assert.equal(repo.code, 3);
    assert.match(repo.stderr, /repo team\/nope not found at http:\/\/127\.0\.0\.1:\d+/);
    const rev = await dst.berth('import', 'hub', 'team/chatbot', '--from', src.url, '--revision', 'nope');
    assert.equal(rev.code, 3);
    assert.match(rev.stderr, /revision "nope" not found in team\/chatbot/);
    const gone = await fakeHub({}, {});
    await gone.close();
    const unreachable = await dst.berth('import', 'hub', 'team/chatbot', '--from', gone.url);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the Hub endpoint http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('refuses bad repo ids and options before asking anyone', async () => {
    for (const [args, message] of [
      [['a/b/c'], /not a Hub repo id/],
      [['../x'], /not a Hub repo id/],
      [['team/..'], /not a Hub repo id/],
      [['chatbot'], /not a Hub repo id/],
      [['team/a..b'], /not a Hub repo id/],
      [[], /exactly one repo/],
    ] as const) {
      const r = await dst.berth('import', 'hub', ...args, '--from', src.url);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    const noFrom = await dst.berth('import', 'hub', 'team/chatbot');
    assert.equal(noFrom.code, 2);
    assert.match(noFrom.stderr, /--from URL/);
    const badFrom = await dst.berth('import', 'hub', 'team/chatbot', '--from', 'ftp://hub.example');
    assert.equal(badFrom.code, 2);
    assert.match(badFrom.stderr, /not an http\(s\) endpoint URL/);
    const emptyRev = await dst.berth('import', 'hub', 'team/chatbot', '--from', src.url, '--revision', '');
    assert.equal(emptyRev.code, 2);
  });

  it('verifies regular files by git blob id and LFS files by sha256, and sends the token to the endpoint', async () => {
    const config = Buffer.from('{"regular": true}');
    const weights = Buffer.alloc(100_000, 3);
    const hub = await fakeHub(
      { 'config.json': { bytes: config }, 'w/model.bin': { bytes: weights, lfs: true } },
      { 'config.json': config, 'w/model.bin': weights },
      'hf_secret',
    );
    try {
      const refused = await dst.berth('import', 'hub', 'up/model', '--from', hub.url);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /refused revision "main" \(401\): give a token it accepts with --upstream-token/);
      const r = JSON.parse((await dst.ok('import', 'hub', 'up/model', '--from', hub.url, '--upstream-token', 'hf_secret', '--json')).stdout);
      assert.equal(r.upstream, `hf:up/model@${hub.commit}`);
      assert.deepEqual(
        r.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256]),
        [
          ['config.json', sha256(config)],
          ['w/model.bin', sha256(weights)],
        ],
      );
    } finally {
      await hub.close();
    }
  });

  for (const [what, served, message] of [
    [
      'an LFS file whose bytes differ from its sha256',
      { 'w/model.bin': Buffer.alloc(100_000, 4) },
      /w\/model\.bin from .* failed verification \(sha256 [0-9a-f]{64}, the LFS oid is/,
    ],
    [
      'a regular file whose bytes differ from its git blob id',
      { 'config.json': Buffer.from('{"regular": fals}') },
      /config\.json from .* failed verification \(git blob id/,
    ],
    [
      'a file shorter than the tree says',
      { 'w/model.bin': Buffer.alloc(99_999, 3) },
      /w\/model\.bin from .* failed verification \(99999 bytes, the tree says 100000\)/,
    ],
  ] as const) {
    it(`pushes nothing when ${what}`, async () => {
      const config = Buffer.from('{"regular": true}');
      const weights = Buffer.alloc(100_000, 3);
      const hub = await fakeHub(
        { 'config.json': { bytes: config }, 'w/model.bin': { bytes: weights, lfs: true } },
        Object.assign({ 'config.json': config, 'w/model.bin': weights }, served),
      );
      try {
        const r = await dst.berth('import', 'hub', 'up/model', '--from', hub.url, '--as', 'bad/model');
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /nothing was imported/);
        assert.equal((await dst.berth('show', 'bad/model')).code, 3);
      } finally {
        await hub.close();
      }
    });
  }

  it('refuses an endpoint that does not answer like a Hub, and a commit without files', async () => {
    const html = createServer((req, res) => {
      if (req.url?.endsWith('/revision/main')) res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"sha": "main"}');
    });
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
    try {
      const notJson = await dst.berth('import', 'hub', 'up/model', '--from', url);
      assert.equal(notJson.code, 1);
      assert.match(notJson.stderr, /did not answer revision "main" with JSON: is it a Hub endpoint\?/);
      const noSha = await dst.berth('import', 'hub', 'up/model', '--from', url, '--revision', 'v1');
      assert.equal(noSha.code, 1);
      assert.match(noSha.stderr, /answered revision "v1" without a 40-hex commit \(sha: "main"\)/);
    } finally {
      await new Promise((r) => html.close(r));
    }
    const empty = await fakeHub({}, {});
    try {
      const r = await dst.berth('import', 'hub', 'up/model', '--from', empty.url, '--as', 'bad/empty');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /hf:up\/model@c{40} has no files: nothing to import/);
      assert.equal((await dst.berth('show', 'bad/empty')).code, 3);
    } finally {
      await empty.close();
    }
  });

  for (const [path, message] of [
    ['../etc/passwd', /invalid file path "\.\.\/etc\/passwd"/],
    ['.git/config', /lists "\.git\/config", a version control or berth file a version cannot hold/],
  ] as const) {
    it(`refuses an upstream tree listing ${path}, before downloading anything`, async () => {
      const hub = await fakeHub({ [path]: { bytes: Buffer.from('x') } }, { [path]: Buffer.from('x') });
      try {
        const r = await dst.berth('import', 'hub', 'up/model', '--from', hub.url, '--as', 'bad/path');
        assert.equal(r.code, 2);
        assert.match(r.stderr, message);
        assert.ok(!hub.requests.some((u) => u.includes('/resolve/')));
        assert.equal((await dst.berth('show', 'bad/path')).code, 3);
      } finally {
        await hub.close();
      }
    });
  }
});
