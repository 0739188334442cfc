import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, ERROR_CODES, EXIT_CODE, HTTP_STATUS, invalid, isErrorCode, notFound } from './errors.js';

describe('BerthError', () => {
  it('carries a code, its HTTP status and a JSON shape', () => {
    const e = new BerthError('CONFLICT', 'champion is at 2 now', { current: 2 });
    assert.equal(e.status, 409);
    assert.deepEqual(e.toJSON(), { error: { code: 'CONFLICT', message: 'champion is at 2 now', details: { current: 2 } } });
    assert.deepEqual(new BerthError('INTERNAL', 'x').details, {});
    assert.equal(invalid('bad').code, 'INVALID_ARGUMENT');
    assert.equal(notFound('gone', { a: 1 }).details.a, 1);
  });
  it('maps every code to a status and an exit code as DESIGN says', () => {
    assert.equal(ERROR_CODES.length, 9);
    assert.equal(HTTP_STATUS.NOT_FOUND, 404);
    assert.equal(EXIT_CODE.NOT_FOUND, 3);
    assert.equal(EXIT_CODE.CONFLICT, 4);
    assert.equal(EXIT_CODE.ALREADY_EXISTS, 4);
    assert.equal(EXIT_CODE.INVALID_ARGUMENT, 2);
    assert.equal(EXIT_CODE.FAILED_PRECONDITION, 1);
    assert.ok(isErrorCode('CONFLICT'));
    assert.ok(!isErrorCode('NOPE'));
    assert.ok(!isErrorCode(3));
  });
});
