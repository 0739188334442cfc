import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import {
  MAX_INDEXED_META_DEPTH,
  MAX_INDEXED_META_KEY,
  MAX_INDEXED_META_VALUE,
  MAX_SEARCH_QUERY,
  metadataFields,
  parseSearchQuery,
  type SearchExpr,
  type SearchTerm,
} from './search-query.js';

const term = (t: SearchTerm): SearchExpr => ({ op: 'term', term: t });
const name = (pattern: string) => term({ type: 'name', pattern });

function refused(q: string, match: RegExp): void {
  assert.throws(
    () => parseSearchQuery(q),
    (err: unknown) => err instanceof BerthError && err.code === 'INVALID_ARGUMENT' && err.details?.field === 'q' && match.test(err.message),
  );
}

describe('parseSearchQuery', () => {
  it('returns null when the query is empty or blank', () => {
    assert.equal(parseSearchQuery(''), null);
    assert.equal(parseSearchQuery('  \t\r\n '), null);
  });

  it('reads each field when written as field:value', () => {
    assert.deepEqual(parseSearchQuery('name:chat*'), name('chat*'));
    assert.deepEqual(parseSearchQuery('NAME:Chat'), name('Chat'));
    assert.deepEqual(parseSearchQuery('kind:adapter'), term({ type: 'kind', kind: 'adapter' }));
    assert.deepEqual(parseSearchQuery('alias:champion'), term({ type: 'alias', alias: 'champion' }));
    assert.deepEqual(parseSearchQuery('tag:env=prod'), term({ type: 'tag', key: 'env', value: 'prod' }));
    assert.deepEqual(parseSearchQuery('tag:env='), term({ type: 'tag', key: 'env', value: '' }));
    assert.deepEqual(parseSearchQuery('tag:env'), term({ type: 'tag', key: 'env', value: null }));
    assert.deepEqual(parseSearchQuery('meta.base_model=llama'), term({ type: 'meta', path: ['base_model'], value: 'llama' }));
    assert.deepEqual(parseSearchQuery('meta.train.lr=0.1'), term({ type: 'meta', path: ['train', 'lr'], value: '0.1' }));
    assert.deepEqual(parseSearchQuery('meta.uri=hf:org/x'), term({ type: 'meta', path: ['uri'], value: 'hf:org/x' }));
  });

  it('reads a bare word or a quoted phrase as a name that contains it', () => {
    assert.deepEqual(parseSearchQuery('chat'), name('*chat*'));
    assert.deepEqual(parseSearchQuery('"OR"'), name('*OR*'));
    assert.deepEqual(parseSearchQuery('"a:b c"'), name('*a:b c*'));
    assert.deepEqual(parseSearchQuery('meta.x'), name('*meta.x*'));
  });

  it('keeps spaces, quotes and backslashes of a quoted value', () => {
    assert.deepEqual(parseSearchQuery('tag:team="ml ops"'), term({ type: 'tag', key: 'team', value: 'ml ops' }));
    assert.deepEqual(parseSearchQuery('meta.note="say \\"hi\\" \\\\ (x)"'), term({ type: 'meta', path: ['note'], value: 'say "hi" \\ (x)' }));
  });

  it('joins terms by AND with a space or the word AND', () => {
    const expected: SearchExpr = { op: 'and', args: [name('chat*'), term({ type: 'kind', kind: 'model' })] };
    assert.deepEqual(parseSearchQuery('name:chat* kind:model'), expected);
    assert.deepEqual(parseSearchQuery('name:chat* AND kind:model'), expected);
  });

  it('binds AND tighter than OR', () => {
    assert.deepEqual(parseSearchQuery('a b OR c'), { op: 'or', args: [{ op: 'and', args: [name('*a*'), name('*b*')] }, name('*c*')] });
    assert.deepEqual(parseSearchQuery('a OR b OR c'), { op: 'or', args: [name('*a*'), name('*b*'), name('*c*')] });
  });

  it('groups with parentheses', () => {
    assert.deepEqual(parseSearchQuery('(a OR b) c'), { op: 'and', args: [{ op: 'or', args: [name('*a*'), name('*b*')] }, name('*c*')] });
    assert.deepEqual(parseSearchQuery('((a))'), name('*a*'));
    assert.deepEqual(parseSearchQuery('kind:model(a)'), { op: 'and', args: [term({ type: 'kind', kind: 'model' }), name('*a*')] });
  });

  it('treats lower-case or and and as words', () => {
    assert.deepEqual(parseSearchQuery('a or'), { op: 'and', args: [name('*a*'), name('*or*')] });
  });

  it('refuses malformed queries with a message saying what to fix', () => {
    refused('tag:team="ml', /quoted value is not closed/);
    refused('(a OR b', /\( is not closed/);
    refused('a)', /\) without its \(/);
    refused(')', /\) without its \(/);
    refused('a OR', /ends where a term was expected/);
    refused('a AND', /ends where a term was expected/);
    refused('OR a', /OR needs a term on each side/);
    refused('a AND OR b', /OR needs a term on each side/);
    refused('AND', /AND needs a term on each side/);
    refused('owner:me', /unknown field "owner"/);
    refused('name:', /name: needs a value/);
    refused('kind:', /kind: needs a value/);
    refused('alias:', /alias: needs a value/);
    refused('tag:', /tag: needs a value/);
    refused('tag:=x', /tag: needs a value/);
    refused('meta.=x', /empty part/);
    refused('meta.a..b=x', /empty part/);
    refused(`${'('.repeat(17)}a${')'.repeat(17)}`, /nested deeper than 16/);
    refused('x'.repeat(MAX_SEARCH_QUERY + 1), /longer than 1000/);
    refused('tag:a=\u0000', /control character/);
    refused('name:a\u007f', /control character/);
  });

  it('accepts nesting up to the limit', () => {
    assert.deepEqual(parseSearchQuery(`${'('.repeat(16)}a${')'.repeat(16)}`), name('*a*'));
  });

  it('refuses a quote left open by a trailing backslash', () => {
    refused('"a\\', /quoted value is not closed/);
  });
});

describe('metadataFields', () => {
  it('lists scalar fields by dotted path with their values as text', () => {
    assert.deepEqual(metadataFields({ base_model: 'llama', train: { lr: 0.001, steps: 10, bf16: true }, 'a.b': 'x', a: { b: 'x' } }), [
      { key: 'base_model', value: 'llama' },
      { key: 'train.lr', value: '0.001' },
      { key: 'train.steps', value: '10' },
      { key: 'train.bf16', value: 'true' },
      { key: 'a.b', value: 'x' },
    ]);
  });

  it('leaves out arrays, nulls, long values and objects nested too deep', () => {
    let deep: Record<string, unknown> = { leaf: 'y' };
    for (let i = 1; i < MAX_INDEXED_META_DEPTH; i++) deep = { d: deep };
    let tooDeep: Record<string, unknown> = { leaf: 'z' };
    for (let i = 0; i < MAX_INDEXED_META_DEPTH; i++) tooDeep = { d: tooDeep };
    assert.deepEqual(metadataFields({ list: ['a'], none: null, long: 'x'.repeat(MAX_INDEXED_META_VALUE + 1), edge: 'x'.repeat(MAX_INDEXED_META_VALUE) }), [
      { key: 'edge', value: 'x'.repeat(MAX_INDEXED_META_VALUE) },
    ]);
    assert.deepEqual(metadataFields({ ['k'.repeat(MAX_INDEXED_META_KEY + 1)]: 'v', ['k'.repeat(MAX_INDEXED_META_KEY)]: 'v' }), [
      { key: 'k'.repeat(MAX_INDEXED_META_KEY), value: 'v' },
    ]);
    assert.deepEqual(metadataFields(deep), [{ key: `${'d.'.repeat(MAX_INDEXED_META_DEPTH - 1)}leaf`, value: 'y' }]);
    assert.deepEqual(metadataFields(tooDeep), []);
  });
});
