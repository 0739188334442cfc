import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth when objects nest inside arrays and objects', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }] } }), '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });
  it('gives the same text whatever the key insertion order', () => {
    assert.equal(canonicalJson({ x: 1, y: [1, 2], z: { q: null } }), canonicalJson({ z: { q: null }, y: [1, 2], x: 1 }));
    assert.notEqual(canonicalJson({ y: [1, 2] }), canonicalJson({ y: [2, 1] }), 'array order is data, not layout');
  });
  it('orders keys by UTF-16 code unit when keys differ in case or script', () => {
    assert.equal(canonicalJson({ a: 1, B: 2, é: 3, _: 4 }), '{"B":2,"_":4,"a":1,"é":3}');
  });
  it('drops undefined members and writes undefined, NaN and infinities as null when they stand alone', () => {
    assert.equal(canonicalJson({ a: undefined, b: null }), '{"b":null}');
    assert.equal(canonicalJson([undefined, Number.NaN, Number.POSITIVE_INFINITY]), '[null,null,null]');
    assert.equal(canonicalJson(undefined), 'null');
    assert.equal(canonicalJson(null), 'null');
  });
  it('writes scalars as JSON.stringify does when they are finite', () => {
    assert.equal(canonicalJson('é"\n'), '"é\\"\\n"');
    assert.equal(canonicalJson(-0.5), '-0.5');
    assert.equal(canonicalJson(true), 'true');
    assert.equal(canonicalJson({}), '{}');
    assert.equal(canonicalJson([]), '[]');
  });
});
