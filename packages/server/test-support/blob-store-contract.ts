import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BerthError, type ErrorCode } from '@berth/core';
import type { BlobStore } from '../src/blobs/blob-store.js';

/** One store under test, fresh for every test. */
export interface BlobStoreFixture {
  store: BlobStore;
  /**
   * How many leftovers of unfinished uploads the backend holds right now (temp files, open
   * multipart uploads): the suite checks that every failed put leaves none.
   */
  leftovers(): Promise<number>;
  cleanup(): Promise<void>;
}

export const MiB = 1024 * 1024;

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** `data` as a stream of uneven chunks, like a socket delivers them. */
export function chunked(data: Buffer, size = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0, i = 0; at < data.length; i++) {
        const n = Math.min(data.length - at, i % 3 === 0 ? size : size - 1000 * (i % 7));
        yield data.subarray(at, at + n);
        at += n;
      }
    })(),
    { objectMode: false },
  );
}

/** A rejection with a BerthError of `code` whose message matches `message` when given. */
export function berthError(code: ErrorCode, message?: RegExp) {
  return (err: unknown): true => {
    assert.ok(err instanceof BerthError, `expected a BerthError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** `gc()` without --expose-gc on the command line, so memory checks measure retained bytes, not garbage. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * The behaviour every BlobStore must have (CONVENTIONS "Run the same suite against every
 * implementation"): the local folder today, an S3 bucket later. `makeStore` gives a fresh,
 * empty store for each test.
 */
export function blobStoreContract(name: string, makeStore: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fx: BlobStoreFixture;
    let store: BlobStore;

    beforeEach(async () => {
      fx = await makeStore();
      store = fx.store;
    });
    afterEach(async () => fx.cleanup());

    async function listAll() {
      const out = [];
      for await (const b of store.list()) out.push(b);
      return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
    }

    /** Nothing visible under `sha256`, nothing listed, no leftovers. */
    async function assertNothingKept(sha256: string) {
      assert.equal(await store.stat(sha256), undefined, 'no blob is visible');
      assert.deepEqual(await listAll(), [], 'nothing is listed');
      assert.equal(await fx.leftovers(), 0, 'no temp file / unfinished upload is left');
    }

    describe('put and open', () => {
      it('returns the exact bytes when blobs of every size are put with or without a declared size', async () => {
        const sizes = [0, 1, 1000, 256 * 1024, 256 * 1024 + 1, 5 * MiB + 123, 8 * MiB, 9 * MiB + 4097];
        for (const size of sizes) {
          for (const declared of [true, false]) {
            const data = randomBytes(size);
            const sha = sha256Of(data);
            const res = await store.put(sha, chunked(data), declared ? { expectedSize: size } : {});
            // The empty blob is the one content that repeats (once declared, once not).
            assert.deepEqual(res, { sha256: sha, size, created: !(size === 0 && !declared) }, `size ${size}, declared ${declared}`);
            const st = await store.stat(sha);
            assert.equal(st?.size, size);
            assert.equal(st?.sha256, sha);
            const opened = await store.open(sha);
            assert.equal(opened.size, size);
            assert.equal(opened.start, 0);
            assert.equal(opened.end, size - 1);
            const back = await readAll(opened.stream);
            assert.equal(back.length, size);
            assert.ok(back.equals(data), `bytes differ for size ${size}, declared ${declared}`);
          }
        }
        assert.equal((await listAll()).length, sizes.length * 2 - 1, 'the two empty blobs are one blob');
        assert.equal(await fx.leftovers(), 0);
      });

      it('accepts an async iterable of plain Uint8Array chunks when the body is not a stream', async () => {
        const data = randomBytes(3 * MiB + 7);
        const body = (async function* () {
          for (let at = 0; at < data.length; at += 100_000) yield new Uint8Array(data.subarray(at, at + 100_000));
        })();
        const sha = sha256Of(data);
        assert.deepEqual(await store.put(sha, body), { sha256: sha, size: data.length, created: true });
        assert.ok((await readAll((await store.open(sha)).stream)).equals(data));
      });

      it('reports created:false and keeps the blob when the same bytes are put again', async () => {
        for (const size of [10, 2 * MiB]) {
          const data = randomBytes(size);
          const sha = sha256Of(data);
          assert.equal((await store.put(sha, chunked(data), { expectedSize: size })).created, true);
          assert.deepEqual(await store.put(sha, chunked(data), { expectedSize: size }), { sha256: sha, size, created: false });
          assert.deepEqual(await store.put(sha, chunked(data)), { sha256: sha, size, created: false });
          assert.ok((await readAll((await store.open(sha)).stream)).equals(data));
        }
        assert.equal(await fx.leftovers(), 0);
      });

      it('still verifies the body when the blob exists, and keeps the stored bytes when it does not match', async () => {
        for (const size of [10, 2 * MiB]) {
          const data = randomBytes(size);
          const sha = sha256Of(data);
          await store.put(sha, chunked(data));
          const wrong = Buffer.from(data);
          wrong[size - 1]! ^= 1;
          await assert.rejects(store.put(sha, chunked(wrong), { expectedSize: size }), berthError('INVALID_ARGUMENT', /sha256 mismatch/));
          await assert.rejects(store.put(sha, chunked(wrong)), berthError('INVALID_ARGUMENT', /sha256 mismatch/));
          assert.ok((await readAll((await store.open(sha)).stream)).equals(data), 'the stored blob is untouched');
        }
        assert.equal(await fx.leftovers(), 0);
      });

      it('throws NOT_FOUND when opening a blob that is absent, with or without a range', async () => {
        const sha = sha256Of(Buffer.from('never stored'));
        await assert.rejects(store.open(sha), berthError('NOT_FOUND', new RegExp(sha)));
        await assert.rejects(store.open(sha, { start: 0, end: 0 }), berthError('NOT_FOUND'));
      });
    });

    describe('putUnknown', () => {
      it('stores bytes under the sha256 it finds, and reports created:false for bytes already stored', async () => {
        for (const [size, declared] of [
          [0, true],
          [1000, true],
          [1000, false],
          [3 * MiB, true],
          [3 * MiB, false],
        ] as const) {
          const data = randomBytes(size);
          const sha = sha256Of(data);
          const opts = declared ? { expectedSize: size } : {};
          const first = await store.putUnknown(chunked(data), opts);
          assert.deepEqual(first, { sha256: sha, size, created: true }, `size ${size}, declared ${declared}`);
          assert.ok((await readAll((await store.open(sha)).stream)).equals(data));
          assert.deepEqual(await store.putUnknown(chunked(data), opts), { sha256: sha, size, created: false });
          assert.deepEqual(await store.put(sha, chunked(data), opts), { sha256: sha, size, created: false }, 'put and putUnknown share one key space');
        }
        assert.equal(await fx.leftovers(), 0);
      });

      it('applies the size checks of put and keeps nothing when they fail', async () => {
        for (const size of [1000, 3 * MiB]) {
          const data = randomBytes(size);
          await assert.rejects(store.putUnknown(chunked(data), { expectedSize: size + 1 }), berthError('INVALID_ARGUMENT'));
          await assert.rejects(store.putUnknown(chunked(data), { expectedSize: size - 1 }), berthError('INVALID_ARGUMENT'));
          await assert.rejects(store.putUnknown(chunked(data), { maxBytes: size - 1 }), berthError('PAYLOAD_TOO_LARGE'));
          await assert.rejects(store.putUnknown(chunked(data), { expectedSize: size, maxBytes: size - 1 }), berthError('PAYLOAD_TOO_LARGE'));
          await assertNothingKept(sha256Of(data));
        }
      });

      it('keeps nothing when the body fails midway', async () => {
        for (const declared of [undefined, 200_000, 8 * MiB]) {
          const body = (async function* () {
            yield randomBytes(150_000);
            if (declared === undefined || declared > MiB) for (let i = 0; i < 80; i++) yield randomBytes(64 * 1024);
            throw new Error('producer failed');
          })();
          await assert.rejects(store.putUnknown(body, declared === undefined ? {} : { expectedSize: declared }), /producer failed/);
          assert.deepEqual(await listAll(), []);
          assert.equal(await fx.leftovers(), 0);
        }
      });

      it('lets concurrent putUnknown calls of the same bytes all succeed with one blob', async () => {
        const data = randomBytes(2 * MiB + 3);
        const sha = sha256Of(data);
        const results = await Promise.all(Array.from({ length: 6 }, () => store.putUnknown(chunked(data))));
        for (const r of results) assert.equal(r.sha256, sha);
        assert.ok(results.some((r) => r.created));
        assert.deepEqual(
          (await listAll()).map((b) => [b.sha256, b.size]),
          [[sha, data.length]],
        );
        assert.equal(await fx.leftovers(), 0);
      });
    });

    describe('ranges', () => {
      it('serves start-only, start-end, first-byte, last-byte and whole ranges with inclusive ends', async () => {
        const data = randomBytes(3 * MiB + 5);
        const sha = sha256Of(data);
        await store.put(sha, chunked(data));
        const last = data.length - 1;
        const cases: Array<[{ start: number; end?: number }, number, number]> = [
          [{ start: 1000 }, 1000, last],
          [{ start: 10, end: 19 }, 10, 19],
          [{ start: MiB - 1, end: 2 * MiB + 1 }, MiB - 1, 2 * MiB + 1],
          [{ start: 0, end: 0 }, 0, 0],
          [{ start: last }, last, last],
          [{ start: last, end: last }, last, last],
          [{ start: 0, end: last }, 0, last],
        ];
        for (const [range, start, end] of cases) {
          const opened = await store.open(sha, range);
          assert.equal(opened.size, data.length, JSON.stringify(range));
          assert.equal(opened.start, start, JSON.stringify(range));
          assert.equal(opened.end, end, JSON.stringify(range));
          const got = await readAll(opened.stream);
          assert.ok(got.equals(data.subarray(start, end + 1)), `bytes of ${JSON.stringify(range)}`);
        }
      });

      it('refuses with INVALID_ARGUMENT a range that is outside the blob or malformed', async () => {
        const data = randomBytes(100);
        const sha = sha256Of(data);
        await store.put(sha, chunked(data));
        const bad = [
          { start: 100 },
          { start: 0, end: 100 },
          { start: 150, end: 160 },
          { start: 5, end: 4 },
          { start: -1 },
          { start: -5, end: 3 },
          { start: 1.5 },
          { start: 0, end: Number.NaN },
        ];
        for (const range of bad) await assert.rejects(store.open(sha, range), berthError('INVALID_ARGUMENT', /range/), JSON.stringify(range));
        const empty = sha256Of(Buffer.alloc(0));
        await store.put(empty, chunked(Buffer.alloc(0)));
        await assert.rejects(store.open(empty, { start: 0 }), berthError('INVALID_ARGUMENT'));
        await assert.rejects(store.open(empty, { start: 0, end: 0 }), berthError('INVALID_ARGUMENT'));
        const whole = await store.open(empty);
        assert.deepEqual([whole.size, whole.start, whole.end], [0, 0, -1]);
        assert.equal((await readAll(whole.stream)).length, 0);
      });
    });

    describe('verification', () => {
      it('rejects a hash mismatch with a message naming the expected and actual hashes and keeps nothing', async () => {
        for (const [size, opts] of [
          [100, { expectedSize: 100 }],
          [100, {}],
          [3 * MiB, { expectedSize: 3 * MiB }],
          [3 * MiB, {}],
        ] as const) {
          const data = randomBytes(size);
          const actual = sha256Of(data);
          const claimed = sha256Of(Buffer.from(`something else ${size}`));
          await assert.rejects(store.put(claimed, chunked(data), opts), (err: unknown) => {
            berthError('INVALID_ARGUMENT')(err);
            const e = err as BerthError;
            assert.ok(e.message.includes(claimed), `names the expected hash: ${e.message}`);
            assert.ok(e.message.includes(actual), `names the actual hash: ${e.message}`);
            assert.equal(e.details.expected, claimed);
            assert.equal(e.details.actual, actual);
            return true;
          });
          await assertNothingKept(claimed);
          assert.equal(await store.stat(actual), undefined, 'not kept under its real hash either');
        }
      });

      it('rejects a body shorter or longer than the declared size and keeps nothing', async () => {
        for (const size of [1000, 3 * MiB]) {
          const data = randomBytes(size);
          const sha = sha256Of(data);
          for (const expectedSize of [size + 1, size - 1, 0]) {
            await assert.rejects(
              store.put(sha, chunked(data), { expectedSize }),
              berthError('INVALID_ARGUMENT', new RegExp(`declared ${expectedSize}`)),
              `size ${size} declared ${expectedSize}`,
            );
            await assertNothingKept(sha);
          }
        }
      });

      it('rejects a body over maxBytes with PAYLOAD_TOO_LARGE, stops reading it, and keeps nothing', async () => {
        const total = 16 * MiB;
        let pulled = 0;
        const body = Readable.from(
          (function* () {
            for (let i = 0; i < total / (64 * 1024); i++) {
              pulled += 64 * 1024;
              yield Buffer.alloc(64 * 1024, i);
            }
          })(),
        );
        const sha = sha256Of(Buffer.from('whatever'));
        await assert.rejects(store.put(sha, body, { maxBytes: MiB }), berthError('PAYLOAD_TOO_LARGE', new RegExp(`${MiB} bytes`)));
        assert.ok(pulled < total / 2, `stopped reading after ${pulled} of ${total} bytes`);
        await assertNothingKept(sha);
      });

      it('refuses a declared size over maxBytes before reading the body', async () => {
        let started = false;
        const body = (async function* () {
          started = true;
          yield Buffer.alloc(10);
        })();
        const sha = sha256Of(Buffer.alloc(10));
        await assert.rejects(store.put(sha, body, { expectedSize: 10, maxBytes: 9 }), berthError('PAYLOAD_TOO_LARGE'));
        await assert.rejects(store.put(sha, body, { expectedSize: 5 * MiB, maxBytes: MiB }), berthError('PAYLOAD_TOO_LARGE'));
        assert.equal(started, false, 'the body was not read');
        await assertNothingKept(sha);
      });

      it('accepts a body of exactly maxBytes, declared or not', async () => {
        for (const [size, declared] of [
          [1000, true],
          [1000, false],
          [2 * MiB, true],
          [2 * MiB, false],
        ] as const) {
          const data = randomBytes(size);
          const sha = sha256Of(data);
          const res = await store.put(sha, chunked(data), { maxBytes: size, ...(declared ? { expectedSize: size } : {}) });
          assert.deepEqual(res, { sha256: sha, size, created: true });
        }
      });

      it('refuses a declared size or limit that is not a whole number of bytes', async () => {
        const sha = sha256Of(Buffer.alloc(1));
        for (const opts of [{ expectedSize: -1 }, { expectedSize: 1.5 }, { expectedSize: Number.NaN }, { maxBytes: -1 }]) {
          await assert.rejects(store.put(sha, chunked(Buffer.alloc(1)), opts), berthError('INVALID_ARGUMENT'), JSON.stringify(opts));
        }
        await assertNothingKept(sha);
      });
    });

    describe('failing bodies', () => {
      it('leaves no blob and no leftovers when a stream body errors midway', async () => {
        for (const declared of [undefined, 200_000, 6 * MiB]) {
          const data = randomBytes(6 * MiB);
          const sha = sha256Of(data);
          let sent = 0;
          const body = new Readable({
            read() {
              if (sent >= 5 * MiB || (declared !== undefined && declared < MiB && sent >= 100_000)) {
                this.destroy(new Error('connection reset by peer'));
                return;
              }
              this.push(data.subarray(sent, sent + 64 * 1024));
              sent += 64 * 1024;
            },
          });
          await assert.rejects(store.put(sha, body, declared === undefined ? {} : { expectedSize: declared }), /connection reset by peer/);
          await assertNothingKept(sha);
        }
      });

      it('leaves no blob and no leftovers when an async iterable body throws midway', async () => {
        for (const declared of [undefined, 100_000, 8 * MiB]) {
          const sha = sha256Of(Buffer.from('x'));
          const body = (async function* () {
            for (let i = 0; i < 100; i++) {
              if (i === (declared && declared < MiB ? 1 : 90)) throw new Error('producer failed');
              yield Buffer.alloc(64 * 1024, i);
            }
          })();
          await assert.rejects(store.put(sha, body, declared === undefined ? {} : { expectedSize: declared }), /producer failed/);
          await assertNothingKept(sha);
        }
      });

      it('leaves no blob and no leftovers when the client goes away (stream destroyed without an error)', async () => {
        for (const declared of [undefined, 200_000]) {
          const data = randomBytes(4 * MiB);
          const sha = sha256Of(data);
          let sent = 0;
          const body = new Readable({
            read() {
              if (sent >= 150_000) {
                this.destroy();
                return;
              }
              this.push(data.subarray(sent, sent + 50_000));
              sent += 50_000;
            },
          });
          await assert.rejects(store.put(sha, body, declared === undefined ? {} : { expectedSize: declared }));
          await assertNothingKept(sha);
        }
      });
    });

    describe('concurrency', () => {
      it('lets concurrent puts of the same bytes all succeed and leaves one intact blob', async () => {
        for (const [size, declared] of [
          [5000, true],
          [5000, false],
          [3 * MiB, true],
          [3 * MiB, false],
        ] as const) {
          const data = randomBytes(size);
          const sha = sha256Of(data);
          const results = await Promise.all(Array.from({ length: 8 }, () => store.put(sha, chunked(data, 32 * 1024), declared ? { expectedSize: size } : {})));
          for (const r of results) assert.deepEqual({ ...r, created: undefined }, { sha256: sha, size, created: undefined });
          assert.ok(
            results.some((r) => r.created),
            'at least one put created the blob',
          );
          assert.ok((await readAll((await store.open(sha)).stream)).equals(data));
          await store.delete(sha);
        }
        assert.deepEqual(await listAll(), []);
        assert.equal(await fx.leftovers(), 0);
      });

      it('keeps the good blob when a matching and a corrupt put of one sha256 race', async () => {
        const data = randomBytes(2 * MiB);
        const sha = sha256Of(data);
        const bad = Buffer.from(data);
        bad[12345]! ^= 0xff;
        const [good, corrupt] = await Promise.allSettled([store.put(sha, chunked(data)), store.put(sha, chunked(bad))]);
        assert.equal(good.status, 'fulfilled');
        assert.equal(corrupt.status, 'rejected');
        assert.ok((await readAll((await store.open(sha)).stream)).equals(data));
        assert.equal(await fx.leftovers(), 0);
      });
    });

    describe('keys', () => {
      const good = sha256Of(Buffer.from('k'));
      const badKeys = [
        '../x',
        '../../../../etc/passwd',
        good.toUpperCase(),
        good.slice(1),
        `${good}0`,
        `sha256:${good}`,
        `${good.slice(0, 2)}/${good.slice(3)}`,
        '',
        'g'.repeat(64),
        `${good.slice(1)}\n`,
        `/${good.slice(1)}`,
        `..${good.slice(2)}`,
      ];

      it('refuses malformed sha256 keys in every method with INVALID_ARGUMENT', async () => {
        for (const key of badKeys) {
          const label = JSON.stringify(key);
          await assert.rejects(store.stat(key), berthError('INVALID_ARGUMENT', /sha256/), `stat ${label}`);
          await assert.rejects(store.put(key, chunked(Buffer.from('k'))), berthError('INVALID_ARGUMENT', /sha256/), `put ${label}`);
          await assert.rejects(store.open(key), berthError('INVALID_ARGUMENT', /sha256/), `open ${label}`);
          await assert.rejects(store.touch(key), berthError('INVALID_ARGUMENT', /sha256/), `touch ${label}`);
          await assert.rejects(store.delete(key), berthError('INVALID_ARGUMENT', /sha256/), `delete ${label}`);
        }
        assert.deepEqual(await listAll(), []);
        assert.equal(await fx.leftovers(), 0);
      });
    });

    describe('stat, list, touch, delete', () => {
      it('agree on which blobs exist and how large they are', async () => {
        const blobs = [Buffer.from('a'), randomBytes(300_000), randomBytes(2 * MiB)].map((data) => ({ data, sha: sha256Of(data) }));
        assert.deepEqual(await listAll(), []);
        const before = Date.now();
        for (const b of blobs) await store.put(b.sha, chunked(b.data));
        const listed = await listAll();
        assert.deepEqual(
          listed.map((b) => [b.sha256, b.size]),
          blobs.map((b) => [b.sha, b.data.length]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
        );
        for (const b of listed) {
          assert.ok(b.mtimeMs >= before - 2000 && b.mtimeMs <= Date.now() + 2000, `mtime of ${b.sha256} is about now`);
          assert.deepEqual(await store.stat(b.sha256), b);
        }
        const [gone, ...kept] = blobs;
        assert.ok(gone);
        assert.equal(await store.delete(gone.sha), true);
        assert.equal(await store.delete(gone.sha), false);
        assert.equal(await store.stat(gone.sha), undefined);
        await assert.rejects(store.open(gone.sha), berthError('NOT_FOUND'));
        assert.deepEqual(
          (await listAll()).map((b) => b.sha256),
          kept.map((b) => b.sha).sort(),
        );
        assert.deepEqual(await store.put(gone.sha, chunked(gone.data)), { sha256: gone.sha, size: 1, created: true }, 'a deleted blob can be put again');
      });

      it('returns undefined from stat and does nothing on touch or delete when the blob is absent', async () => {
        const sha = sha256Of(Buffer.from('absent'));
        assert.equal(await store.stat(sha), undefined);
        await store.touch(sha);
        assert.equal(await store.stat(sha), undefined, 'touch does not create');
        assert.equal(await store.delete(sha), false);
        assert.deepEqual(await listAll(), []);
      });

      it('moves mtime forward when a blob is touched', async () => {
        const data = Buffer.from('touch me');
        const sha = sha256Of(data);
        await store.put(sha, chunked(data));
        const first = (await store.stat(sha))!;
        await new Promise((r) => setTimeout(r, 30));
        const touchedAt = Date.now();
        await store.touch(sha);
        const second = (await store.stat(sha))!;
        assert.ok(second.mtimeMs >= first.mtimeMs, 'not earlier');
        assert.ok(second.mtimeMs >= touchedAt - 2000, `about the time of the touch (${second.mtimeMs} vs ${touchedAt})`);
        assert.equal(second.size, data.length);
      });

      it('lets a consumer stop listing early', async () => {
        for (let i = 0; i < 5; i++) {
          const d = Buffer.from(`blob ${i}`);
          await store.put(sha256Of(d), chunked(d));
        }
        let seen = 0;
        for await (const _ of store.list()) {
          if (++seen === 2) break;
        }
        assert.equal(seen, 2);
        assert.equal((await listAll()).length, 5);
      });
    });

    describe('cleanTemp', () => {
      it('removes nothing from a healthy store', async () => {
        const data = randomBytes(1000);
        const sha = sha256Of(data);
        await store.put(sha, chunked(data));
        assert.equal((await store.cleanTemp(0)).files, 0);
        assert.ok((await readAll((await store.open(sha)).stream)).equals(data));
      });

      it('never breaks an upload that is still running', async () => {
        const first = randomBytes(5 * MiB);
        const rest = randomBytes(MiB);
        const all = Buffer.concat([first, rest]);
        const sha = sha256Of(all);
        const gate = deferred();
        const reached = deferred();
        const body = (async function* () {
          yield first;
          reached.resolve();
          await gate.promise;
          yield rest;
        })();
        const pending = store.put(sha, body);
        await reached.promise;
        await new Promise((r) => setTimeout(r, 50));
        assert.equal((await store.cleanTemp(0)).files, 0, 'the running upload is not a leftover');
        gate.resolve();
        assert.deepEqual(await pending, { sha256: sha, size: all.length, created: true });
        assert.ok((await readAll((await store.open(sha)).stream)).equals(all));
      });

      it('refuses a negative or non-numeric age', async () => {
        await assert.rejects(store.cleanTemp(-1), berthError('INVALID_ARGUMENT'));
        await assert.rejects(store.cleanTemp(Number.NaN), berthError('INVALID_ARGUMENT'));
      });
    });

    describe('resumable uploads', () => {
      /** A body that sends `data` up to `cut` bytes and then fails, as a dropped connection does. */
      function cutOff(data: Buffer, cut: number): AsyncIterable<Uint8Array> {
        return (async function* () {
          for (let at = 0; at < cut; at += 256 * 1024) yield data.subarray(at, Math.min(cut, at + 256 * 1024));
          throw new Error('connection reset');
        })();
      }

      // 6 MiB is written through the page cache, 9 MiB with O_DIRECT where the file system allows.
      for (const size of [6 * MiB + 5, 9 * MiB + 4097]) {
        it(`keeps the bytes of a cut-off put and completes the blob from them (${size} bytes)`, async () => {
          const data = randomBytes(size);
          const sha = sha256Of(data);
          await assert.rejects(store.put(sha, cutOff(data, 5 * MiB), { expectedSize: size, upload: 'session-1' }), /connection reset/);
          assert.equal(await store.stat(sha), undefined, 'no blob is visible');
          const held = await store.partialSize('session-1', sha);
          assert.ok(held > 0 && held <= 5 * MiB, `holds ${held} bytes of the 5 MiB sent`);
          assert.equal(await store.partialSize('session-2', sha), 0, 'another session holds nothing');
          const res = await store.put(sha, chunked(data.subarray(held)), { expectedSize: size, upload: 'session-1', offset: held });
          assert.deepEqual(res, { sha256: sha, size, created: true });
          assert.ok((await readAll((await store.open(sha)).stream)).equals(data));
          assert.equal(await store.partialSize('session-1', sha), 0);
          assert.equal(await fx.leftovers(), 0);
        });
      }

      it('refuses a resumed put whose tail does not match, stores nothing and drops the bytes held', async () => {
        const data = randomBytes(9 * MiB);
        const sha = sha256Of(data);
        await assert.rejects(store.put(sha, cutOff(data, 5 * MiB), { expectedSize: data.length, upload: 'u1' }));
        const held = await store.partialSize('u1', sha);
        assert.ok(held > 0);
        const tail = Buffer.from(data.subarray(held));
        tail[tail.length - 1] = (tail.at(-1) ?? 0) ^ 1;
        await assert.rejects(
          store.put(sha, chunked(tail), { expectedSize: data.length, upload: 'u1', offset: held }),
          berthError('INVALID_ARGUMENT', /sha256 mismatch/),
        );
        assert.equal(await store.partialSize('u1', sha), 0, 'a resume that failed verification starts over');
        await assertNothingKept(sha);
      });

      it('refuses to resume from any offset but the bytes held, naming them, and keeps the partial', async () => {
        const data = randomBytes(6 * MiB);
        const sha = sha256Of(data);
        await assert.rejects(store.put(sha, cutOff(data, 5 * MiB), { expectedSize: data.length, upload: 'u1' }));
        const held = await store.partialSize('u1', sha);
        for (const offset of [held + 1, held - 1]) {
          await assert.rejects(
            store.put(sha, chunked(data.subarray(offset)), { expectedSize: data.length, upload: 'u1', offset }),
            (err: unknown) => berthError('FAILED_PRECONDITION')(err) && (err as { details: { offset: number } }).details.offset === held,
          );
        }
        assert.equal(await store.partialSize('u1', sha), held);
        assert.equal((await store.put(sha, chunked(data.subarray(held)), { expectedSize: data.length, upload: 'u1', offset: held })).created, true);
      });

      it('keeps nothing when a resumable put is refused rather than cut off', async () => {
        const data = randomBytes(6 * MiB);
        const sha = sha256Of(data);
        await assert.rejects(store.put(sha, chunked(data), { upload: 'u1', maxBytes: 5 * MiB }), berthError('PAYLOAD_TOO_LARGE'));
        const other = Buffer.from(data);
        other[0] = (other[0] ?? 0) ^ 1;
        await assert.rejects(store.put(sha, chunked(other), { expectedSize: data.length, upload: 'u1' }), berthError('INVALID_ARGUMENT'));
        assert.equal(await store.partialSize('u1', sha), 0);
        await assertNothingKept(sha);
      });

      it('starts a resumable put from byte 0 over what the session held', async () => {
        const data = randomBytes(6 * MiB);
        const sha = sha256Of(data);
        await assert.rejects(store.put(sha, cutOff(data, 5 * MiB), { expectedSize: data.length, upload: 'u1' }));
        assert.equal((await store.put(sha, chunked(data), { expectedSize: data.length, upload: 'u1' })).created, true);
        assert.equal(await fx.leftovers(), 0);
      });

      it('hands the largest partial of a blob to a new session that claims it', async () => {
        const a = randomBytes(9 * MiB);
        const b = randomBytes(6 * MiB);
        const [shaA, shaB] = [sha256Of(a), sha256Of(b)];
        await assert.rejects(store.put(shaA, cutOff(a, 3 * MiB), { expectedSize: a.length, upload: 'old-1' }));
        await assert.rejects(store.put(shaA, cutOff(a, 7 * MiB), { expectedSize: a.length, upload: 'old-2' }));
        await assert.rejects(store.put(shaB, cutOff(b, 5 * MiB), { expectedSize: b.length, upload: 'old-1' }));
        const largest = await store.partialSize('old-2', shaA);
        const claimed = await store.claimPartials('new', [shaA]);
        assert.deepEqual([...claimed], [[shaA, largest]], 'only the blobs asked for');
        assert.equal(await store.partialSize('old-2', shaA), 0);
        assert.ok((await store.partialSize('old-1', shaB)) > 0, 'a blob not asked for stays with its session');
        assert.deepEqual([...(await store.claimPartials('other', [sha256Of(randomBytes(8))]))], []);
        assert.equal((await store.put(shaA, chunked(a.subarray(largest)), { expectedSize: a.length, upload: 'new', offset: largest })).created, true);
        assert.ok((await readAll((await store.open(shaA)).stream)).equals(a));
      });

      it('leaves partials to the collector: kept while their session is wanted, reported in a dry run, then removed', async () => {
        const data = randomBytes(6 * MiB);
        const sha = sha256Of(data);
        await assert.rejects(store.put(sha, cutOff(data, 5 * MiB), { expectedSize: data.length, upload: 'u1' }));
        const held = await store.partialSize('u1', sha);
        assert.deepEqual(await store.cleanTemp(0), { files: 0, bytes: 0 }, 'without a session check a partial is never removed');
        const asked: string[] = [];
        const open = async (id: string) => (asked.push(id), true);
        assert.deepEqual(await store.cleanTemp(0, { keepUpload: open }), { files: 0, bytes: 0 }, 'the partial of an open session is kept');
        assert.deepEqual(asked, ['u1']);
        const closed = async () => false;
        assert.deepEqual(await store.cleanTemp(3_600_000, { keepUpload: closed }), { files: 0, bytes: 0 }, 'a fresh partial waits out the age');
        assert.deepEqual(await store.cleanTemp(0, { keepUpload: closed, dryRun: true }), { files: 1, bytes: held });
        assert.equal(await store.partialSize('u1', sha), held, 'a dry run removes nothing');
        assert.deepEqual(await store.cleanTemp(0, { keepUpload: closed }), { files: 1, bytes: held });
        assert.equal(await store.partialSize('u1', sha), 0);
        assert.equal(await fx.leftovers(), 0);
      });

      it('refuses malformed upload session ids and offsets without a session', async () => {
        const data = randomBytes(10);
        const sha = sha256Of(data);
        for (const upload of ['', '../x', 'a/b', 'x'.repeat(65), 'a.b']) {
          await assert.rejects(store.put(sha, chunked(data), { upload }), berthError('INVALID_ARGUMENT'), upload);
          await assert.rejects(store.partialSize(upload, sha), berthError('INVALID_ARGUMENT'), upload);
        }
        await assert.rejects(store.put(sha, chunked(data), { offset: 5 }), berthError('INVALID_ARGUMENT'));
        await assert.rejects(store.putUnknown(chunked(data), { upload: 'u1', offset: 5 }), berthError('INVALID_ARGUMENT'));
        await assertNothingKept(sha);
      });
    });

    describe('memory', () => {
      it('stays flat for a 64 MiB put generated by a stream and for reading it back', async () => {
        const gc = gcFunction();
        const CHUNK = 64 * 1024;
        const COUNT = (64 * MiB) / CHUNK;
        const fillChunk = (b: Buffer, i: number) => {
          b.fill(i % 251);
          b.writeUInt32LE(i, 0);
          return b;
        };
        // Fresh buffers for the body (as a socket gives them), never one big buffer. The hash is
        // computed first in one reused buffer: 64 MiB of freed chunks would stay in the
        // allocator's heap and hide any growth from rss.
        const chunkAt = (i: number) => fillChunk(Buffer.allocUnsafeSlow(CHUNK), i);
        const h = createHash('sha256');
        const scratch = Buffer.allocUnsafeSlow(CHUNK);
        for (let i = 0; i < COUNT; i++) h.update(fillChunk(scratch, i));
        const sha = h.digest('hex');

        gc();
        const base = process.memoryUsage.rss();
        let peak = base;
        const sample = (i: number) => {
          if (i % 64 === 0) gc();
          peak = Math.max(peak, process.memoryUsage.rss());
        };
        const body = Readable.from(
          (function* () {
            for (let i = 0; i < COUNT; i++) {
              sample(i);
              yield chunkAt(i);
            }
          })(),
        );
        assert.deepEqual(await store.put(sha, body, { expectedSize: 64 * MiB }), { sha256: sha, size: 64 * MiB, created: true });
        const putGrowth = peak - base;

        gc();
        const readBase = process.memoryUsage.rss();
        peak = readBase;
        const back = createHash('sha256');
        let n = 0;
        let bytes = 0;
        for await (const c of (await store.open(sha)).stream as AsyncIterable<Buffer>) {
          back.update(c);
          bytes += c.length;
          sample(n++);
        }
        const readGrowth = peak - readBase;
        assert.equal(bytes, 64 * MiB);
        assert.equal(back.digest('hex'), sha);
        assert.ok(putGrowth < 48 * MiB, `rss grew ${(putGrowth / MiB).toFixed(1)} MiB during a 64 MiB put`);
        assert.ok(readGrowth < 48 * MiB, `rss grew ${(readGrowth / MiB).toFixed(1)} MiB while reading 64 MiB`);
      });
    });
  });
}
