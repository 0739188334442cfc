import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { PartStaging } from './part-staging.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('PartStaging', () => {
  let root: string;
  let staging: PartStaging;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-parts-'));
    staging = new PartStaging(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('keeps exactly one copy of a part sent several times at once, the last to finish', async () => {
    const id = 'a'.repeat(40);
    await staging.create(id, { any: 'thing' });
    const slow = new PassThrough();
    const first = staging.writePart(id, 1, slow, { maxBytes: 100 });
    slow.write('slow ');
    const second = await staging.writePart(id, 1, Readable.from([Buffer.from('fast')]), { maxBytes: 100 });
    assert.equal(second.sha256, sha('fast'));
    slow.end('copy');
    assert.equal((await first).sha256, sha('slow copy'));
    const parts = await staging.parts(id);
    assert.deepEqual([...parts.values()], [{ partNumber: 1, sha256: sha('slow copy'), size: 9 }]);
    assert.deepEqual((await readdir(join(root, id))).sort(), [`1.${sha('slow copy')}`, 'session.json']);
    assert.deepEqual(await staging.meta(id), { any: 'thing' });
  });

  it('refuses a part whose session is removed while it streams, keeping nothing', async () => {
    const id = 'b'.repeat(40);
    await staging.create(id, {});
    const body = new PassThrough();
    const writing = staging.writePart(id, 1, body, { maxBytes: 100 });
    body.write('half');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await staging.remove(id), true);
    body.end(' and the rest');
    await assert.rejects(writing, { code: 'NOT_FOUND' });
    assert.deepEqual(await readdir(root).then((n) => n.filter((x) => x === id)), []);
  });

  it('refuses a part over the size limit or shorter than declared, keeping nothing', async () => {
    const id = 'c'.repeat(40);
    await staging.create(id, {});
    await assert.rejects(staging.writePart(id, 1, Readable.from([Buffer.alloc(11)]), { maxBytes: 10 }), { code: 'PAYLOAD_TOO_LARGE' });
    await assert.rejects(staging.writePart(id, 1, Readable.from([Buffer.alloc(5)]), { maxBytes: 10, expectedSize: 6 }), { code: 'INVALID_ARGUMENT' });
    assert.deepEqual(await readdir(join(root, id)), ['session.json']);
  });

  it('treats ids that are not its own as absent instead of as paths', async () => {
    assert.equal(await staging.meta('../../etc'), undefined);
    assert.equal(await staging.remove('..'), false);
    await assert.rejects(staging.writePart('../x', 1, Readable.from([]), { maxBytes: 1 }), { code: 'NOT_FOUND' });
  });
});
