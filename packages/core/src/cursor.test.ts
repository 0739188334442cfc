import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor, MAX_PAGE_SIZE, pageSize } from './cursor.js';

const invalidCursor = (fn: () => unknown) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /invalid cursor/.test(e.message) && e.details.field === 'cursor',
  );

describe('cursors', () => {
  it('round-trips a position through a URL-safe opaque string when it holds strings and numbers', () => {
    const c = encodeCursor({ n: 'my-team/chatbot', v: 42 });
    assert.match(c, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(c, ['n', 'v']), { n: 'my-team/chatbot', v: 42 });
  });
  it('round-trips non-ASCII text and base64 that needs - and _ when bytes call for them', () => {
    const position = { n: 'ünï~~~?>>>', v: 0 };
    const c = encodeCursor(position);
    assert.match(c, /[-_]/);
    assert.deepEqual(decodeCursor(c, ['n', 'v']), position);
  });
  it('rejects a cursor when it is not base64, not JSON, not an object or lacks a key', () => {
    invalidCursor(() => decodeCursor('%%%', ['n']));
    invalidCursor(() => decodeCursor(btoa('not json'), ['n']));
    invalidCursor(() => decodeCursor(btoa('[1]'), ['n']));
    invalidCursor(() => decodeCursor(btoa('null'), ['n']));
    invalidCursor(() => decodeCursor(encodeCursor({ x: 1 }), ['n']));
    invalidCursor(() => decodeCursor(btoa('{"n":{"o":1}}'), ['n']));
  });
});

describe('pageSize', () => {
  it('uses the default when no limit is given', () => {
    for (const v of [undefined, null, '']) assert.equal(pageSize(v), DEFAULT_PAGE_SIZE);
  });
  it('accepts whole numbers from 1 to the maximum when given as numbers or strings', () => {
    assert.equal(pageSize(1), 1);
    assert.equal(pageSize('25'), 25);
    assert.equal(pageSize(MAX_PAGE_SIZE), MAX_PAGE_SIZE);
  });
  it('rejects a limit when it is out of range, fractional or not a number', () => {
    for (const v of [0, -1, MAX_PAGE_SIZE + 1, 2.5, 'x', '1e9', '2.5', '0x10', ' 5 ', true]) assert.throws(() => pageSize(v), /invalid limit/, String(v));
  });
});
