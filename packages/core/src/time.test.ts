import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isoTime, parseInstant } from './time.js';

describe('parseInstant', () => {
  it('reads ISO 8601 times when they carry a zone', () => {
    assert.equal(parseInstant('2026-03-08T14:32:00Z'), Date.UTC(2026, 2, 8, 14, 32));
    assert.equal(parseInstant('2026-03-08T15:32:00+01:00'), Date.UTC(2026, 2, 8, 14, 32));
    assert.equal(parseInstant('2026-03-08T14:32:00.123Z'), Date.UTC(2026, 2, 8, 14, 32, 0, 123));
    assert.equal(parseInstant('2026-03-08T14:32Z'), Date.UTC(2026, 2, 8, 14, 32));
    assert.equal(parseInstant(' 2026-03-08T14:32:00Z '), Date.UTC(2026, 2, 8, 14, 32));
  });
  it('reads a bare date as UTC midnight', () => {
    assert.equal(parseInstant('2026-03-08'), Date.UTC(2026, 2, 8));
  });
  it('reads epoch milliseconds when given as a number or digits', () => {
    assert.equal(parseInstant('1700000000000'), 1_700_000_000_000);
    assert.equal(parseInstant(42), 42);
    assert.equal(parseInstant(0), 0);
  });
  it('rejects a time when it has no zone, is not a time or is not a whole non-negative number', () => {
    for (const v of [
      '2026-03-08T14:32:00',
      'yesterday',
      '2026-13-45',
      '2026-02-30',
      '2026-04-31T12:00:00Z',
      '',
      -1,
      null,
      1.5,
      Number.MAX_SAFE_INTEGER + 2,
      {},
    ]) {
      assert.throws(() => parseInstant(v, 'since'), /invalid since/, String(v));
    }
  });
});

describe('isoTime', () => {
  it('writes UTC with milliseconds when given epoch ms', () => {
    assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
    assert.equal(isoTime(Date.UTC(2026, 2, 8, 14, 32, 0, 5)), '2026-03-08T14:32:00.005Z');
  });
});
