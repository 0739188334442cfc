import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalManifest, manifestDigest, manifestSize, normalizeManifest, MAX_MANIFEST_FILES } from './manifest.js';

const h = (c: string) => c.repeat(64);
const files = [
  { path: 'weights/model.safetensors', size: 10, sha256: h('a') },
  { path: 'config.json', size: 2, sha256: h('b') },
];

describe('manifest', () => {
  it('gives the same digest whatever the file order', () => {
    assert.equal(manifestDigest(files), manifestDigest([...files].reverse()));
    assert.match(manifestDigest(files), /^sha256:[0-9a-f]{64}$/);
    assert.equal(manifestSize(files), 12);
    assert.equal(canonicalManifest(files), '{"files":[{"path":"config.json","sha256":"' + h('b') + '","size":2},{"path":"weights/model.safetensors","sha256":"' + h('a') + '","size":10}],"schema":"berth.manifest.v1"}');
  });
  it('changes the digest when a path, a size or a hash changes', () => {
    const d = manifestDigest(files);
    assert.notEqual(manifestDigest([{ ...files[0], path: 'weights/other' }, files[1]]), d);
    assert.notEqual(manifestDigest([{ ...files[0], size: 11 }, files[1]]), d);
    assert.notEqual(manifestDigest([{ ...files[0], sha256: h('c') }, files[1]]), d);
    assert.notEqual(manifestDigest([files[0]]), d);
  });
  it('normalizes: sorts, accepts sha256: prefixes', () => {
    const n = normalizeManifest([{ path: 'b', size: 1, sha256: `sha256:${h('a')}` }, { path: 'a', size: 0, sha256: h('b') }]);
    assert.deepEqual(n.map((f) => f.path), ['a', 'b']);
    assert.equal(n[1].sha256, h('a'));
    assert.equal(normalizeManifest([{ path: 'x/y/z.bin', size: 1, sha256: h('c') }, { path: 'x/y2', size: 1, sha256: h('c') }]).length, 2);
  });
  it('rejects duplicates, file-versus-folder clashes and malformed entries', () => {
    assert.throws(() => normalizeManifest('x'), /files must be a list/);
    assert.throws(() => normalizeManifest([null]), /each file must be an object/);
    assert.throws(() => normalizeManifest([{ path: '../x', size: 1, sha256: h('a') }]), /invalid file path/);
    assert.throws(() => normalizeManifest([{ path: 'x', size: -1, sha256: h('a') }]), /non-negative integer/);
    assert.throws(() => normalizeManifest([{ path: 'x', size: 1.5, sha256: h('a') }]), /non-negative integer/);
    assert.throws(() => normalizeManifest([{ path: 'x', size: 1, sha256: 'nope' }]), /invalid sha256 of x/);
    assert.throws(() => normalizeManifest([{ path: 'x', size: 1, sha256: h('a') }, { path: 'x', size: 1, sha256: h('a') }]), /listed twice/);
    assert.throws(() => normalizeManifest([{ path: 'a', size: 1, sha256: h('a') }, { path: 'a/b/c', size: 1, sha256: h('a') }]), /also a folder/);
    assert.throws(() => normalizeManifest({ length: MAX_MANIFEST_FILES + 1 } as unknown), /files must be a list/);
    assert.throws(() => normalizeManifest(new Array(MAX_MANIFEST_FILES + 1).fill({})), /at most/);
  });
});
