import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Alias, AliasHistoryEntry, AuditEvent, Model, Page, Run, Version } from './types.js';
import { AliasHistoryEntrySchema, AliasSchema, AuditEventSchema, ModelSchema, PageSchema, RunSchema, VersionSchema } from './schemas.js';

// types.ts has no runtime code: what can go wrong is the wire types drifting from the
// response schemas the server serialises (and filters) with. Each value below is checked by the
// compiler against its type (so it has every field the type requires) and at run time against
// its schema: a field the schema requires and the type lacks fails the check, and a field the
// type has and the schema lacks (which serialisation would silently drop) fails the key test.
const at = '2026-03-08T14:32:00.000Z';
// TypeBox checks no string format until one is registered (the server validates with Ajv).
FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v));

const model: Model = {
  name: 'chatbot',
  kind: 'model',
  description: '',
  tags: { task: 'support' },
  aliases: { champion: 2 },
  protected_aliases: ['champion'],
  frozen_aliases: [],
  latest_version: 2,
  version_count: 2,
  created_at: at,
  updated_at: at,
};

const version: Version = {
  model: 'chatbot',
  version: 2,
  digest: `sha256:${'a'.repeat(64)}`,
  status: 'READY',
  stage: 'None',
  size: 12,
  file_count: 1,
  files: [{ path: 'model.safetensors', size: 12, sha256: 'b'.repeat(64) }],
  metadata: { val_loss: 0.342 },
  tags: {},
  description: '',
  source: null,
  run_id: null,
  dependencies: [{ model: 'base', version: 1, digest: `sha256:${'c'.repeat(64)}` }],
  aliases: ['champion'],
  created_by: 'local',
  created_at: at,
  updated_at: at,
};

const alias: Alias = { model: 'chatbot', alias: 'champion', version: 2, protected: true, frozen: false, updated_by: 'local', updated_at: at };

const history: AliasHistoryEntry = { seq: 7, at, actor: 'local', action: 'alias.set', model: 'chatbot', alias: 'champion', from_version: 1, to_version: 2, reason: null };

const event: AuditEvent = {
  seq: 7,
  at,
  actor: 'local',
  action: 'alias.set',
  model: 'chatbot',
  subject: 'chatbot@champion',
  before: { version: 1 },
  after: { version: 2 },
  reason: 'beats v1',
  prev_hash: '0'.repeat(64),
  hash: 'f'.repeat(64),
};

const run: Run = {
  run_id: 'run-123',
  experiment: 'default',
  name: null,
  status: 'RUNNING',
  params: { lr: '0.1' },
  metrics: { loss: 0.5 },
  tags: {},
  datasets: [{ name: 'train', digest: 'd1', source: null }],
  created_at: at,
  updated_at: at,
};

const pairs = [
  [ModelSchema, model],
  [VersionSchema, version],
  [AliasSchema, alias],
  [AliasHistoryEntrySchema, history],
  [AuditEventSchema, event],
  [RunSchema, run],
] as const;

describe('wire types', () => {
  it('match the response schemas when a value of each type is checked', () => {
    for (const [schema, value] of pairs) assert.deepEqual([...Value.Errors(schema, value)].map((e) => `${e.path}: ${e.message}`), [], JSON.stringify(value));
  });
  it('list in the schema every field the type has, so serialisation drops none', () => {
    for (const [schema, value] of pairs) assert.deepEqual(Object.keys(value).filter((k) => !(k in schema.properties)), [], JSON.stringify(value));
  });
  it('match the page schema when a page of versions is checked', () => {
    const page: Page<Version> = { items: [version], next_cursor: null };
    assert.ok(Value.Check(PageSchema(VersionSchema), page));
  });
  it('fail the schema when a required field is missing', () => {
    const { digest: _digest, ...noDigest } = version;
    assert.ok(!Value.Check(VersionSchema, noDigest));
  });
});
