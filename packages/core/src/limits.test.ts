import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from './errors.js';
import { checkJsonDepth, MAX_JSON_DEPTH, nestsDeeperThan } from './limits.js';

/** `depth` levels of alternating objects and arrays around a string. */
function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

describe('JSON depth limit', () => {
  it('counts only arrays and plain objects, the value itself included', () => {
    assert.equal(nestsDeeperThan('text', 0), false);
    assert.equal(nestsDeeperThan(null, 0), false);
    assert.equal(nestsDeeperThan({}, 0), true);
    assert.equal(nestsDeeperThan({}, 1), false);
    assert.equal(nestsDeeperThan(Object.create(null), 0), true);
    assert.equal(nestsDeeperThan({ d: new Date(0) }, 1), false, 'a Date is a leaf, not a level');
    assert.equal(nestsDeeperThan(nested(3), 3), false);
    assert.equal(nestsDeeperThan(nested(4), 3), true);
  });

  it('walks input far deeper than the call stack allows without overflowing', () => {
    assert.equal(nestsDeeperThan(nested(200_000)), true);
    assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH)), false);
  });

  it('refuses a value past the limit with INVALID_ARGUMENT naming the limit and the field', () => {
    assert.doesNotThrow(() => checkJsonDepth(nested(MAX_JSON_DEPTH), 'metadata'));
    assert.throws(
      () => checkJsonDepth(nested(MAX_JSON_DEPTH + 1), 'metadata', 'metadata'),
      (err: unknown) =>
        err instanceof BerthError &&
        err.code === 'INVALID_ARGUMENT' &&
        err.message.includes(`deeper than ${MAX_JSON_DEPTH} levels`) &&
        err.details.limit === MAX_JSON_DEPTH &&
        err.details.field === 'metadata',
    );
    assert.throws(
      () => checkJsonDepth(nested(MAX_JSON_DEPTH + 1), 'the request body'),
      (err: unknown) => err instanceof BerthError && !('field' in err.details),
    );
  });
});
