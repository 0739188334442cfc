import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { likeToRegExp, parseMlflowFilter } from './mlflow-filter.js';

describe('MLflow search filters', () => {
  it('parses the clauses MLflow clients send', () => {
    assert.deepEqual(parseMlflowFilter(undefined, 'models'), []);
    assert.deepEqual(parseMlflowFilter('  ', 'models'), []);
    assert.deepEqual(parseMlflowFilter("name = 'chatbot'", 'models'), [{ field: 'name', op: '=', value: 'chatbot' }]);
    assert.deepEqual(parseMlflowFilter("attributes.name LIKE \"chat%\" and tags.team != 'a'", 'models'), [
      { field: 'name', op: 'LIKE', value: 'chat%' },
      { field: 'tag', key: 'team', op: '!=', value: 'a' },
    ]);
    assert.deepEqual(parseMlflowFilter("tag.`mlflow.prompt.is_prompt` != 'true'", 'models'), [{ field: 'tag', key: 'mlflow.prompt.is_prompt', op: '!=', value: 'true' }]);
    assert.deepEqual(parseMlflowFilter('tags.acc.group ILIKE \'%X%\'', 'models'), [{ field: 'tag', key: 'acc.group', op: 'ILIKE', value: '%X%' }]);
    assert.deepEqual(parseMlflowFilter("run_id IN ('a', 'b') AND version_number >= 3 AND source_path = 'runs:/x/m' AND version_number <> '4'", 'versions'), [
      { field: 'run_id', op: 'IN', value: ['a', 'b'] },
      { field: 'version', op: '>=', value: 3 },
      { field: 'source', op: '=', value: 'runs:/x/m' },
      { field: 'version', op: '!=', value: 4 },
    ]);
    assert.deepEqual(parseMlflowFilter("name = 'it\\'s'", 'models'), [{ field: 'name', op: '=', value: "it's" }]);
    assert.deepEqual(parseMlflowFilter('version_number < 10 and version_number > 1 and version_number <= 9', 'versions').map((c) => c.op), ['<', '>', '<=']);
  });

  it('refuses what MLflow refuses, with INVALID_ARGUMENT', () => {
    const cases: [string, 'models' | 'versions', RegExp][] = [
      ["name = 'a' OR name = 'b'", 'models', /Only AND/],
      ["NOT name = 'a'", 'models', /Only AND/],
      ["name = 'a", 'models', /unterminated quote/],
      ['tags.`open = 1', 'models', /unterminated backtick/],
      ["run_id = 'x'", 'models', /Invalid attribute key 'run_id'/],
      ["colour = 'x'", 'versions', /Invalid attribute key 'colour'/],
      ["name < 'x'", 'models', /'<' is not supported/],
      ['name = 3', 'models', /compares with a quoted string/],
      ["version_number = 'x'", 'versions', /compares with an integer/],
      ["run_id IN 'a'", 'versions', /parenthesised list/],
      ['run_id IN (1)', 'versions', /near/],
      ["run_id IN (version_number)", 'versions', /quoted strings/],
      ["`name` = 'x'", 'models', /Invalid attribute key/],
      ["run_id IN ('a' 'b')", 'versions', /expected , or \)/],
      ["name = 'a' name = 'b'", 'models', /expected AND/],
      ["= 'a'", 'models', /expected an attribute/],
      ['name', 'models', /expected a comparator/],
      ['name =', 'models', /expected a value/],
      ["name = 'a' ; drop", 'models', /near/],
      ["(name = 'a')", 'models', /expected an attribute/],
    ];
    for (const [f, kind, m] of cases) assert.throws(() => parseMlflowFilter(f, kind), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT' && m.test((e as Error).message), f);
  });

  it('turns LIKE patterns into exact, case-aware matchers', () => {
    assert.ok(likeToRegExp('chat%', false).test('chatbot'));
    assert.ok(!likeToRegExp('chat%', false).test('Chatbot'), 'LIKE is case-sensitive, as MLflow sets it');
    assert.ok(likeToRegExp('chat%', true).test('CHATBOT'));
    assert.ok(likeToRegExp('v_', false).test('v1') && !likeToRegExp('v_', false).test('v10'));
    assert.ok(likeToRegExp('a.b', false).test('a.b') && !likeToRegExp('a.b', false).test('axb'), 'regex characters are literal');
  });
});
