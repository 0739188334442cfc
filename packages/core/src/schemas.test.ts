import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { CreateModelBody, CreateVersionBody, MoveAliasesBody, PageSchema, SetAliasBody, VersionSchema } from './schemas.js';

describe('API schemas', () => {
  it('accept the documented request bodies', () => {
    assert.ok(Value.Check(CreateModelBody, { name: 'chatbot', kind: 'model', tags: { a: 'b' } }));
    assert.ok(Value.Check(SetAliasBody, { version: 2, expect: null, reason: 'why' }));
    assert.ok(Value.Check(MoveAliasesBody, { moves: [{ alias: 'champion', version: 2, expect: 1 }, { alias: 'old', version: null }] }));
    assert.ok(Value.Check(CreateVersionBody, { files: [{ path: 'a', size: 1, sha256: 'x' }], metadata: { nested: { any: [1, 'two'] } } }));
  });
  it('reject unknown fields and wrong types in request bodies', () => {
    assert.ok(!Value.Check(CreateModelBody, { name: 'chatbot', colour: 'blue' }));
    assert.ok(!Value.Check(SetAliasBody, { version: '2' }));
    assert.ok(!Value.Check(SetAliasBody, { version: 0 }));
    assert.ok(!Value.Check(MoveAliasesBody, { moves: [] }));
    assert.ok(!Value.Check(CreateVersionBody, { files: [{ path: 'a', size: -1, sha256: 'x' }] }));
  });
  it('describe pages of entities', () => {
    const page = PageSchema(VersionSchema);
    assert.ok(Value.Check(page, { items: [], next_cursor: null }));
    assert.ok(!Value.Check(page, { items: [] }));
  });
});
