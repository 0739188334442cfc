import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { commitIdOf } from '@berth/core';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { FakeClock } from '../../../test-support/expect.js';
import { localActor } from '../../registry/actor.js';
import { HUB_UPLOAD_TTL_MS } from '../../registry/hub-commits.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const LFS = { 'content-type': 'application/vnd.git-lfs+json', accept: 'application/vnd.git-lfs+json' };
const NDJSON = { 'content-type': 'application/x-ndjson' };
const nd = (...lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
const header = (value: Record<string, unknown> = { summary: 'Upload' }) => ({ key: 'header', value });

/** What a Hub client does for one LFS file: batch, then PUT to the link (no credentials). */
async function uploadLfs(t: TestApp, repo: string, content: string | Buffer, headers: Record<string, string> = {}) {
  const oid = sha(content);
  const size = Buffer.byteLength(content);
  const batch = await t.app.inject({
    method: 'POST',
    url: `/${repo}.git/info/lfs/objects/batch`,
    headers: { ...LFS, ...headers },
    payload: { operation: 'upload', transfers: ['basic', 'multipart'], objects: [{ oid, size }], hash_algo: 'sha256' },
  });
  assert.equal(batch.statusCode, 200, batch.body);
  const obj = batch.json().objects[0];
  if (obj.actions) {
    const href = new URL(obj.actions.upload.href);
    const put = await t.app.inject({ method: 'PUT', url: href.pathname, payload: content });
    assert.equal(put.statusCode, 201, put.body);
  }
  return { oid, size, batch: batch.json() };
}

async function commit(t: TestApp, repo: string, body: string, rev = 'main', headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: `/api/models/${repo}/commit/${rev}`, headers: { ...NDJSON, ...headers }, payload: body });
}

describe('hub front (upload side)', () => {
  let t: TestApp;
  const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'), 1);
  const repo = 'team/uploads';

  before(async () => {
    t = await openTestApp('berth-hub-up-', { clock, guard: { allowedHosts: ['hub.test'] } });
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/repos/create',
      headers: { host: 'hub.test:7878' },
      payload: { name: 'uploads', organization: 'team', type: 'model', visibility: 'private' },
    });
    assert.equal(created.statusCode, 200, created.body);
  });
  after(() => t.close());

  const versionCount = async (name = repo) => (await t.registry.versions.list(name, {})).items.length;

  it('creates a repo with a url on the requesting host, and answers 409 when it exists', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/repos/create',
      headers: { host: 'hub.test:7878' },
      payload: { name: 'fresh', organization: 'team', private: false },
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().url, 'http://hub.test:7878/team/fresh');
    assert.equal((await t.registry.models.get('team/fresh')).name, 'team/fresh');
    const again = await t.app.inject({ method: 'POST', url: '/api/repos/create', payload: { name: 'fresh', organization: 'team' } });
    assert.equal(again.statusCode, 409);
    assert.equal(again.headers['x-error-code'], 'ALREADY_EXISTS');
    assert.match(again.json().url, /^http:\/\/localhost(:80)?\/team\/fresh$/);
  });

  it('refuses repo ids that are empty, hold .. or have three segments, on every write route', async () => {
    for (const payload of [
      { name: '..', organization: 'team' },
      { name: '', organization: 'team' },
      { name: 'x', organization: '' },
      { name: 'b/c', organization: 'team' },
      { name: 'solo', organization: null },
      { name: 'x', organization: 'team', type: 'dataset' },
    ]) {
      const r = await t.app.inject({ method: 'POST', url: '/api/repos/create', payload });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.ok(r.json().error);
    }
    const line = nd(header());
    for (const url of [
      '/api/models/..x/y/commit/main',
      '/api/models/team/..hidden/preupload/main',
      '/api/models//x/commit/main',
      '/api/models/a/b/c/commit/main',
      '/api/models/a/b/c/preupload/main',
    ]) {
      const r = await t.app.inject({ method: 'POST', url, headers: NDJSON, payload: url.includes('preupload') ? JSON.stringify({ files: [] }) : line });
      assert.ok([400, 404].includes(r.statusCode), `${url}: ${r.statusCode}`);
      assert.ok(r.headers['x-error-code'], url);
      assert.ok(r.headers['x-error-code'] !== 'RepoNotFound' || r.statusCode === 404);
    }
    for (const url of [
      '/..x/y.git/info/lfs/objects/batch',
      '/team/x/info/lfs/objects/batch',
      '/a/b/c.git/info/lfs/objects/batch',
      '/team/.git/info/lfs/objects/batch',
    ]) {
      const r = await t.app.inject({ method: 'POST', url, headers: LFS, payload: { operation: 'upload', objects: [{ oid: sha('x'), size: 1 }] } });
      assert.ok([400, 404].includes(r.statusCode), `${url}: ${r.statusCode}`);
      assert.ok(r.headers['x-error-code'], url);
    }
    assert.equal(await t.store.read.models.findByName('team/..'), undefined);
  });

  it('validates README front matter: 200 with no errors, 400 listing what does not parse', async () => {
    const ok = await t.app.inject({ method: 'POST', url: '/api/validate-yaml', payload: { content: '---\nlicense: mit\n---\n# hi\n', repoType: 'model' } });
    assert.deepEqual(ok.json(), { errors: [], warnings: [] });
    const bad = await t.app.inject({ method: 'POST', url: '/api/validate-yaml', payload: { content: '---\nlicense: [mit\n---\n', repoType: 'model' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().errors[0].message, /front matter/);
    const none = await t.app.inject({ method: 'POST', url: '/api/validate-yaml', payload: { repoType: 'model' } });
    assert.equal(none.statusCode, 400);
    assert.equal(none.json().errors.length, 1);
  });

  it('uploads an LFS object and commits it with an inline file; preupload then reports the stored oids', async () => {
    const weights = Buffer.alloc(3000, 7);
    const { oid, size } = await uploadLfs(t, repo, weights);
    const r = await commit(
      t,
      repo,
      nd(
        header({ summary: 'first upload', description: 'with weights' }),
        { key: 'file', value: { path: 'empty.txt', content: '', encoding: 'base64' } },
        { key: 'file', value: { path: 'config.json', content: b64('{"v": 1}'), encoding: 'base64' } },
        { key: 'lfsFile', value: { path: 'model.safetensors', algo: 'sha256', oid, size } },
      ),
      'main',
      { host: 'hub.test:7878' },
    );
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    const v = await t.registry.versions.get(repo, 1);
    assert.equal(body.commitOid, commitIdOf(v.digest));
    assert.equal(body.commitUrl, `http://hub.test:7878/${repo}/commit/${body.commitOid}`);
    assert.equal(body.success, true);
    assert.equal(body.hookOutput, '');
    assert.equal(v.description, 'first upload\n\nwith weights');
    const file = await t.app.inject(`/${repo}/resolve/main/model.safetensors`);
    assert.ok(Buffer.from(file.rawPayload).equals(weights));
    // An object already stored gets no upload action.
    const twice = await t.app.inject({
      method: 'POST',
      url: `/${repo}.git/info/lfs/objects/batch`,
      headers: LFS,
      payload: {
        operation: 'upload',
        objects: [
          { oid: sha('dup'), size: 3 },
          { oid: sha('dup'), size: 3 },
        ],
      },
    });
    assert.equal(twice.json().objects.length, 2);
    const clash = await t.app.inject({
      method: 'POST',
      url: `/${repo}.git/info/lfs/objects/batch`,
      headers: LFS,
      payload: {
        operation: 'upload',
        objects: [
          { oid: sha('dup'), size: 3 },
          { oid: sha('dup'), size: 4 },
        ],
      },
    });
    assert.equal(clash.statusCode, 400);
    const again = await uploadLfs(t, repo, weights);
    assert.equal(again.batch.objects[0].actions, undefined);
    assert.equal(again.batch.transfer, 'basic');

    const pre = await t.app.inject({
      method: 'POST',
      url: `/api/models/${repo}/preupload/main`,
      payload: {
        files: [
          { path: 'model.safetensors', size: 3000, sample: '' },
          { path: 'empty.txt', size: 0, sample: '' },
          { path: 'new.bin', size: 5, sample: '' },
        ],
      },
    });
    assert.deepEqual(pre.json().files, [
      { path: 'model.safetensors', uploadMode: 'lfs', shouldIgnore: false, oid },
      { path: 'empty.txt', uploadMode: 'regular', shouldIgnore: false, oid: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391' },
      { path: 'new.bin', uploadMode: 'lfs', shouldIgnore: false },
    ]);
  });

  it('adds, updates and deletes on top of the head; the old commit keeps its old bytes', async () => {
    const head = commitIdOf((await t.registry.versions.get(repo, 1)).digest);
    await t.registry.versions.create(localActor(), 'team/other', {
      files: [{ path: 'x', size: 1, sha256: sha('x') }],
      blobs: [{ sha256: sha('x'), base64: b64('x') }],
    });
    const r = await commit(
      t,
      repo,
      nd(
        header({ summary: 'second', parentCommit: head }),
        { key: 'file', value: { path: 'config.json', content: b64('{"v": 2}'), encoding: 'base64' } },
        { key: 'file', value: { path: 'extra/notes.txt', content: b64('notes'), encoding: 'base64' } },
        { key: 'deletedFile', value: { path: 'empty.txt' } },
      ),
    );
    assert.equal(r.statusCode, 200, r.body);
    const v2 = await t.registry.versions.get(repo, 2, { files: true });
    assert.deepEqual(
      v2.files?.map((f) => f.path),
      ['config.json', 'extra/notes.txt', 'model.safetensors'],
    );
    assert.equal((await t.app.inject(`/${repo}/resolve/main/config.json`)).body, '{"v": 2}');
    assert.equal((await t.app.inject(`/${repo}/resolve/${head}/config.json`)).body, '{"v": 1}');
    const del = await commit(t, repo, nd(header({ summary: 'drop extra' }), { key: 'deletedFolder', value: { path: 'extra/' } }));
    assert.equal(del.statusCode, 200, del.body);
    assert.equal((await t.app.inject(`/${repo}/resolve/main/extra/notes.txt`)).headers['x-error-code'], 'EntryNotFound');
    const audit = await t.registry.audit.list({ model: repo });
    assert.ok(audit.items.some((e) => e.action === 'version.create'));
  });

  it('answers 412 to a stale parentCommit and commits nothing', async () => {
    const before = await versionCount();
    const old = commitIdOf((await t.registry.versions.get(repo, 1)).digest);
    const r = await commit(
      t,
      repo,
      nd(header({ summary: 'late', parentCommit: old }), { key: 'file', value: { path: 'late.txt', content: b64('late'), encoding: 'base64' } }),
    );
    assert.equal(r.statusCode, 412);
    assert.match(r.json().error, /parentCommit/);
    assert.equal(await versionCount(), before);
    assert.equal(await t.blobs.stat(sha('late')), undefined);
  });

  it('refuses an lfsFile never uploaded, or declared with another size, naming it', async () => {
    const before = await versionCount();
    const ghost = sha('never uploaded');
    const r = await commit(t, repo, nd(header(), { key: 'lfsFile', value: { path: 'ghost.bin', algo: 'sha256', oid: ghost, size: 14 } }));
    assert.equal(r.statusCode, 400);
    assert.match(r.json().error, new RegExp(`ghost\\.bin.*${ghost}.*never uploaded`));
    const { oid } = await uploadLfs(t, repo, 'sized bytes');
    const wrong = await commit(t, repo, nd(header(), { key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid, size: 99 } }));
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.json().error, /w\.bin.*11 bytes, not 99/);
    assert.equal(await versionCount(), before);
  });

  it('refuses deleting a file or folder that is not there with EntryNotFound, and commits nothing', async () => {
    const before = await versionCount();
    for (const key of ['deletedFile', 'deletedFolder']) {
      const r = await commit(
        t,
        repo,
        nd(header(), { key: 'file', value: { path: 'n.txt', content: b64('n'), encoding: 'base64' } }, { key, value: { path: 'nope' } }),
      );
      assert.equal(r.statusCode, 404);
      assert.equal(r.headers['x-error-code'], 'EntryNotFound');
    }
    assert.equal(await versionCount(), before);
    assert.equal(await t.blobs.stat(sha('n')), undefined);
  });

  it('refuses an NDJSON commit malformed halfway, and paths with .., absolute or with NUL: nothing is committed or stored', async () => {
    const before = await versionCount();
    const good = { key: 'file', value: { path: 'half.txt', content: b64('half'), encoding: 'base64' } };
    for (const [bad, why] of [
      ['{"key": "file", "value": {"path": "b.txt", "cont', /line 3: not a JSON object/],
      [{ key: 'file', value: { path: '../escape.txt', content: b64('x') } }, /'\.\.'/],
      [{ key: 'file', value: { path: '/abs.txt', content: b64('x') } }, /absolute/],
      [{ key: 'deletedFile', value: { path: 'a\u0000b' } }, /NUL/],
      [{ key: 'lfsFile', value: { path: 'x.bin', oid: 'nothex' } }, /oid must be/],
    ] as const) {
      const r = await commit(t, repo, nd(header(), good, bad, { key: 'deletedFile', value: { path: 'config.json' } }));
      assert.equal(r.statusCode, 400, r.body);
      assert.match(r.json().error, why);
    }
    const big = await commit(t, repo, nd(header(), { key: 'file', value: { path: 'big.txt', content: Buffer.alloc(70 * 1024, 1).toString('base64') } }));
    assert.equal(big.statusCode, 400);
    assert.match(big.json().error, /big\.txt: 71680 bytes inline.*through LFS/);
    const notNd = await t.app.inject({ method: 'POST', url: `/api/models/${repo}/commit/main`, payload: { summary: 'json' } });
    assert.equal(notNd.statusCode, 400);
    assert.equal(await versionCount(), before);
    assert.equal(await t.blobs.stat(sha('half')), undefined);
  });

  it('refuses malformed batch, preupload, upload-link and commit requests with a 400 naming the field', async () => {
    const batch = (payload: unknown) =>
      t.app.inject({ method: 'POST', url: `/${repo}.git/info/lfs/objects/batch`, headers: LFS, payload: JSON.stringify(payload) });
    for (const [payload, why] of [
      [{ operation: 'download', objects: [{ oid: sha('x'), size: 1 }] }, /only the upload operation/],
      [{ operation: 'upload', transfers: ['xet'], objects: [{ oid: sha('x'), size: 1 }] }, /basic transfer only/],
      [{ operation: 'upload', objects: [] }, /needs `objects`/],
      [{ operation: 'upload', objects: [{ oid: 'abc', size: 1 }] }, /oid must be a sha256/],
      [{ operation: 'upload', objects: [{ oid: sha('x'), size: -1 }] }, /size must be a non-negative integer/],
      [[1], /body must be a JSON object/],
    ] as const) {
      const r = await batch(payload);
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.match(r.json().error, why);
    }
    const pre = (payload: unknown) =>
      t.app.inject({
        method: 'POST',
        url: `/api/models/${repo}/preupload/main`,
        payload: JSON.stringify(payload),
        headers: { 'content-type': 'application/json' },
      });
    assert.match((await pre({ files: 'a' })).json().error, /needs `files`/);
    assert.match((await pre({ files: [{ path: 'a', size: 'big' }] })).json().error, /size must be/);
    assert.match((await pre({ files: [{ path: '../a', size: 1 }] })).json().error, /'\.\.'/);
    const badSize = await t.app.inject({ method: 'PUT', url: `/${repo}.git/info/lfs/objects/upload/x/${sha('x')}/12abc`, payload: 'x' });
    assert.equal(badSize.statusCode, 400);
    const pr = await t.app.inject({ method: 'POST', url: `/api/models/${repo}/commit/main?create_pr=1`, headers: NDJSON, payload: nd(header()) });
    assert.equal(pr.statusCode, 400);
    assert.match(pr.json().error, /pull requests/);
    const named = await t.app.inject({ method: 'POST', url: '/api/repos/create', payload: { name: 5, organization: 'team' } });
    assert.equal(named.statusCode, 400);
  });

  it('answers RepoNotFound and RevisionNotFound on the write routes', async () => {
    const r = await commit(t, 'team/missing', nd(header()));
    assert.equal(r.headers['x-error-code'], 'RepoNotFound');
    const rev = await commit(t, repo, nd(header()), 'no-such-branch');
    assert.equal(rev.statusCode, 404);
    assert.equal(rev.headers['x-error-code'], 'RevisionNotFound');
    const pre = await t.app.inject({ method: 'POST', url: `/api/models/${repo}/preupload/nope`, payload: { files: [{ path: 'a', size: 1 }] } });
    assert.equal(pre.headers['x-error-code'], 'RevisionNotFound');
    const batch = await t.app.inject({
      method: 'POST',
      url: '/team/missing.git/info/lfs/objects/batch',
      headers: LFS,
      payload: { operation: 'upload', objects: [{ oid: sha('m'), size: 1 }] },
    });
    assert.equal(batch.headers['x-error-code'], 'RepoNotFound');
  });

  it('refuses uploaded bytes that do not match their oid or size, keeping nothing', async () => {
    const content = 'the real bytes';
    const oid = sha(content);
    const batch = await t.app.inject({
      method: 'POST',
      url: `/${repo}.git/info/lfs/objects/batch`,
      headers: LFS,
      payload: { operation: 'upload', objects: [{ oid, size: content.length }] },
    });
    const href = new URL(batch.json().objects[0].actions.upload.href).pathname;
    const forged = await t.app.inject({ method: 'PUT', url: href, payload: 'forged bytes!!' });
    assert.equal(forged.statusCode, 400);
    assert.match(forged.json().error, new RegExp(oid));
    const short = await t.app.inject({ method: 'PUT', url: href, payload: 'the real' });
    assert.equal(short.statusCode, 400);
    assert.equal(await t.blobs.stat(oid), undefined);
    const verify = await t.app.inject({ method: 'POST', url: `/${repo}.git/info/lfs/objects/verify`, headers: LFS, payload: { oid, size: content.length } });
    assert.equal(verify.statusCode, 404);
    const ok = await t.app.inject({ method: 'PUT', url: href, payload: content });
    assert.equal(ok.statusCode, 201);
    const verified = await t.app.inject({ method: 'POST', url: `/${repo}.git/info/lfs/objects/verify`, headers: LFS, payload: { oid, size: content.length } });
    assert.equal(verified.statusCode, 200);
  });

  it('refuses an upload link for another oid, or replayed after it expired', async () => {
    const a = 'object a';
    const batch = await t.app.inject({
      method: 'POST',
      url: `/${repo}.git/info/lfs/objects/batch`,
      headers: LFS,
      payload: { operation: 'upload', objects: [{ oid: sha(a), size: a.length }] },
    });
    const href = new URL(batch.json().objects[0].actions.upload.href).pathname;
    const other = 'object b';
    const swapped = href.replace(sha(a), sha(other)).replace(/\/\d+$/, `/${other.length}`);
    const r = await t.app.inject({ method: 'PUT', url: swapped, payload: other });
    assert.equal(r.statusCode, 403);
    assert.match(r.json().error, /does not cover object/);
    assert.equal(await t.blobs.stat(sha(other)), undefined);
    clock.advance(HUB_UPLOAD_TTL_MS + 1);
    const late = await t.app.inject({ method: 'PUT', url: href, payload: a });
    assert.equal(late.statusCode, 404);
    assert.match(late.json().error, /unknown or expired/);
    assert.equal(await t.blobs.stat(sha(a)), undefined);
  });

  it('commits to an alias as a branch, moving it; main follows the latest version', async () => {
    await t.registry.aliases.set(localActor(), repo, 'staging', { version: 1 });
    const at = commitIdOf((await t.registry.versions.get(repo, 1)).digest);
    const r = await commit(
      t,
      repo,
      nd(header({ summary: 'on staging', parentCommit: at }), { key: 'file', value: { path: 'staging.txt', content: b64('s'), encoding: 'base64' } }),
      'staging',
    );
    assert.equal(r.statusCode, 200, r.body);
    const staged = await t.registry.versions.resolve(`${repo}@staging`, { files: true });
    assert.equal(commitIdOf(staged.digest), r.json().commitOid);
    assert.ok(
      staged.files?.some((f) => f.path === 'config.json' && f.sha256 === sha('{"v": 1}')),
      'built on the alias head, not on main',
    );
    await t.registry.aliases.set(localActor(), repo, 'main', { version: 2 });
    const onMain = await commit(t, repo, nd(header({ summary: 'on the main alias' }), { key: 'deletedFile', value: { path: 'config.json' } }));
    assert.equal(onMain.statusCode, 200, onMain.body);
    const main = await t.registry.versions.resolve(`${repo}@main`, { files: true });
    assert.equal(commitIdOf(main.digest), onMain.json().commitOid);
    assert.equal(
      main.files?.some((f) => f.path === 'config.json'),
      false,
    );
    assert.ok(
      main.files?.some((f) => f.path === 'extra/notes.txt'),
      'built on the alias main (version 2), not on the latest version',
    );
    const history = await t.registry.aliases.history(repo, 'staging', {});
    assert.ok(history.items.some((h) => h.from_version === 1 && h.to_version === staged.version && h.reason === 'on staging'));
  });
});

describe('hub uploads with auth on', () => {
  let t: TestApp;
  let editor = '';
  let viewer = '';
  const repo = 'team/guarded';

  before(async () => {
    t = await openTestApp('berth-hub-up-auth-', { auth: true });
    const local = localActor();
    await t.registry.versions.create(local, repo, { files: [{ path: 'a.txt', size: 1, sha256: sha('a') }], blobs: [{ sha256: sha('a'), base64: b64('a') }] });
    await t.registry.aliases.set(local, repo, 'champion', { version: 1 });
    editor = (await t.registry.tokens.create(local, { name: 'hub-editor', role: 'editor' })).token;
    viewer = (await t.registry.tokens.create(local, { name: 'hub-viewer', role: 'viewer' })).token;
  });
  after(() => t.close());

  it('gives upload links only to editors, and the link works without a token', async () => {
    const payload = { operation: 'upload', objects: [{ oid: sha('zz'), size: 2 }] };
    const anonymous = await t.app.inject({ method: 'POST', url: `/${repo}.git/info/lfs/objects/batch`, headers: LFS, payload });
    assert.equal(anonymous.statusCode, 401);
    const read = await t.app.inject({
      method: 'POST',
      url: `/${repo}.git/info/lfs/objects/batch`,
      headers: { ...LFS, authorization: `Bearer ${viewer}` },
      payload,
    });
    assert.equal(read.statusCode, 403);
    const up = await uploadLfs(t, repo, 'zz', { authorization: `Bearer ${editor}` });
    assert.ok(up.batch.objects[0].actions);
    assert.equal((await t.blobs.stat(sha('zz')))?.size, 2);
    const c = await commit(t, repo, nd(header(), { key: 'lfsFile', value: { path: 'zz.bin', oid: sha('zz'), size: 2 } }), 'main', {
      authorization: `Bearer ${viewer}`,
    });
    assert.equal(c.statusCode, 403);
    const create = await t.app.inject({
      method: 'POST',
      url: '/api/repos/create',
      headers: { authorization: `Bearer ${viewer}` },
      payload: { name: 'x', organization: 'team' },
    });
    assert.equal(create.statusCode, 403);
  });

  it('applies the protected-alias rule to a commit on that alias: refused, nothing committed', async () => {
    const r = await commit(t, repo, nd(header(), { key: 'file', value: { path: 'b.txt', content: b64('b'), encoding: 'base64' } }), 'champion', {
      authorization: `Bearer ${editor}`,
    });
    assert.equal(r.statusCode, 403, r.body);
    assert.match(r.json().error, /champion/);
    assert.equal((await t.registry.versions.list(repo, {})).items.length, 1);
    assert.equal((await t.registry.versions.resolve(`${repo}@champion`)).version, 1);
  });
});
