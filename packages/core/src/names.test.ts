import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import {
  isToolState,
  aliasProblem,
  filePathProblem,
  isModelName,
  MODEL_KINDS,
  validateAliasName,
  validateFilePath,
  validateKind,
  validateModelName,
  validateTag,
  validateTags,
  validateVersionPath,
  versionPathProblem,
} from './names.js';

const rejects = (fn: () => unknown, match: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && match.test(e.message));

describe('model names', () => {
  it('accepts a name when it uses the grammar, with or without one namespace', () => {
    for (const n of ['chatbot', 'Chat_bot-2.1', 'my-team/chatbot', '_x', '0', 'a.b', 'a'.repeat(128), `${'a'.repeat(128)}/${'b'.repeat(128)}`]) {
      assert.ok(isModelName(n), n);
    }
    assert.equal(validateModelName('my-team/chatbot'), 'my-team/chatbot');
  });
  it('rejects a name when it starts with . or -, in the name or the namespace', () => {
    for (const n of ['.x', '-x', '.hidden', 'team/.x', 'team/-x', '-team/x', '..', 'x/..']) assert.equal(isModelName(n), false, n);
  });
  it('rejects a name when it has two slashes or an empty segment', () => {
    for (const n of ['a/b/c', '/lead', 'trail/', 'a//b', '/']) assert.equal(isModelName(n), false, n);
  });
  it('rejects a name when a segment is over 128 characters', () => {
    assert.equal(isModelName('a'.repeat(129)), false);
    assert.equal(isModelName(`team/${'a'.repeat(129)}`), false);
    assert.equal(isModelName(`${'a'.repeat(129)}/x`), false);
  });
  it('rejects a name when it is empty, has other characters or ends in .lock', () => {
    for (const n of ['', 'sp ace', 'ü', 'a:b', 'a@b', 'a\\b', 'x.lock']) assert.equal(isModelName(n), false, n);
  });
  it('throws INVALID_ARGUMENT with the grammar when validating a bad name or a non-string', () => {
    rejects(() => validateModelName('-x'), /invalid model name "-x": use 1-128 characters/);
    rejects(() => validateModelName(42), /invalid model name/);
  });
});

describe('alias names', () => {
  it('accepts an alias when it uses the MLflow grammar', () => {
    for (const a of ['champion', 'Challenger_2', 'canary-v2x', 'x'.repeat(255), 'version3', 'v', 'vv3', 'latest2', '_1'])
      assert.equal(aliasProblem(a), undefined, a);
    assert.equal(validateAliasName('champion'), 'champion');
  });
  it('rejects latest when written in any case', () => {
    for (const a of ['latest', 'LATEST', 'LaTeSt']) assert.match(aliasProblem(a) ?? '', /reserved/, a);
  });
  it('rejects a bare number or v<number> when they would read as versions', () => {
    for (const a of ['12', '0']) assert.match(aliasProblem(a) ?? '', /version number/, a);
    for (const a of ['v3', 'V10']) assert.match(aliasProblem(a) ?? '', /version reference/, a);
  });
  it('rejects an alias when it is empty, over 255 characters or has other characters', () => {
    for (const a of ['', 'x'.repeat(256), 'has.dot', 'a/b', 'a b', 'ü']) assert.match(aliasProblem(a) ?? '', /1-255/, JSON.stringify(a));
  });
  it('throws INVALID_ARGUMENT when validating a bad alias or a non-string', () => {
    rejects(() => validateAliasName('latest'), /invalid alias "latest"/);
    rejects(() => validateAliasName(7), /must be a string/);
  });
});

describe('file paths', () => {
  it('accepts a relative posix path when its segments are plain', () => {
    for (const p of ['model.safetensors', 'a/b/c.json', '.hidden/file', 'a..b', '...', 'name with spaces.txt', 'ü/ñ.bin', 'x'.repeat(1024)]) {
      assert.equal(filePathProblem(p), undefined, p);
    }
    assert.equal(validateFilePath('a/b'), 'a/b');
  });
  it('rejects a path when it is unsafe to write under a folder', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['..', /'\.\.'/],
      ['../etc/passwd', /'\.\.'/],
      ['a/../../b', /'\.\.'/],
      ['a/..', /'\.\.'/],
      ['/abs', /absolute/],
      ['a\\b', /backslash/],
      ['..\\x', /backslash/],
      ['a\u0000b', /NUL/],
      ['a\nb', /control/],
      ['a\u007fb', /control/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['./a', /'\.' segment/],
      ['a/./b', /'\.' segment/],
      ['C:x', /drive letter/],
      ['c:/windows', /drive letter/],
      ['x'.repeat(1025), /over 1024 bytes/],
      ['é'.repeat(513), /over 1024 bytes/],
    ];
    for (const [p, m] of cases) assert.match(filePathProblem(p) ?? '', m, JSON.stringify(p));
  });
  it('counts UTF-8 bytes, not characters, when checking the length', () => {
    assert.equal(filePathProblem('é'.repeat(512)), undefined);
    assert.match(filePathProblem(`${'é'.repeat(512)}x`) ?? '', /over 1024 bytes/);
  });
  it('throws INVALID_ARGUMENT when validating a bad path or a non-string', () => {
    rejects(() => validateFilePath('../x'), /invalid file path "..\/x"/);
    rejects(() => validateFilePath(null), /must be a string/);
  });
});

describe('version file paths', () => {
  it('accepts what model files and MLflow flavors are named when they are plain', () => {
    const mlflow = ['MLmodel', 'conda.yaml', 'python_env.yaml', 'requirements.txt', 'input_example.json', 'serving_input_example.json'];
    const plain = ['metadata/MLmodel', 'registered_model_meta', 'data/model.pkl', 'code/util.py', '.gitattributes', '.gitignore', '.hidden/file'];
    const nearMisses = ['.github/workflows/x.yml', 'git/config', 'a.git', '.gitkeep', 'm.berth-partial', 'berth', 'x-y', 'a/b-'];
    for (const p of [...mlflow, ...plain, ...nearMisses]) assert.equal(versionPathProblem(p), undefined, p);
  });
  it('rejects a path when a segment is a version control folder, in any case or with trailing dots', () => {
    for (const p of [
      '.git/config',
      '.git',
      'sub/.git/hooks/pre-commit',
      '.GIT/config',
      '.Git./config',
      '.git /x',
      'GIT~1/config',
      '.hg/hgrc',
      '.svn/wc.db',
      '.bzr/branch',
    ]) {
      assert.match(versionPathProblem(p) ?? '', /version control folder/, p);
    }
  });
  it("rejects a path when a segment starts with '.berth' or '-'", () => {
    for (const p of ['.berth-partial/x', 'a/.berth', '.BERTH-partial']) assert.match(versionPathProblem(p) ?? '', /reserved for the files berth pull keeps/, p);
    for (const p of ['-rf', 'a/--checkpoint-action=exec=sh x']) assert.match(versionPathProblem(p) ?? '', /read as an option/, p);
  });
  it('applies the file path grammar first', () => {
    assert.match(versionPathProblem('../.git') ?? '', /'\.\.'/);
    assert.equal(filePathProblem('.git/config'), undefined, 'MLflow artifacts may hold any safe path; only versions refuse these');
  });
  it('throws INVALID_ARGUMENT naming the path when validating a reserved one', () => {
    rejects(() => validateVersionPath('.git/config'), /invalid file path "\.git\/config": '\.git' is a version control folder/);
    rejects(() => validateVersionPath(3), /must be a string/);
    assert.equal(validateVersionPath('a/b'), 'a/b');
  });
});

describe('tool state', () => {
  it('names version control folders and berth files in any case, and nothing a model holds', () => {
    for (const n of ['.git', '.GIT', '.git.', 'git~1', '.hg', '.svn', '.bzr', '.berth-partial', '.berthrc']) assert.equal(isToolState(n), true, n);
    for (const n of ['.gitattributes', '.github', 'config.json', 'git', 'berth']) assert.equal(isToolState(n), false, n);
  });
});

describe('kinds', () => {
  it('accepts every known kind and rejects others', () => {
    for (const k of MODEL_KINDS) assert.equal(validateKind(k), k);
    rejects(() => validateKind('weights'), /use one of model, adapter/);
    rejects(() => validateKind(undefined), /invalid kind/);
  });
});

describe('tags', () => {
  it('accepts printable keys and string values when within the limits', () => {
    const tags = { task: 'support', [`${'k'.repeat(250)}`]: 'v'.repeat(5000), empty: '' };
    assert.equal(validateTags(tags), tags);
  });
  it('rejects a tag when its key is empty, too long or has a control character', () => {
    for (const k of ['', 'k'.repeat(251), 'k\n', 'a\u0000']) rejects(() => validateTag(k, 'x'), /invalid tag key/);
    rejects(() => validateTag(1, 'x'), /invalid tag key/);
  });
  it('rejects a tag when its value is not a string or is over 5000 characters', () => {
    rejects(() => validateTag('k', 5), /invalid value for tag "k"/);
    rejects(() => validateTag('k', 'x'.repeat(5001)), /invalid value/);
    rejects(() => validateTags({ ok: 'x', bad: null }), /invalid value for tag "bad"/);
  });
});
