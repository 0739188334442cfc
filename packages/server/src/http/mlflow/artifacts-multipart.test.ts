import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, utimes } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.js';
import { openTestApp } from '../../../test-support/app.js';
import { Registry } from '../../registry/registry.js';
import { DEFAULT_REGISTRY_CONFIG } from '../../registry/deps.js';

const A = '/api/2.0/mlflow-artifacts';

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('MLflow artifact proxy: multipart upload over HTTP', () => {
  let app: FastifyInstance;
  let closeApp: () => Promise<void>;
  let reg: Registry;
  let dir: string;
  let base: string;
  let clockOffset = 0;
  const staged = () => readdir(join(dir, 'blobs', 'multipart')).catch(() => [] as string[]);

  /** POST JSON; the path goes out as written (fetch would resolve `..` segments first). */
  function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, any> }> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: new URL(base).port,
          path: `${A}${path}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, any>) : {} });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A part PUT as MLflow's client sends it: raw bytes, no Content-Type, to the URL it was given. */
  async function putPart(url: string, bytes: Buffer, headers: Record<string, string> = {}) {
    const res = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes), headers });
    const text = await res.text();
    return { status: res.status, etag: res.headers.get('etag'), body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }

  async function create(dirPath: string, localFile: string, numParts: number) {
    const r = await post(`/mpu/create/${dirPath}`, { path: localFile, num_parts: numParts });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { upload_id: string; credentials: { url: string; part_number: number; headers?: Record<string, string> }[] };
  }

  before(async () => {
    const t = await openTestApp('berth-mpu-', { clock: { now: () => Date.now() + clockOffset } });
    ({ app, dir } = t);
    reg = t.registry;
    closeApp = t.close;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  after(async () => closeApp?.());

  it('assembles parts sent in parallel and out of order into the same artifact a single PUT makes', async () => {
    const MiB = 1024 * 1024;
    const file = randomBytes(2 * MiB + 4321);
    const chunks = [file.subarray(0, MiB), file.subarray(MiB, 2 * MiB), file.subarray(2 * MiB)];
    const up = await create('1/run1/artifacts/model', '/home/me/ckpt/weights.bin', 3);
    assert.match(up.upload_id, /^[0-9a-f]{40}$/);
    assert.deepEqual(
      up.credentials.map((c) => [c.part_number, c.url]),
      [1, 2, 3].map((n) => [n, `${base}${A}/mpu/part/${up.upload_id}/${n}`]),
    );
    // a part sent twice: the last one wins
    const first2 = await putPart(up.credentials[1]!.url, Buffer.from('a first try of part 2'));
    assert.equal(first2.status, 200);
    const sent = await Promise.all([2, 0, 1].map((i) => putPart(up.credentials[i]!.url, chunks[i]!)));
    for (const [k, i] of [2, 0, 1].entries()) {
      assert.equal(sent[k]!.status, 200);
      assert.equal(sent[k]!.etag, `"${sha(chunks[i]!)}"`);
    }
    const etags = new Map([2, 0, 1].map((i, k) => [i + 1, sent[k]!.etag]));
    const parts = [1, 2, 3].map((n) => ({ part_number: n, etag: etags.get(n), url: up.credentials[n - 1]!.url }));
    const done = await post('/mpu/complete/1/run1/artifacts/model', { path: '/home/me/ckpt/weights.bin', upload_id: up.upload_id, parts });
    assert.deepEqual([done.status, done.body], [200, {}]);

    const got = await fetch(`${base}${A}/artifacts/1/run1/artifacts/model/weights.bin`);
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(file));
    assert.equal(got.headers.get('x-berth-sha256'), sha(file));
    const list = await fetch(`${base}${A}/artifacts?path=1/run1/artifacts/model`).then((r) => r.json());
    assert.deepEqual(list, { files: [{ path: 'weights.bin', is_dir: false, file_size: file.length }] });
    // the same record a plain PUT of the whole file makes
    const plain = await fetch(`${base}${A}/artifacts/1/run1/artifacts/plain/weights.bin`, {
      method: 'PUT',
      body: new Uint8Array(file),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(plain.status, 200);
    const a = await reg.artifacts.get('1/run1/artifacts/model/weights.bin');
    const b = await reg.artifacts.get('1/run1/artifacts/plain/weights.bin');
    assert.deepEqual([a.sha256, a.size], [b.sha256, b.size]);
    // the parts are gone, and the upload with them
    assert.deepEqual(await staged(), []);
    const again = await post('/mpu/complete/1/run1/artifacts/model', { path: '/home/me/ckpt/weights.bin', upload_id: up.upload_id, parts });
    assert.deepEqual([again.status, again.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
  });

  it('names the part when an etag is wrong, a part is missing or unlisted, and keeps the upload for a retry', async () => {
    const up = await create('2/run2/artifacts', 'C:\\Users\\me\\data.bin', 2);
    // a JSON content type does not make a part JSON: parts are stored as sent
    const p1 = await putPart(up.credentials[0]!.url, Buffer.from('one'), { 'content-type': 'application/json' });
    assert.equal(p1.status, 200);
    const bad = await post('/mpu/complete/2/run2/artifacts', {
      path: 'C:\\Users\\me\\data.bin',
      upload_id: up.upload_id,
      parts: [
        { part_number: 1, etag: `"${sha(Buffer.from('other'))}"` },
        { part_number: 2, etag: p1.etag },
      ],
    });
    assert.deepEqual([bad.status, bad.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(bad.body.message, /part 1: etag .* does not match/);
    const missing = await post('/mpu/complete/2/run2/artifacts', {
      path: 'C:\\Users\\me\\data.bin',
      upload_id: up.upload_id,
      parts: [
        { part_number: 1, etag: p1.etag },
        { part_number: 2, etag: p1.etag },
      ],
    });
    assert.deepEqual([missing.status, missing.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(missing.body.message, /part 2 was not uploaded/);
    const p2 = await putPart(up.credentials[1]!.url, Buffer.from('two'));
    const unlisted = await post('/mpu/complete/2/run2/artifacts', {
      path: 'C:\\Users\\me\\data.bin',
      upload_id: up.upload_id,
      parts: [{ part_number: 2, etag: p2.etag }],
    });
    assert.deepEqual([unlisted.status, unlisted.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(unlisted.body.message, /part 1 of 2 is not listed/);
    const garbled = await post('/mpu/complete/2/run2/artifacts', {
      path: 'C:\\Users\\me\\data.bin',
      upload_id: up.upload_id,
      parts: [
        { part_number: 1, etag: 'nonsense' },
        { part_number: 2, etag: p2.etag },
      ],
    });
    assert.deepEqual([garbled.status, garbled.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(garbled.body.message, /part 1: etag "nonsense"/);
    const elsewhere = await post('/mpu/complete/2/run2/other', {
      path: 'C:\\Users\\me\\data.bin',
      upload_id: up.upload_id,
      parts: [
        { part_number: 1, etag: p1.etag },
        { part_number: 2, etag: p2.etag },
      ],
    });
    assert.deepEqual([elsewhere.status, elsewhere.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    // nothing was recorded by the refusals; the right list completes (a Windows path's base name is the file name)
    assert.deepEqual(await fetch(`${base}${A}/artifacts?path=2/run2/artifacts`).then((r) => r.json()), {});
    const ok = await post('/mpu/complete/2/run2/artifacts', {
      path: 'C:\\Users\\me\\data.bin',
      upload_id: up.upload_id,
      parts: [
        { part_number: 1, etag: p1.etag },
        { part_number: 2, etag: p2.etag },
      ],
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(await fetch(`${base}${A}/artifacts/2/run2/artifacts/data.bin`).then((r) => r.text()), 'onetwo');
  });

  it('aborts an upload, deleting its parts; an unknown upload id is a 404 everywhere', async () => {
    const up = await create('3/run3/artifacts', '/tmp/x.bin', 2);
    assert.equal((await putPart(up.credentials[0]!.url, Buffer.from('x'))).status, 200);
    assert.deepEqual(await staged(), [up.upload_id]);
    const ab = await post('/mpu/abort/3/run3/artifacts', { path: '/tmp/x.bin', upload_id: up.upload_id });
    assert.deepEqual([ab.status, ab.body], [200, {}]);
    assert.deepEqual(await staged(), []);
    const unknown = [
      await putPart(up.credentials[1]!.url, Buffer.from('late')),
      await putPart(`${base}${A}/mpu/part/${'0'.repeat(40)}/1`, Buffer.from('x')),
      await putPart(`${base}${A}/mpu/part/..%2F..%2Fsha256/1`, Buffer.from('x')),
      await post('/mpu/abort/3/run3/artifacts', { path: '/tmp/x.bin', upload_id: up.upload_id }),
      await post('/mpu/complete/3/run3/artifacts', { path: '/tmp/x.bin', upload_id: 'f'.repeat(40), parts: [] }),
    ];
    for (const r of unknown) assert.deepEqual([r.status, r.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    assert.deepEqual(await staged(), []);
  });

  it('refuses bad paths, part numbers and counts with 400, never a 5xx', async () => {
    const badCreates: [string, unknown][] = [
      ['1/../../etc', { path: '/tmp/f.bin', num_parts: 1 }],
      ['1/a%5Cb', { path: '/tmp/f.bin', num_parts: 1 }],
      ['/etc', { path: '/tmp/f.bin', num_parts: 1 }],
      ['1/a%00b', { path: '/tmp/f.bin', num_parts: 1 }],
      ['_berth/manifests/x', { path: '/tmp/f.bin', num_parts: 1 }],
      ['1/run', { path: '/tmp/..', num_parts: 1 }],
      ['1/run', { path: 'f\u0000.bin', num_parts: 1 }],
      ['1/run', { num_parts: 1 }],
      ['1/run', { path: '/tmp/f.bin' }],
      ['1/run', { path: '/tmp/f.bin', num_parts: -1 }],
      ['1/run', { path: '/tmp/f.bin', num_parts: 'many' }],
      ['1/run', { path: '/tmp/f.bin', num_parts: 10_001 }],
    ];
    for (const [p, body] of badCreates) {
      const r = await post(`/mpu/create/${p}`, body);
      assert.deepEqual([r.status, r.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], `${p} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    }
    const garbage = await fetch(`${base}${A}/mpu/create/1/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(garbage.status, 400);
    const up = await create('4/run4/artifacts', '/tmp/f.bin', 2);
    for (const n of ['0', '3', 'abc', '1e3']) {
      const r = await putPart(`${base}${A}/mpu/part/${up.upload_id}/${n}`, Buffer.from('x'));
      assert.deepEqual([r.status, r.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], n);
    }
    for (const p of ['4/run4/../x', '4/run4%5Cartifacts']) {
      const r = await post(`/mpu/complete/${p}`, { path: '/tmp/f.bin', upload_id: up.upload_id, parts: [] });
      assert.deepEqual([r.status, r.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], p);
    }
    const noParts = await post('/mpu/complete/4/run4/artifacts', { path: '/tmp/f.bin', upload_id: up.upload_id });
    assert.deepEqual([noParts.status, noParts.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const noId = await post('/mpu/abort/4/run4/artifacts', { path: '/tmp/f.bin' });
    assert.deepEqual([noId.status, noId.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.equal((await post('/mpu/abort/4/run4/artifacts', { path: '/tmp/f.bin', upload_id: up.upload_id })).status, 200);
  });

  it('answers the presigned-download probe with 404 ENDPOINT_NOT_FOUND, on which the client downloads through the proxy', async () => {
    const r = await fetch(`${base}${A}/presigned/1/run1/artifacts/model/weights.bin`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { error_code: string }).error_code, 'ENDPOINT_NOT_FOUND');
  });

  it('removes uploads untouched for a day, at start-up and when a new upload is created', async () => {
    const old = await create('5/run5/artifacts', '/tmp/old.bin', 1);
    const fresh = await create('5/run5/artifacts', '/tmp/fresh.bin', 1);
    await putPart(fresh.credentials[0]!.url, Buffer.from('fresh'));
    const dayAgo = new Date(Date.now() - DEFAULT_REGISTRY_CONFIG.uploadTtlMs - 60_000);
    await utimes(join(dir, 'blobs', 'multipart', old.upload_id), dayAgo, dayAgo);
    clockOffset += 120_000; // past the pause between two sweeps
    const trigger = await create('5/run5/artifacts', '/tmp/new.bin', 1);
    assert.deepEqual((await staged()).sort(), [fresh.upload_id, trigger.upload_id].sort());
    const lost = await putPart(old.credentials[0]!.url, Buffer.from('too late'));
    assert.equal(lost.status, 404);

    // start-up: a new app over the same data sweeps before it serves
    await utimes(join(dir, 'blobs', 'multipart', trigger.upload_id), dayAgo, dayAgo);
    const app2 = await buildApp({ registry: new Registry(reg.deps) });
    await app2.ready();
    await app2.close();
    assert.deepEqual(await staged(), [fresh.upload_id]);
  });
});
