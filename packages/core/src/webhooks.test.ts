import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { eventMatches, validateEventFilters } from './webhooks.js';

test('validateEventFilters takes *, families, known types and governance types; empty means everything', () => {
  assert.deepEqual(validateEventFilters([]), ['*']);
  assert.deepEqual(validateEventFilters(['alias.moved', 'alias.moved', 'version.*', '*']), ['alias.moved', 'version.*', '*']);
  assert.deepEqual(validateEventFilters(['promotion.passed', 'token.*', 'webhook.created']), ['promotion.passed', 'token.*', 'webhook.created']);
});

test('validateEventFilters refuses an unknown type or family, naming it', () => {
  for (const bad of ['alias.moves', 'nothing.*', 'alias', 'promotion.', 'Promotion.passed']) {
    assert.throws(
      () => validateEventFilters(['alias.moved', bad]),
      (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && e.message.includes(JSON.stringify(bad)),
    );
  }
});

test('eventMatches: exact types, families and *', () => {
  assert.ok(eventMatches(['*'], 'alias.moved'));
  assert.ok(eventMatches(['alias.moved'], 'alias.moved'));
  assert.ok(eventMatches(['version.created', 'alias.*'], 'alias.deleted'));
  assert.ok(!eventMatches(['alias.*'], 'aliasx.moved'));
  assert.ok(!eventMatches(['version.created'], 'alias.moved'));
});
