import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isoTime, parseInstant } from './time.js';
import { decodeCursor, encodeCursor, pageSize, DEFAULT_PAGE_SIZE } from './cursor.js';

describe('parseInstant', () => {
  it('reads ISO times with a zone, dates and epoch milliseconds', () => {
    assert.equal(parseInstant('2026-03-08T14:32:00Z'), Date.UTC(2026, 2, 8, 14, 32));
    assert.equal(parseInstant('2026-03-08T15:32:00+01:00'), Date.UTC(2026, 2, 8, 14, 32));
    assert.equal(parseInstant('2026-03-08T14:32:00.123Z'), Date.UTC(2026, 2, 8, 14, 32, 0, 123));
    assert.equal(parseInstant('2026-03-08'), Date.UTC(2026, 2, 8));
    assert.equal(parseInstant('1700000000000'), 1_700_000_000_000);
    assert.equal(parseInstant(42), 42);
    assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
  });
  it('rejects times without a zone and nonsense', () => {
    for (const v of ['2026-03-08T14:32:00', 'yesterday', '2026-13-45', '', -1, null, 1.5]) assert.throws(() => parseInstant(v, 'since'), /invalid since/, String(v));
  });
});

describe('cursors and page sizes', () => {
  it('round-trips a position through an opaque cursor', () => {
    const c = encodeCursor({ n: 'my-team/chatbot', v: 42 });
    assert.match(c, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(c, ['n', 'v']), { n: 'my-team/chatbot', v: 42 });
    assert.deepEqual(decodeCursor(encodeCursor({ n: 'ünï' }), ['n']), { n: 'ünï' });
  });
  it('rejects cursors that were not issued by the server', () => {
    assert.throws(() => decodeCursor('%%%', ['n']), /invalid cursor/);
    assert.throws(() => decodeCursor(encodeCursor({ x: 1 }), ['n']), /invalid cursor/);
    assert.throws(() => decodeCursor(btoa('[1]'), ['n']), /invalid cursor/);
  });
  it('bounds page sizes', () => {
    assert.equal(pageSize(undefined), DEFAULT_PAGE_SIZE);
    assert.equal(pageSize(''), DEFAULT_PAGE_SIZE);
    assert.equal(pageSize('25'), 25);
    assert.equal(pageSize(1000), 1000);
    assert.throws(() => pageSize(0), /invalid limit/);
    assert.throws(() => pageSize(1001), /invalid limit/);
    assert.throws(() => pageSize('x'), /invalid limit/);
  });
});
