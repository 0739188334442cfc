import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOffsetToken, encodeOffsetToken } from './offset-token.js';
import { encodeCursor } from './cursor.js';

describe('offset page tokens', () => {
  it('round-trips an offset and reads no token as the first page', () => {
    assert.equal(decodeOffsetToken(encodeOffsetToken(12345)), 12345);
    assert.equal(decodeOffsetToken(undefined), 0);
    assert.equal(decodeOffsetToken(''), 0);
  });

  it('refuses tokens it did not issue', () => {
    for (const t of ['garbage!', encodeCursor({ o: -1 }), encodeCursor({ o: 1.5 }), encodeCursor({ o: 'x' }), encodeCursor({ k: 1 })]) {
      assert.throws(
        () => decodeOffsetToken(t),
        (e: unknown) => {
          const err = e as { code?: string; message: string; details?: { field?: string } };
          return err.code === 'INVALID_ARGUMENT' && /Invalid page_token/.test(err.message) && err.details?.field === 'page_token';
        },
      );
    }
  });
});
