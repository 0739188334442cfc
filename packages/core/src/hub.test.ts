import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commitIdOf, gitBlobOid, hubPathsInfo, hubTree, isCommitId, lfsPointer } from './hub.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const files = [
  { path: 'config.json', size: 10, sha256: A },
  { path: 'sub/deep/w.bin', size: 20, sha256: B },
  { path: 'sub/x.txt', size: 3, sha256: A },
];

describe('hub', () => {
  it('derives a 40-hex commit id from a manifest digest when given one', () => {
    const id = commitIdOf(`sha256:${'0123456789abcdef'.repeat(4)}`);
    assert.equal(id, '0123456789abcdef'.repeat(4).slice(0, 40));
    assert.ok(isCommitId(id));
    assert.ok(!isCommitId('main'));
    assert.ok(!isCommitId('A'.repeat(40)));
  });

  it('computes the git blob oid of an LFS pointer exactly as git does', () => {
    const pointer = lfsPointer(A, 10);
    // `git hash-object --stdin` of this pointer text.
    assert.equal(gitBlobOid(pointer), 'a6a8df2079ea4a97c2b5068fcac8cf09b528eaca');
    assert.match(pointer, /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:a{64}\nsize 10\n$/);
  });

  it('lists the immediate children of the root when not recursive', () => {
    const t = hubTree(files, '', false);
    assert.deepEqual(
      t?.map((e) => [e.type, e.path]),
      [
        ['file', 'config.json'],
        ['directory', 'sub'],
      ],
    );
    const f = t?.[0];
    assert.ok(f?.type === 'file');
    assert.deepEqual(f.lfs, { oid: A, size: 10, pointerSize: 127 });
    assert.equal(f.oid, gitBlobOid(lfsPointer(A, 10)));
  });

  it('lists everything below a folder, folders included, when recursive', () => {
    assert.deepEqual(
      hubTree(files, '', true)?.map((e) => e.path),
      ['config.json', 'sub', 'sub/deep', 'sub/deep/w.bin', 'sub/x.txt'],
    );
    assert.deepEqual(
      hubTree(files, 'sub', false)?.map((e) => e.path),
      ['sub/deep', 'sub/x.txt'],
    );
  });

  it('answers undefined for a folder that does not exist or names a file', () => {
    assert.equal(hubTree(files, 'nope', true), undefined);
    assert.equal(hubTree(files, 'config.json', false), undefined);
  });

  it('gives a folder an oid that changes when a file under it changes', () => {
    const before = hubTree(files, '', false)?.find((e) => e.path === 'sub')?.oid;
    const changed = files.map((f) => (f.path === 'sub/x.txt' ? { ...f, sha256: B } : f));
    const after = hubTree(changed, '', false)?.find((e) => e.path === 'sub')?.oid;
    assert.match(String(before), /^[0-9a-f]{40}$/);
    assert.notEqual(before, after);
    assert.equal(hubTree(files, '', false)?.find((e) => e.path === 'sub')?.oid, before);
  });

  it('answers paths-info for files and folders, leaving unknown paths out', () => {
    const info = hubPathsInfo(files, ['sub/', 'missing', 'config.json', 'config.json']);
    assert.deepEqual(
      info.map((e) => [e.type, e.path]),
      [
        ['directory', 'sub'],
        ['file', 'config.json'],
      ],
    );
  });
});
