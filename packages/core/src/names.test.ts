import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { aliasProblem, filePathProblem, isModelName, validateAliasName, validateFilePath, validateKind, validateModelName, validateTag, validateTags } from './names.js';

const rejects = (fn: () => unknown, match: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && match.test(e.message));

describe('model names', () => {
  it('accepts names of the grammar, with one namespace', () => {
    for (const n of ['chatbot', 'Chat_bot-2.1', 'my-team/chatbot', '_x', 'a'.repeat(128), `${'a'.repeat(128)}/${'b'.repeat(128)}`]) assert.ok(isModelName(n), n);
    assert.equal(validateModelName('my-team/chatbot'), 'my-team/chatbot');
  });
  it('rejects names outside the grammar when they start with . or -, nest, or run long', () => {
    for (const n of ['', '.hidden', '-dash', 'a/b/c', '/lead', 'trail/', 'a'.repeat(129), 'sp ace', 'ü', '..', 'x/..', 'x.lock']) assert.equal(isModelName(n), false, n);
    rejects(() => validateModelName('-x'), /invalid model name/);
    rejects(() => validateModelName(42), /invalid model name/);
  });
});

describe('alias names', () => {
  it('accepts MLflow-style aliases', () => {
    for (const a of ['champion', 'Challenger_2', 'canary-v2x', 'x'.repeat(255), 'version3']) assert.equal(aliasProblem(a), undefined, a);
    assert.equal(validateAliasName('champion'), 'champion');
  });
  it('rejects latest in any case, numbers and v<number>', () => {
    assert.match(aliasProblem('latest') ?? '', /reserved/);
    assert.match(aliasProblem('LaTeSt') ?? '', /reserved/);
    assert.match(aliasProblem('12') ?? '', /version number/);
    assert.match(aliasProblem('v3') ?? '', /version reference/);
    assert.match(aliasProblem('V10') ?? '', /version reference/);
    assert.match(aliasProblem('x'.repeat(256)) ?? '', /1-255/);
    assert.match(aliasProblem('has.dot') ?? '', /1-255/);
    rejects(() => validateAliasName('latest'), /invalid alias "latest"/);
    rejects(() => validateAliasName(7), /must be a string/);
  });
});

describe('file paths', () => {
  it('accepts relative posix paths', () => {
    for (const p of ['model.safetensors', 'a/b/c.json', '.hidden/file', 'name with spaces.txt', 'ü/ñ.bin']) assert.equal(filePathProblem(p), undefined, p);
    assert.equal(validateFilePath('a/b'), 'a/b');
  });
  it('rejects traversal, absolute paths, backslashes, NUL, empty segments and long paths', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['../etc/passwd', /'\.\.'/],
      ['a/../../b', /'\.\.'/],
      ['/abs', /absolute/],
      ['a\\b', /backslash/],
      ['a\u0000b', /NUL/],
      ['a\nb', /control/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['./a', /'\.' segment/],
      ['C:x', /drive letter/],
      ['é'.repeat(513), /over 1024 bytes/],
    ];
    for (const [p, m] of cases) assert.match(filePathProblem(p) ?? '', m, JSON.stringify(p));
    assert.equal(filePathProblem('x'.repeat(1024)), undefined);
    rejects(() => validateFilePath('../x'), /invalid file path/);
    rejects(() => validateFilePath(null), /must be a string/);
  });
});

describe('kinds and tags', () => {
  it('accepts the known kinds only', () => {
    assert.equal(validateKind('adapter'), 'adapter');
    rejects(() => validateKind('weights'), /use one of model, adapter/);
  });
  it('validates tag keys and values', () => {
    assert.deepEqual(validateTags({ task: 'support' }), { task: 'support' });
    rejects(() => validateTag('', 'x'), /invalid tag key/);
    rejects(() => validateTag('k\n', 'x'), /invalid tag key/);
    rejects(() => validateTag('k', 5), /invalid value/);
    rejects(() => validateTag('k', 'x'.repeat(5001)), /invalid value/);
  });
});
