import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  AliasHistoryEntrySchema,
  CreateModelBody,
  CreateVersionBody,
  ModelAtSchema,
  ModelSchema,
  MoveAliasesBody,
  PageSchema,
  SetAliasBody,
  STAGES,
  VERSION_STATUSES,
  VersionSchema,
  type AliasHistoryEntry,
  type Model,
  type ModelAt,
  type Page,
  type Version,
} from './schemas.js';
import { MODEL_KINDS } from './names.js';

// TypeBox checks no string format until one is registered (the server validates with Ajv).
FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v));
/** A schema as JSON, the form Ajv, the serialiser and the OpenAPI document see. */
const json = (schema: unknown) => JSON.parse(JSON.stringify(schema));

describe('API schemas', () => {
  it('accept the documented request bodies', () => {
    assert.ok(Value.Check(CreateModelBody, { name: 'chatbot', kind: 'model', tags: { a: 'b' } }));
    assert.ok(Value.Check(SetAliasBody, { version: 2, expect: null, reason: 'why' }));
    assert.ok(
      Value.Check(MoveAliasesBody, {
        moves: [
          { alias: 'champion', version: 2, expect: 1 },
          { alias: 'old', version: null },
        ],
      }),
    );
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
  it('list the allowed values of status, stage, kind and alias action in the JSON schema', () => {
    assert.deepEqual(json(VersionSchema.properties.status), { type: 'string', enum: [...VERSION_STATUSES] });
    assert.deepEqual(json(VersionSchema.properties.stage), { type: 'string', enum: [...STAGES] });
    assert.deepEqual(json(ModelSchema.properties.kind), { type: 'string', enum: [...MODEL_KINDS] });
    assert.deepEqual(AliasHistoryEntrySchema.properties.action.enum, ['alias.set', 'alias.delete', 'alias.freeze', 'alias.unfreeze']);
  });
  it('give the wire types literal unions, which the compiler holds values to', () => {
    // Checked by `tsc -b` (tests are compiled): each line fails to compile if its type widens to string.
    // @ts-expect-error a status outside VERSION_STATUSES
    const status: Version['status'] = 'DONE';
    // @ts-expect-error a stage outside STAGES
    const stage: Version['stage'] = 'staging';
    // @ts-expect-error a kind outside MODEL_KINDS
    const kind: Model['kind'] = 'checkpoint';
    // @ts-expect-error an alias action outside the four
    const action: AliasHistoryEntry['action'] = 'alias.move';
    const page: Page<Version['version']> = { items: [1, 2], next_cursor: null };
    assert.deepEqual([status, stage, kind, action, page.items], ['DONE', 'staging', 'checkpoint', 'alias.move', [1, 2]]);
  });
  it('pass a model snapshot through unfiltered when describing a model at a time', () => {
    const at: ModelAt = { at: '2026-03-08T14:32:00.000Z', model: { name: 'chatbot', kind: 'model' }, aliases: { champion: 2 } };
    assert.ok(Value.Check(ModelAtSchema, at));
    assert.ok(Value.Check(ModelAtSchema, { ...at, model: { name: 'chatbot', field_of_an_older_snapshot: 1 } }));
    assert.ok(Value.Check(ModelAtSchema, { ...at, model: null }));
  });
});
