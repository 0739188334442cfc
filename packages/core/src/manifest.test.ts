import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { canonicalManifest, manifestDigest, manifestSize, MAX_MANIFEST_FILES, normalizeManifest } from './manifest.js';
import type { ManifestFile } from './schemas.js';

const h = (c: string) => c.repeat(64);
const files: ManifestFile[] = [
  { path: 'weights/model.safetensors', size: 10, sha256: h('a') },
  { path: 'config.json', size: 2, sha256: h('b') },
];
const rejects = (value: unknown, match: RegExp) =>
  assert.throws(
    () => normalizeManifest(value),
    (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && match.test(e.message),
  );

describe('manifestDigest', () => {
  it('keeps the digest of a known manifest fixed, since stored versions depend on it', () => {
    // Cross-checked with Python: sha256(json.dumps(m, sort_keys=True, separators=(',', ':'))).
    assert.equal(manifestDigest(files), 'sha256:0f3f00226fe9e32ee73a25c762d28eb75c3551195b43a80c0badb06bc947731a');
    assert.equal(
      canonicalManifest(files),
      `{"files":[{"path":"config.json","sha256":"${h('b')}","size":2},{"path":"weights/model.safetensors","sha256":"${h('a')}","size":10}],"schema":"berth.manifest.v1"}`,
    );
  });
  it('gives the same digest when the files come in another order or with other key orders', () => {
    const d = manifestDigest(files);
    assert.equal(manifestDigest([...files].reverse()), d);
    assert.equal(manifestDigest(files.map((f) => ({ sha256: f.sha256, size: f.size, path: f.path }))), d);
    assert.match(d, /^sha256:[0-9a-f]{64}$/);
  });
  it('changes the digest when any path, size or hash byte changes, or a file is added or removed', () => {
    const d = manifestDigest(files);
    const variants: ManifestFile[][] = [
      [{ ...files[0]!, path: 'weights/model.safetensorz' }, files[1]!],
      [{ ...files[0]!, path: 'Weights/model.safetensors' }, files[1]!],
      [{ ...files[0]!, size: 11 }, files[1]!],
      [{ ...files[0]!, size: 0 }, files[1]!],
      [{ ...files[0]!, sha256: `${h('a').slice(0, 63)}b` }, files[1]!],
      [{ ...files[0]!, sha256: `b${h('a').slice(1)}` }, files[1]!],
      [files[0]!],
      [...files, { path: 'README.md', size: 0, sha256: h('c') }],
    ];
    const digests = new Set(variants.map(manifestDigest));
    assert.equal(digests.size, variants.length, 'every variant has its own digest');
    assert.ok(!digests.has(d));
  });
  it('gives an empty manifest a digest of its own', () => {
    assert.match(manifestDigest([]), /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(manifestDigest([]), manifestDigest(files));
  });
});

describe('manifestSize', () => {
  it('adds up the sizes of the files', () => {
    assert.equal(manifestSize(files), 12);
    assert.equal(manifestSize([]), 0);
  });
});

describe('normalizeManifest', () => {
  it('sorts by path and strips sha256: prefixes when they are given', () => {
    const n = normalizeManifest([
      { path: 'b', size: 1, sha256: `sha256:${h('a')}` },
      { path: 'a', size: 0, sha256: h('b') },
      { path: 'B', size: 0, sha256: h('c') },
    ]);
    assert.deepEqual(
      n.map((f) => f.path),
      ['B', 'a', 'b'],
    );
    assert.equal(n[2]!.sha256, h('a'));
  });
  it('keeps only path, size and sha256 when a file carries other fields', () => {
    assert.deepEqual(normalizeManifest([{ path: 'a', size: 1, sha256: h('a'), mode: 0o755 }]), [{ path: 'a', size: 1, sha256: h('a') }]);
  });
  it('accepts sibling names that share a prefix when none is a folder of another', () => {
    const n = normalizeManifest([
      { path: 'x/y/z.bin', size: 1, sha256: h('c') },
      { path: 'x/y2', size: 1, sha256: h('c') },
      { path: 'x/y.bin', size: 1, sha256: h('c') },
    ]);
    assert.equal(n.length, 3);
    assert.deepEqual(normalizeManifest([]), []);
  });
  it('rejects a manifest when a path has a version control folder or a name berth pull keeps for itself', () => {
    rejects([{ path: '.git/config', size: 1, sha256: h('a') }], /"\.git\/config": '\.git' is a version control folder/);
    rejects([{ path: 'm/.berth-partial', size: 1, sha256: h('a') }], /reserved for the files berth pull keeps/);
  });
  it('rejects a manifest when a path is listed twice', () => {
    rejects(
      [
        { path: 'x', size: 1, sha256: h('a') },
        { path: 'x', size: 2, sha256: h('b') },
      ],
      /"x" is listed twice/,
    );
  });
  it('rejects a manifest when a file is also a folder of another file, in either order', () => {
    rejects(
      [
        { path: 'a', size: 1, sha256: h('a') },
        { path: 'a/b/c', size: 1, sha256: h('a') },
      ],
      /file "a" is also a folder of "a\/b\/c"/,
    );
    rejects(
      [
        { path: 'a/b/c', size: 1, sha256: h('a') },
        { path: 'a/b', size: 1, sha256: h('a') },
      ],
      /file "a\/b" is also a folder/,
    );
  });
  it('rejects a manifest when it is not a list or an entry is malformed', () => {
    rejects('x', /files must be a list/);
    rejects({ length: MAX_MANIFEST_FILES + 1 }, /files must be a list/);
    rejects([null], /each file must be an object/);
    rejects(['a'], /each file must be an object/);
    rejects([{ path: '../x', size: 1, sha256: h('a') }], /invalid file path/);
    rejects([{ size: 1, sha256: h('a') }], /file path must be a string/);
    for (const size of [-1, 1.5, '1', Number.MAX_SAFE_INTEGER + 1, undefined])
      rejects([{ path: 'x', size, sha256: h('a') }], /size must be a non-negative integer/);
    rejects([{ path: 'x', size: 1, sha256: 'nope' }], /invalid sha256 of x/);
  });
  it('rejects a manifest when it holds more files than the limit', () => {
    rejects(new Array(MAX_MANIFEST_FILES + 1).fill({}), /at most 100000 files/);
  });
});
