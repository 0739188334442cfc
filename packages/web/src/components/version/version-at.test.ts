import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '@berth/core';
import { editableAt, existedAt, promotionStateAt } from './version-at.js';

const event = (action: string, subject: string, before: unknown): AuditEvent => ({
  seq: 1,
  at: '2026-03-08T15:00:00.000Z',
  actor: 'ci',
  action,
  model: 'chatbot',
  subject,
  before,
  after: null,
  reason: null,
  prev_hash: '',
  hash: '',
});

const now = { description: 'now', metadata: { accuracy: 0.93 }, tags: { env: 'prod' }, stage: 'Production' as const };

describe('editableAt', () => {
  it('takes the fields from the first update and the first stage change after T of the same version', () => {
    const got = editableAt(now, 'chatbot:2', [
      event('version.update', 'chatbot:1', { description: 'other version', metadata: {}, tags: {} }),
      event('version.update', 'chatbot:2', { description: 'then', metadata: { accuracy: 0.9 }, tags: {} }),
      event('version.update', 'chatbot:2', { description: 'later', metadata: { accuracy: 0.91 }, tags: { env: 'staging' } }),
      event('version.stage', 'chatbot:2', { stage: 'Staging' }),
      event('version.stage', 'chatbot:2', { stage: 'None' }),
    ]);
    assert.deepEqual(got, { description: 'then', metadata: { accuracy: 0.9 }, tags: {}, stage: 'Staging' });
  });

  it('keeps the fields of now when nothing after T touched them, or an event carries no before', () => {
    assert.deepEqual(editableAt(now, 'chatbot:2', []), now);
    assert.deepEqual(editableAt(now, 'chatbot:2', [event('version.update', 'chatbot:2', null), event('alias.set', 'chatbot:2', { version: 1 })]), now);
    assert.deepEqual(editableAt(now, 'chatbot:2', [event('version.update', 'chatbot:2', { metadata: [], tags: 'x' })]), now);
  });
});

describe('promotionStateAt', () => {
  it('shows a promotion decided after T as pending at T, and as decided otherwise', () => {
    const p = { state: 'passed', decided_at: '2026-03-08T15:00:00.000Z' };
    assert.equal(promotionStateAt(p, '2026-03-08T14:32:00.000Z'), 'pending');
    assert.equal(promotionStateAt(p, '2026-03-08T15:00:00.000Z'), 'passed');
    assert.equal(promotionStateAt(p, null), 'passed');
    assert.equal(promotionStateAt({ state: 'pending', decided_at: null }, '2026-03-08T14:32:00.000Z'), 'pending');
  });
});

describe('existedAt', () => {
  it('is true at or after creation, and always without a time', () => {
    assert.equal(existedAt('2026-03-08T14:32:00.000Z', '2026-03-08T14:32:00.000Z'), true);
    assert.equal(existedAt('2026-03-08T14:32:00.001Z', '2026-03-08T14:32:00.000Z'), false);
    assert.equal(existedAt('2030-01-01T00:00:00.000Z', null), true);
  });
});
