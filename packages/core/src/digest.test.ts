import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { isDigest, isSha256Hex, parseSha256, sha256Hex } from './digest.js';

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 test vectors when given text or bytes', () => {
    assert.equal(sha256Hex('abc'), ABC);
    assert.equal(sha256Hex(new Uint8Array([0x61, 0x62, 0x63])), ABC);
    assert.equal(sha256Hex(''), EMPTY);
    assert.equal(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });
  it('hashes text as UTF-8 when it is not ASCII', () => {
    assert.equal(sha256Hex('é'), sha256Hex(new Uint8Array([0xc3, 0xa9])));
  });
});

describe('parseSha256', () => {
  it('returns bare lowercase hex when given a bare or sha256:-prefixed hash', () => {
    assert.equal(parseSha256(ABC), ABC);
    assert.equal(parseSha256(`sha256:${ABC}`), ABC);
  });
  it('rejects a hash with INVALID_ARGUMENT naming the field when it is not 64 lowercase hex digits', () => {
    for (const v of [ABC.toUpperCase(), 'abc', `${ABC}0`, `sha512:${ABC}`, `sha256:sha256:${ABC}`, '', undefined, 42]) {
      assert.throws(
        () => parseSha256(v, 'digest'),
        (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /invalid digest/.test(e.message) && e.details.field === 'digest',
        String(v),
      );
    }
    assert.throws(() => parseSha256('x'), /invalid sha256 "x": expected 64 lowercase hex/);
  });
});

describe('isSha256Hex and isDigest', () => {
  it('tell bare hex from sha256: digests when given either', () => {
    assert.equal(isSha256Hex(ABC), true);
    for (const v of [`sha256:${ABC}`, ABC.toUpperCase(), ABC.slice(1), 1]) assert.equal(isSha256Hex(v), false, String(v));
    assert.equal(isDigest(`sha256:${ABC}`), true);
    for (const v of [ABC, `sha256:${ABC.slice(1)}`, `SHA256:${ABC}`, null]) assert.equal(isDigest(v), false, String(v));
  });
});
