import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_EVENT_TYPES, eventId, eventTypeOf } from './events.js';

test('an alias set publishes alias.moved; a version create, version.created', () => {
  assert.equal(eventTypeOf('alias.set'), 'alias.moved');
  assert.equal(eventTypeOf('version.create'), 'version.created');
  assert.ok(KNOWN_EVENT_TYPES.includes('alias.moved'));
});

test('an action without an entry publishes under its own name', () => {
  assert.equal(eventTypeOf('promotion.nonexistent'), 'promotion.nonexistent');
  assert.equal(eventTypeOf('toString'), 'toString');
});

test('the event id is evt_<seq>', () => {
  assert.equal(eventId(42), 'evt_42');
});
