import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { applyHubChanges, parseHubCommit } from './hub.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const nd = (...lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
const header = (value: Record<string, unknown> = { summary: 's' }) => ({ key: 'header', value });

function refused(body: string, match: RegExp, line?: number): void {
  assert.throws(
    () => parseHubCommit(body),
    (err: unknown) => {
      assert.ok(err instanceof BerthError);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, match);
      if (line !== undefined) assert.equal(err.details.line, line);
      return true;
    },
  );
}

describe('hub commits', () => {
  it('parses a header and every kind of operation, in order, when the body is well formed', () => {
    const c = parseHubCommit(
      nd(
        header({ summary: 'Upload', description: 'more', parentCommit: 'ABCDEF1234' }),
        { key: 'file', value: { path: 'config.json', content: 'eyJ2IjogMX0=', encoding: 'base64' } },
        { key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid: A, size: 12 } },
        { key: 'lfsFile', value: { path: 'copy.bin', oid: B } },
        { key: 'deletedFile', value: { path: 'old.txt' } },
        { key: 'deletedFolder', value: { path: 'extra/' } },
        '',
      ),
    );
    assert.deepEqual(c, {
      summary: 'Upload',
      description: 'more',
      parentCommit: 'abcdef1234',
      operations: [
        { kind: 'file', path: 'config.json', base64: 'eyJ2IjogMX0=' },
        { kind: 'lfsFile', path: 'w.bin', oid: A, size: 12 },
        { kind: 'lfsFile', path: 'copy.bin', oid: B, size: undefined },
        { kind: 'deletedFile', path: 'old.txt' },
        { kind: 'deletedFolder', path: 'extra' },
      ],
    });
    assert.deepEqual(parseHubCommit(nd(header({ parentCommit: null }))), { summary: '', description: '', parentCommit: undefined, operations: [] });
  });

  it('refuses the whole commit when any line is malformed, naming the line', () => {
    refused('', /empty/);
    refused(nd(header(), '{"key": "file", "value": {"path": "a", "con'), /line 2: not a JSON object/, 2);
    refused(nd(header(), '[1]'), /line 2: each line is/, 2);
    refused(nd(header(), { key: 'file', value: 'x' }), /each line is/);
    refused(nd(header(), { key: 'rename', value: {} }), /unknown key "rename"/);
    refused(nd({ key: 'deletedFile', value: { path: 'a' } }), /first line must be the header/, 1);
    refused(nd(header(), header()), /header comes once/, 2);
    refused(nd(header({ summary: 1 })), /summary must be a string/);
    refused(nd(header({ description: [] })), /description must be a string/);
    refused(nd(header({ parentCommit: 'main' })), /parentCommit must be a commit id/);
    refused(nd(header({ parentCommit: 5 })), /parentCommit must be a commit id/);
  });

  it('refuses paths with .., absolute paths, NUL and non-strings', () => {
    for (const [path, why] of [
      ['../etc/passwd', /'\.\.'/],
      ['/abs/file', /absolute/],
      ['a\u0000b', /NUL/],
      ['', /empty/],
    ] as const) {
      refused(nd(header(), { key: 'deletedFile', value: { path } }), why, 2);
    }
    refused(nd(header(), { key: 'deletedFolder', value: { path: 7 } }), /path must be a string/);
  });

  it('refuses bad content, oids, sizes, algorithms, encodings and a path named twice', () => {
    refused(nd(header(), { key: 'file', value: { path: 'a', content: 'not base64!' } }), /content must be standard base64/);
    refused(nd(header(), { key: 'file', value: { path: 'a', content: 'QQ==', encoding: 'utf-8' } }), /encoding must be base64/);
    refused(nd(header(), { key: 'lfsFile', value: { path: 'a', oid: 'A'.repeat(64) } }), /oid must be 64 lowercase hex/);
    refused(nd(header(), { key: 'lfsFile', value: { path: 'a', oid: A, size: -1 } }), /size must be a non-negative integer/);
    refused(nd(header(), { key: 'lfsFile', value: { path: 'a', oid: A, size: '3' } }), /size must be a non-negative integer/);
    refused(nd(header(), { key: 'lfsFile', value: { path: 'a', oid: A, algo: 'md5' } }), /algo must be sha256/);
    refused(nd(header(), { key: 'lfsFile', value: { path: 'a', oid: A } }, { key: 'deletedFile', value: { path: 'a' } }), /a is named by two operations/, 3);
  });

  it('applies puts and deletions to the head files, sorted by path', () => {
    const head = [
      { path: 'z.txt', size: 1, sha256: A },
      { path: 'extra/a.txt', size: 2, sha256: A },
      { path: 'extra/deep/b.txt', size: 3, sha256: B },
      { path: 'extras.txt', size: 4, sha256: B },
    ];
    const out = applyHubChanges(head, [
      { kind: 'put', path: 'z.txt', sha256: B, size: 9 },
      { kind: 'put', path: 'new.bin', sha256: A, size: 5 },
      { kind: 'deletedFolder', path: 'extra' },
      { kind: 'deletedFile', path: 'extras.txt' },
    ]);
    assert.deepEqual(out, [
      { path: 'new.bin', size: 5, sha256: A },
      { path: 'z.txt', size: 9, sha256: B },
    ]);
    assert.equal(head.length, 4, 'the head files are not changed');
  });

  it('says which entry is missing when a deleted file or folder is not there', () => {
    const head = [{ path: 'a/b.txt', size: 1, sha256: A }];
    for (const change of [
      { kind: 'deletedFile', path: 'a' },
      { kind: 'deletedFolder', path: 'b' },
    ] as const) {
      assert.throws(
        () => applyHubChanges(head, [change]),
        (err: unknown) => err instanceof BerthError && err.code === 'NOT_FOUND' && err.details.missing === 'entry' && err.details.path === change.path,
      );
    }
  });
});
