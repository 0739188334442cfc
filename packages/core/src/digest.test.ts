import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDigest, isSha256Hex, parseSha256, sha256Hex } from './digest.js';
import { canonicalJson } from './canonical-json.js';

describe('sha256', () => {
  it('matches the FIPS 180-2 test vector for "abc"', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex(new Uint8Array([0x61, 0x62, 0x63])), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  it('parses bare and prefixed hashes and rejects others', () => {
    const h = 'a'.repeat(64);
    assert.equal(parseSha256(h), h);
    assert.equal(parseSha256(`sha256:${h}`), h);
    assert.throws(() => parseSha256('A'.repeat(64)), /64 lowercase hex/);
    assert.throws(() => parseSha256('abc'), /invalid sha256/);
    assert.throws(() => parseSha256(undefined, 'digest'), /invalid digest/);
    assert.ok(isSha256Hex(h) && !isSha256Hex(`sha256:${h}`));
    assert.ok(isDigest(`sha256:${h}`) && !isDigest(h));
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson(undefined), 'null');
    assert.equal(canonicalJson(Number.NaN), 'null');
    assert.equal(canonicalJson('é"'), '"é\\""');
  });
});
