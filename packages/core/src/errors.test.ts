import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, ERROR_CODES, EXIT_CODE, HTTP_STATUS, invalid, isErrorCode, notFound } from './errors.js';

describe('BerthError', () => {
  it('carries its code, message, details and HTTP status when thrown', () => {
    const e = new BerthError('CONFLICT', 'champion is at 2 now', { current: 2 });
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'BerthError');
    assert.equal(e.message, 'champion is at 2 now');
    assert.equal(e.status, 409);
    assert.deepEqual(e.details, { current: 2 });
  });
  it('serialises to the wire shape { error: { code, message, details } } when given to JSON.stringify', () => {
    const e = new BerthError('NOT_FOUND', 'model "ghost" not found', { model: 'ghost' });
    assert.deepEqual(JSON.parse(JSON.stringify(e)), { error: { code: 'NOT_FOUND', message: 'model "ghost" not found', details: { model: 'ghost' } } });
  });
  it('defaults details to an empty object when none are given', () => {
    assert.deepEqual(new BerthError('INTERNAL', 'x').details, {});
    assert.deepEqual(invalid('bad').details, {});
  });
  it('builds INVALID_ARGUMENT and NOT_FOUND through the shorthands', () => {
    assert.equal(invalid('bad', { field: 'name' }).code, 'INVALID_ARGUMENT');
    assert.equal(invalid('bad').status, 400);
    const e = notFound('gone', { a: 1 });
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.details.a, 1);
  });
});

describe('error tables', () => {
  it('map every code to the HTTP status and CLI exit code of DESIGN §4 and §6', () => {
    assert.deepEqual(Object.fromEntries(ERROR_CODES.map((c) => [c, [HTTP_STATUS[c], EXIT_CODE[c]]])), {
      INVALID_ARGUMENT: [400, 2],
      UNAUTHENTICATED: [401, 1],
      PERMISSION_DENIED: [403, 1],
      NOT_FOUND: [404, 3],
      ALREADY_EXISTS: [409, 4],
      CONFLICT: [409, 4],
      FAILED_PRECONDITION: [412, 1],
      PAYLOAD_TOO_LARGE: [413, 2],
      INTERNAL: [500, 1],
    });
  });
  it('list the same codes in both tables', () => {
    assert.deepEqual(Object.keys(EXIT_CODE).sort(), [...ERROR_CODES].sort());
  });
});

describe('isErrorCode', () => {
  it('accepts known codes and rejects others when given any value', () => {
    for (const c of ERROR_CODES) assert.ok(isErrorCode(c), c);
    for (const v of ['NOPE', 'not_found', 'toString', '__proto__', 3, undefined]) assert.ok(!isErrorCode(v), String(v));
  });
});
