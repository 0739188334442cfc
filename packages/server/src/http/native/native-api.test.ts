import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { openTestApp } from '../../../test-support/app.js';
import type { Store } from '../../store/store.js';
import type { FsBlobStore } from '../../blobs/fs-blob-store.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('native API', () => {
  let app: FastifyInstance;
  let closeApp: () => Promise<void>;
  let store: Store;
  let blobs: FsBlobStore;
  let dir: string;

  async function putBlob(content: string | Buffer) {
    const res = await app.inject({
      method: 'PUT',
      url: `/api/v1/blobs/${sha(content)}`,
      payload: Buffer.from(content),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
    return { sha256: sha(content), size: Buffer.byteLength(content) };
  }

  async function push(name: string, files: Record<string, string>) {
    const manifest = [];
    for (const [path, content] of Object.entries(files)) manifest.push({ path, ...(await putBlob(content)) });
    const res = await app.inject({ method: 'POST', url: `/api/v1/models/${encodeURIComponent(name)}/versions`, payload: { files: manifest } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  }

  async function counts() {
    const n = async (t: 'models' | 'versions' | 'aliases' | 'audit_events') =>
      Number(
        (
          await store.db
            .selectFrom(t)
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { models: await n('models'), versions: await n('versions'), aliases: await n('aliases'), audit: await n('audit_events') };
  }

  /** Bad input gets a 4xx with a message and changes nothing. */
  async function refused(opts: InjectOptions, status: number, code: string, match?: RegExp) {
    const before = await counts();
    const res = await app.inject(opts);
    assert.equal(res.statusCode, status, res.body);
    const body = res.json();
    assert.equal(body.error.code, code);
    assert.ok(body.error.message.length > 10);
    if (match) assert.match(body.error.message, match);
    assert.deepEqual(await counts(), before, 'nothing changed');
    return body;
  }

  before(async () => {
    const t = await openTestApp('berth-api-', { bodyLimit: 64 * 1024 });
    ({ app, store, blobs, dir } = t);
    closeApp = t.close;
    await push('chatbot', { 'weights.bin': 'v1', 'config.json': '{"a":1}' });
    await push('chatbot', { 'weights.bin': 'v2', 'config.json': '{"a":1}' });
  });
  after(async () => closeApp?.());

  it('answers /healthz', async () => {
    const res = await app.inject('/healthz');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('serves an OpenAPI document describing the routes', async () => {
    const doc = (await app.inject('/api/v1/openapi.json')).json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/models/{name}/aliases/{alias}'].put.requestBody);
    assert.ok(doc.paths['/api/v1/models/{name}/versions'].post);
  });

  it('reports only the missing blobs when an upload opens', async () => {
    const known = sha('v1');
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      payload: {
        files: [
          { path: 'a', size: 2, sha256: known },
          { path: 'b', size: 3, sha256: sha('new') },
        ],
      },
    });
    assert.equal(res.statusCode, 201);
    assert.deepEqual(res.json().missing, [sha('new')]);
  });

  it('resolves an alias, a version and a digest, with aliases on every version', async () => {
    let res = await app.inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/champion', payload: { version: 2, reason: 'first' } });
    assert.equal(res.statusCode, 200, res.body);
    res = await app.inject('/api/v1/models/chatbot/aliases/champion');
    assert.equal(res.json().version, 2);
    assert.deepEqual(res.json().aliases, ['champion']);
    const digest = res.json().digest;
    res = await app.inject(`/api/v1/resolve?ref=${encodeURIComponent(`chatbot@${digest}`)}`);
    assert.equal(res.json().version, 2);
    assert.equal(res.json().files.length, 2);
    res = await app.inject('/api/v1/resolve?ref=models:/chatbot/1');
    assert.equal(res.json().version, 1);
    res = await app.inject('/api/v1/models/chatbot/versions');
    assert.deepEqual(
      res.json().items.map((v: { aliases: string[] }) => v.aliases),
      [['champion'], []],
    );
  });

  it('downloads a file whole and by Range', async () => {
    let res = await app.inject('/api/v1/models/chatbot/versions/1/files/config.json');
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '{"a":1}');
    assert.equal(res.headers['x-berth-sha256'], sha('{"a":1}'));
    res = await app.inject({ url: '/api/v1/models/chatbot/versions/1/files/config.json', headers: { range: 'bytes=1-3' } });
    assert.equal(res.statusCode, 206);
    assert.equal(res.body, '"a"');
    assert.equal(res.headers['content-range'], 'bytes 1-3/7');
    res = await app.inject({ url: '/api/v1/models/chatbot/versions/1/files/config.json', headers: { range: 'bytes=50-' } });
    assert.equal(res.statusCode, 416);
    res = await app.inject(`/api/v1/blobs/${sha('v1')}`);
    assert.equal(res.body, 'v1');
  });

  it('commits a small version in one request, its files inline, and says which bytes were new', async () => {
    const files = { 'config.json': '{"r": 16}', 'prompt.txt': 'You are helpful.', 'copy.txt': 'You are helpful.' };
    const manifest = Object.entries(files).map(([path, c]) => ({ path, size: Buffer.byteLength(c), sha256: sha(c) }));
    const inline = (contents: string[]) => contents.map((c) => ({ sha256: sha(c), base64: Buffer.from(c).toString('base64') }));
    const url = '/api/v1/models/inline-bundle/versions';
    const first = await app.inject({ method: 'POST', url, payload: { files: manifest, blobs: inline(['{"r": 16}', 'You are helpful.']) } });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['berth-stored-bytes'], String(9 + 16));
    assert.equal(first.json().version, 1);
    const file = await app.inject({ method: 'GET', url: '/api/v1/models/inline-bundle/versions/1/files/prompt.txt' });
    assert.equal(file.body, 'You are helpful.');
    const again = await app.inject({ method: 'POST', url, payload: { files: manifest, blobs: inline(['{"r": 16}', 'You are helpful.']) } });
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.headers['berth-stored-bytes'], '0', 'bytes already stored are not counted again');

    // Bad inline blobs are refused before anything is stored or created.
    const fresh = 'never stored';
    const m = [{ path: 'a.txt', size: fresh.length, sha256: sha(fresh) }];
    const body = (blobs: unknown, files: unknown = m) => ({
      method: 'POST' as const,
      url: '/api/v1/models/inline-refused/versions',
      payload: { files, blobs },
    });
    await refused(
      body([{ sha256: sha(fresh), base64: Buffer.from('other bytes!').toString('base64') }]),
      400,
      'INVALID_ARGUMENT',
      /has 12 bytes but its file declares 12|hashes to|declares/,
    );
    await refused(body([{ sha256: sha(fresh), base64: Buffer.from('never storeD').toString('base64') }]), 400, 'INVALID_ARGUMENT', /hashes to/);
    await refused(
      body([{ sha256: sha('not a file'), base64: Buffer.from('not a file').toString('base64') }]),
      400,
      'INVALID_ARGUMENT',
      /not the sha256 of any file/,
    );
    await refused(body([{ sha256: sha(fresh), base64: 'not base64!' }]), 400, 'INVALID_ARGUMENT', /base64/);
    await refused(body([{ sha256: 'xyz', base64: '' }]), 400, 'INVALID_ARGUMENT', /sha256/);
    await refused(body([{ sha256: sha(fresh), base64: Buffer.from(fresh).toString('base64'), extra: 1 }]), 400, 'INVALID_ARGUMENT');
    const big = 'x'.repeat(64 * 1024 + 1);
    const bigBody = body([{ sha256: sha(big), base64: Buffer.from(big).toString('base64') }], [{ path: 'big.bin', size: big.length, sha256: sha(big) }]);
    const res = await app.inject(bigBody);
    assert.ok(res.statusCode === 400 || res.statusCode === 413, res.body);
    await refused(
      {
        method: 'POST',
        url: '/api/v1/models/Bad%20Name!/versions',
        payload: { files: m, blobs: [{ sha256: sha(fresh), base64: Buffer.from(fresh).toString('base64') }] },
      },
      400,
      'INVALID_ARGUMENT',
    );
    assert.equal(await blobs.stat(sha(fresh)), undefined, 'no blob was stored by a refused commit');
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/models/inline-refused' })).statusCode, 404);
  });

  it('works with namespaced model names', async () => {
    await push('my-team/chatbot', { a: 'ns' });
    const res = await app.inject(`/api/v1/models/${encodeURIComponent('my-team/chatbot')}/versions/1`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().model, 'my-team/chatbot');
    assert.equal((await app.inject('/api/v1/resolve?ref=my-team/chatbot:1')).json().version, 1);
  });

  describe('resumable uploads', () => {
    const MiB = 1024 * 1024;
    /** Leaves `cut` bytes of `data` as the partial upload of `uploadId`, as a dropped connection does. */
    async function interrupted(uploadId: string, data: Buffer, cut: number): Promise<number> {
      const body = (async function* () {
        for (let at = 0; at < cut; at += MiB) yield data.subarray(at, Math.min(cut, at + MiB));
        throw new Error('connection reset');
      })();
      await assert.rejects(blobs.put(sha(data), body, { expectedSize: data.length, upload: uploadId }), /connection reset/);
      return blobs.partialSize(uploadId, sha(data));
    }
    async function openSession(data: Buffer) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/uploads', payload: { files: [{ path: 'w.bin', size: data.length, sha256: sha(data) }] } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { upload_id: string; missing: string[]; resume: { sha256: string; offset: number }[] };
    }
    const putRange = (uploadId: string | undefined, data: Buffer, body: Buffer, range?: string) =>
      app.inject({
        method: 'PUT',
        url: `/api/v1/blobs/${sha(data)}${uploadId === undefined ? '' : `?upload_id=${uploadId}`}`,
        payload: body,
        headers: { 'content-type': 'application/octet-stream', ...(range ? { 'content-range': range } : {}) },
      });
    const state = async (uploadId: string, data: Buffer) => (await app.inject(`/api/v1/uploads/${uploadId}/blobs/${sha(data)}`)).json();

    it('answers the bytes a session holds and completes the blob from them with Content-Range', async () => {
      const data = randomBytes(9 * MiB + 3);
      const first = await openSession(data);
      const held = await interrupted(first.upload_id, data, 6 * MiB);
      assert.ok(held > 0);
      assert.deepEqual(await state(first.upload_id, data), { upload_id: first.upload_id, sha256: sha(data), offset: held, stored: false });
      // a client that re-runs opens a new session, which takes the bytes over
      const again = await openSession(data);
      assert.deepEqual(again.resume, [{ sha256: sha(data), offset: held }]);
      assert.equal((await state(first.upload_id, data)).offset, 0);
      let res = await putRange(again.upload_id, data, data.subarray(held + 1), `bytes ${held + 1}-${data.length - 1}/${data.length}`);
      assert.equal(res.statusCode, 412, res.body);
      assert.equal(res.json().error.details.offset, held);
      res = await putRange(again.upload_id, data, data.subarray(held), `bytes ${held}-${data.length - 1}/${data.length}`);
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(res.json(), { sha256: sha(data), size: data.length, created: true });
      assert.deepEqual(await state(again.upload_id, data), { upload_id: again.upload_id, sha256: sha(data), offset: data.length, stored: true });
    });

    it('refuses a resumed upload whose tail is wrong, storing nothing and dropping the bytes held', async () => {
      const data = randomBytes(9 * MiB);
      const { upload_id } = await openSession(data);
      const held = await interrupted(upload_id, data, 5 * MiB);
      const tail = Buffer.from(data.subarray(held));
      tail[0] = (tail[0] ?? 0) ^ 0xff;
      const res = await putRange(upload_id, data, tail, `bytes ${held}-${data.length - 1}/${data.length}`);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.details.field, 'sha256');
      assert.equal(await blobs.stat(sha(data)), undefined, 'nothing is stored');
      assert.deepEqual(await state(upload_id, data), { upload_id, sha256: sha(data), offset: 0, stored: false });
    });

    it('refuses a Content-Range without a session, a malformed one, and sessions that are not open', async () => {
      const data = randomBytes(300 * 1024);
      const { upload_id } = await openSession(data);
      const whole = `bytes 0-${data.length - 1}/${data.length}`;
      for (const [id, range, status] of [
        [undefined, whole, 400],
        [upload_id, `bytes 0-10/${data.length}`, 400],
        [upload_id, `bytes 5-${data.length - 1}/*`, 400],
        [upload_id, 'items 0-1/2', 400],
        ['no-such-session', whole, 404],
      ] as const) {
        const res = await putRange(id, data, data, range);
        assert.equal(res.statusCode, status, `${id} ${range}: ${res.body}`);
      }
      assert.equal((await app.inject(`/api/v1/uploads/no-such-session/blobs/${sha(data)}`)).statusCode, 404);
      assert.equal((await app.inject(`/api/v1/uploads/${upload_id}/blobs/nothex`)).statusCode, 400);
      assert.equal(await blobs.stat(sha(data)), undefined);
      const res = await putRange(upload_id, data, data, whole);
      assert.equal(res.statusCode, 201, 'a range covering the whole blob is a whole upload');
    });

    it('reports stale temp files in a gc dry run, removes them in a real one, and keeps an open session partial', async () => {
      const tmp = join(dir, 'blobs', 'tmp');
      const old = new Date(Date.now() - 3 * 3600 * 1000);
      const data = randomBytes(6 * MiB);
      const { upload_id } = await openSession(data);
      const held = await interrupted(upload_id, data, 5 * MiB);
      const orphan = join(tmp, `${randomBytes(12).toString('hex')}.part`);
      await writeFile(orphan, randomBytes(1000));
      const closed = join(tmp, `${sha('closed session')}.closed-session.part`);
      await writeFile(closed, randomBytes(2000));
      for (const f of await readdir(tmp)) await utimes(join(tmp, f), old, old);
      const gc = async (dry_run: boolean) => {
        const res = await app.inject({ method: 'POST', url: '/api/v1/gc', payload: { dry_run, grace_seconds: 7200 } });
        assert.equal(res.statusCode, 200, res.body);
        return res.json();
      };
      const dry = await gc(true);
      assert.deepEqual([dry.temp_files, dry.temp_bytes, dry.temp_files_removed], [2, 3000, 0]);
      assert.equal((await readdir(tmp)).length, 3, 'a dry run removes nothing');
      const real = await gc(false);
      assert.deepEqual([real.temp_files, real.temp_bytes, real.temp_files_removed], [2, 3000, 2]);
      assert.deepEqual(await readdir(tmp), [`${sha(data)}.${upload_id}.part`], 'the open session keeps its partial');
      assert.equal(await blobs.partialSize(upload_id, sha(data)), held);
      const res = await putRange(upload_id, data, data.subarray(held), `bytes ${held}-${data.length - 1}/${data.length}`);
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(await readdir(tmp), []);
    });
  });

  describe('bad input', () => {
    it('refuses model names outside the grammar', async () => {
      for (const name of ['-bad', '.hidden', 'a/b/c', 'x'.repeat(129), 'sp ace']) {
        await refused({ method: 'POST', url: '/api/v1/models', payload: { name } }, 400, 'INVALID_ARGUMENT', /invalid model name/);
      }
    });

    it('refuses reserved and numeric aliases', async () => {
      for (const alias of ['latest', 'LATEST', '12', 'v3', 'has space']) {
        await refused(
          { method: 'PUT', url: `/api/v1/models/chatbot/aliases/${encodeURIComponent(alias)}`, payload: { version: 1 } },
          400,
          'INVALID_ARGUMENT',
          /invalid alias/,
        );
      }
    });

    it('refuses unsafe file paths in a manifest', async () => {
      const f = { size: 2, sha256: sha('v1') };
      for (const path of ['../etc/passwd', '/abs', 'a\\b', 'a\u0000b', 'a//b', 'a/', 'x'.repeat(1025)]) {
        await refused(
          { method: 'POST', url: '/api/v1/models/chatbot/versions', payload: { files: [{ path, ...f }] } },
          400,
          'INVALID_ARGUMENT',
          /invalid file path/,
        );
        await refused({ method: 'POST', url: '/api/v1/uploads', payload: { files: [{ path, ...f }] } }, 400, 'INVALID_ARGUMENT', /invalid file path/);
      }
    });

    it('refuses version paths with a version control folder or a name the pulling client keeps for itself, and creates nothing', async () => {
      const data = Buffer.from('[core]\n\thooksPath = /tmp/evil\n');
      const f = { size: data.length, sha256: sha(data) };
      const blobs = [{ sha256: f.sha256, base64: data.toString('base64') }];
      const cases: [string, RegExp][] = [
        ['.git/config', /"\.git\/config": '\.git' is a version control folder/],
        ['weights/.Git/hooks/post-checkout', /version control folder/],
        ['.hg/hgrc', /version control folder/],
        ['.berth-partial/x', /reserved for the files berth pull keeps/],
        ['--checkpoint-action=exec=sh x', /read as an option/],
      ];
      for (const [path, why] of cases) {
        await refused({ method: 'POST', url: '/api/v1/models/vcs-folder/versions', payload: { files: [{ path, ...f }], blobs } }, 400, 'INVALID_ARGUMENT', why);
        await refused({ method: 'POST', url: '/api/v1/uploads', payload: { files: [{ path, ...f }] } }, 400, 'INVALID_ARGUMENT', why);
      }
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/models/vcs-folder' })).statusCode, 404);
      assert.equal((await app.inject({ method: 'HEAD', url: `/api/v1/blobs/${f.sha256}` })).statusCode, 404, 'inline bytes of a refused commit are not stored');
    });

    it('refuses a blob whose bytes do not match its sha256 and keeps nothing', async () => {
      const claimed = sha('something else');
      await refused(
        { method: 'PUT', url: `/api/v1/blobs/${claimed}`, payload: Buffer.from('actual bytes'), headers: { 'content-type': 'application/octet-stream' } },
        400,
        'INVALID_ARGUMENT',
      );
      assert.equal((await app.inject({ method: 'HEAD', url: `/api/v1/blobs/${claimed}` })).statusCode, 404);
      assert.deepEqual(await readdir(join(dir, 'blobs', 'tmp')), []);
    });

    it('refuses a manifest that references a missing blob', async () => {
      const body = await refused(
        { method: 'POST', url: '/api/v1/models/chatbot/versions', payload: { files: [{ path: 'x', size: 1, sha256: sha('never uploaded') }] } },
        412,
        'FAILED_PRECONDITION',
      );
      assert.deepEqual(body.error.details.missing, [sha('never uploaded')]);
    });

    it('refuses a body over the configured limit', async () => {
      await refused({ method: 'POST', url: '/api/v1/models', payload: { name: 'big', description: 'x'.repeat(100_000) } }, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('refuses a stale --expect with the current value', async () => {
      await app.inject({ method: 'PUT', url: '/api/v1/models/chatbot/aliases/staging', payload: { version: 2 } });
      const body = await refused(
        { method: 'PUT', url: '/api/v1/models/chatbot/aliases/staging', payload: { version: 1, expect: 1 } },
        409,
        'CONFLICT',
        /staging is at 2 now/,
      );
      assert.equal(body.error.details.current, 2);
    });

    it('refuses to delete a version an alias points at without force', async () => {
      await refused({ method: 'DELETE', url: '/api/v1/models/chatbot/versions/2' }, 412, 'FAILED_PRECONDITION', /champion/);
    });

    it('refuses malformed JSON', async () => {
      await refused({ method: 'POST', url: '/api/v1/models', payload: '{"name": ', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_ARGUMENT');
    });

    it('rejects unknown fields and names them', async () => {
      await refused({ method: 'POST', url: '/api/v1/models', payload: { name: 'ok-name', colour: 'blue' } }, 400, 'INVALID_ARGUMENT', /unknown field "colour"/);
    });

    it('answers unknown routes and models with NOT_FOUND', async () => {
      await refused({ method: 'GET', url: '/api/v1/nope' }, 404, 'NOT_FOUND');
      await refused({ method: 'GET', url: '/api/v1/models/ghost' }, 404, 'NOT_FOUND', /ghost/);
      await refused({ method: 'GET', url: '/api/v1/resolve?ref=chatbot:99' }, 404, 'NOT_FOUND');
    });

    it('refuses bad references, times and cursors', async () => {
      await refused({ method: 'GET', url: '/api/v1/resolve?ref=chatbot:zero' }, 400, 'INVALID_ARGUMENT');
      await refused({ method: 'GET', url: '/api/v1/at?t=yesterday&ref=chatbot@champion' }, 400, 'INVALID_ARGUMENT', /ISO 8601/);
      await refused({ method: 'GET', url: '/api/v1/models?cursor=%%%' }, 400, 'INVALID_ARGUMENT');
      await refused({ method: 'GET', url: '/api/v1/models?limit=0' }, 400, 'INVALID_ARGUMENT');
    });

    it('refuses bad blob names, including traversal attempts', async () => {
      await refused({ method: 'GET', url: '/api/v1/blobs/..%2F..%2Fetc%2Fpasswd' }, 400, 'INVALID_ARGUMENT');
      await refused(
        { method: 'PUT', url: '/api/v1/blobs/ABC', payload: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } },
        400,
        'INVALID_ARGUMENT',
      );
    });
  });
});
