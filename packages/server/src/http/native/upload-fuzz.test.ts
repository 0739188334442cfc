import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import fc from 'fast-check';
import { openTestApp } from '../../../test-support/app.js';
import { fuzzSettings, hostileValue, injectWithin, Nested, problemWith, shown, toJson } from '../../../test-support/fuzz.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A file of the manifest: its bytes, and what the client claims about them (often a lie). */
const claimedFile = fc.record({
  content: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  path: fc.oneof(
    fc.constantFrom('model.bin', 'a/b/c.json', 'dup.txt', '../escape', '/abs', 'a//b', '.', '', 'x'.repeat(2000), 'con', 'ü/ñ.bin'),
    fc.string({ maxLength: 30 }),
  ),
  sizeLie: fc.constantFrom('none', 'none', 'plus', 'minus', 'negative', 'huge', 'string', 'null', 'float'),
  hashLie: fc.constantFrom('none', 'none', 'other', 'upper', 'short', 'empty', 'number', 'traversal'),
});

type ClaimedFile = typeof claimedFile extends fc.Arbitrary<infer T> ? T : never;

function claimedSize(f: ClaimedFile): unknown {
  const n = f.content.length;
  return { none: n, plus: n + 1, minus: n - 1, negative: -5, huge: 2 ** 60, string: String(n), null: null, float: n + 0.5 }[f.sizeLie];
}

function claimedSha(f: ClaimedFile): unknown {
  const h = sha(f.content);
  return {
    none: h,
    other: sha(Buffer.concat([f.content, Buffer.from('x')])),
    upper: h.toUpperCase(),
    short: h.slice(0, 10),
    empty: '',
    number: 42,
    traversal: '../../x',
  }[f.hashLie];
}

/** How a blob PUT goes wrong: the body it sends, and the Content-Length it announces. */
const putWay = fc.constantFrom('whole', 'whole', 'truncated', 'extra', 'empty', 'length-short', 'length-long', 'length-garbage', 'wrong-type');

function putRequest(f: ClaimedFile, way: string): InjectOptions {
  const target = typeof claimedSha(f) === 'string' && way !== 'whole' ? String(claimedSha(f)) : sha(f.content);
  const body =
    way === 'truncated'
      ? f.content.subarray(0, Math.floor(f.content.length / 2))
      : way === 'extra'
        ? Buffer.concat([f.content, Buffer.from('!')])
        : way === 'empty'
          ? Buffer.alloc(0)
          : f.content;
  const headers: Record<string, string> = { 'content-type': way === 'wrong-type' ? 'application/json' : 'application/octet-stream' };
  if (way === 'length-short') headers['content-length'] = String(Math.max(0, body.length - 1));
  if (way === 'length-long') headers['content-length'] = String(body.length + 10);
  if (way === 'length-garbage') headers['content-length'] = '12abc';
  return { method: 'PUT', url: `/api/v1/blobs/${encodeURIComponent(target)}`, headers, payload: body };
}

describe('upload protocol under fuzzing', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;

  before(async () => {
    const t = await openTestApp('berth-upload-fuzz-');
    app = t.app;
    close = t.close;
  });
  after(async () => close?.());

  it('answers open upload, blob PUTs and commit with < 500, in time and in Berth error shape', async () => {
    const { seed, numRuns } = fuzzSettings(150);
    let examples = 0;
    let requests = 0;
    let fiveHundreds = 0;
    let committed = 0;
    const send = async (req: InjectOptions) => {
      requests++;
      const res = await injectWithin(app, req);
      if (res.statusCode >= 500) fiveHundreds++;
      const problem = problemWith(res, 'native');
      assert.equal(problem, undefined, `${req.method} ${shown(req.url)} ${shown(req.payload ?? '')} → ${problem}: ${shown(res.body)}`);
      return res;
    };
    const json = (method: InjectOptions['method'], url: string, body: unknown): InjectOptions => ({
      method,
      url,
      headers: { 'content-type': 'application/json' },
      payload: toJson(body),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(claimedFile, { minLength: 1, maxLength: 4 }),
        fc.array(putWay, { minLength: 4, maxLength: 4 }),
        fc.constantFrom('fuzz-model', 'fuzz-model', 'Bad Name', '', 'x'.repeat(300), '..', '🦄'),
        fc.dictionary(
          fc.constantFrom('metadata', 'kind', 'description', 'upload_id', 'source', 'run_id', 'dependencies', 'blobs', 'tags', 'unknown'),
          fc.oneof(
            hostileValue(['fuzz-model', 'model', '1']),
            // A map (what metadata and tags are) holding one value nested thousands deep.
            fc.tuple(fc.integer({ min: 100, max: 6000 }), fc.boolean()).map(([d, a]) => ({ deep: new Nested(d, a) })),
          ),
          { maxKeys: 2 },
        ),
        fc.boolean(),
        async (files, ways, model, extra, honest) => {
          examples++;
          // Half the examples send true files, so the commit path and its checks are reached too;
          // their other fields (metadata, dependencies, ...) stay as hostile as in the rest.
          if (honest) {
            files = files.map((f, i) => ({ ...f, path: `file-${i}.bin`, sizeLie: 'none', hashLie: 'none' }));
            ways = ways.map(() => 'whole');
            model = 'fuzz-model';
          }
          const manifest = files.map((f) => ({ path: f.path, size: claimedSize(f), sha256: claimedSha(f) }));
          const opened = await send(json('POST', '/api/v1/uploads', { files: manifest }));
          for (const [i, f] of files.entries()) await send(putRequest(f, ways[i] ?? 'whole'));
          const uploadId = opened.statusCode === 201 ? (opened.json() as { upload_id: string }).upload_id : undefined;
          const commit = await send(
            json('POST', `/api/v1/models/${encodeURIComponent(model)}/versions`, { files: manifest, ...(uploadId ? { upload_id: uploadId } : {}), ...extra }),
          );
          if (commit.statusCode !== 201) return;
          committed++;
          // A committed version must hold exactly the bytes it lists.
          const version = commit.json() as { version: number; files: { path: string; sha256: string; size: number }[] };
          for (const f of version.files) {
            const blob = await send({ method: 'GET', url: `/api/v1/blobs/${f.sha256}` });
            assert.equal(blob.statusCode, 200, `version ${version.version} lists ${f.path} whose blob is missing`);
            assert.equal(sha(blob.rawPayload), f.sha256);
            assert.equal(blob.rawPayload.length, f.size);
          }
        },
      ),
      { seed, numRuns, endOnFailure: true, includeErrorInReport: true },
    );
    console.log(`upload fuzz: ${examples} examples, ${requests} requests (seed ${seed}), ${committed} commits accepted, ${fiveHundreds} responses >= 500`);
    assert.ok(committed > 0, 'no fuzzed upload ever committed: the generator lies too much to reach the commit path');
  });
});
