import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { formatReference, parseReference, type Reference } from './reference.js';

const D = `sha256:${'f'.repeat(64)}`;
const latest = (name: string): Reference => ({ name, selector: { kind: 'latest' } });
const version = (name: string, v: number): Reference => ({ name, selector: { kind: 'version', version: v } });
const alias = (name: string, a: string): Reference => ({ name, selector: { kind: 'alias', alias: a } });

describe('parseReference', () => {
  it('parses every short form when the name may carry a namespace', () => {
    const cases: [string, Reference][] = [
      ['chatbot', latest('chatbot')],
      ['chatbot:3', version('chatbot', 3)],
      ['chatbot:latest', latest('chatbot')],
      ['chatbot@champion', alias('chatbot', 'champion')],
      ['chatbot@latest', latest('chatbot')],
      [`chatbot@${D}`, { name: 'chatbot', selector: { kind: 'digest', digest: D } }],
      ['my-team/chatbot', latest('my-team/chatbot')],
      ['my-team/chatbot:3', version('my-team/chatbot', 3)],
      ['my-team/chatbot@champion', alias('my-team/chatbot', 'champion')],
      ['chatbot:2147483647', version('chatbot', 2147483647)],
    ];
    for (const [ref, want] of cases) assert.deepEqual(parseReference(ref), want, ref);
  });
  it('parses MLflow models:/ URIs onto the same selectors', () => {
    const cases: [string, Reference][] = [
      ['models:/chatbot/3', version('chatbot', 3)],
      ['models:/chatbot/latest', latest('chatbot')],
      ['models:/chatbot@champion', alias('chatbot', 'champion')],
      ['models:/chatbot@latest', latest('chatbot')],
      [`models:/chatbot@${D}`, { name: 'chatbot', selector: { kind: 'digest', digest: D } }],
      ['models:/my-team/chatbot/2', version('my-team/chatbot', 2)],
      ['models:/my-team/chatbot@champion', alias('my-team/chatbot', 'champion')],
    ];
    for (const [ref, want] of cases) assert.deepEqual(parseReference(ref), want, ref);
  });
  it('rejects a reference with INVALID_ARGUMENT and a reason when it is malformed', () => {
    const cases: [unknown, RegExp][] = [
      ['', /reference is required/],
      [5, /reference is required/],
      [undefined, /reference is required/],
      ['chatbot:0', /positive integer/],
      ['chatbot:01', /positive integer/],
      ['chatbot:-1', /positive integer/],
      ['chatbot:x', /positive integer/],
      ['chatbot:', /positive integer/],
      ['chatbot:2147483648', /positive integer/],
      ['chatbot:99999999999', /positive integer/],
      ['-bad:1', /"-bad" is not a valid model name/],
      ['.x', /not a valid model name/],
      ['a/b/c:1', /not a valid model name/],
      ['@champion', /"" is not a valid model name/],
      ['chatbot@', /alias "": use 1-255/],
      ['chatbot@v2', /version reference/],
      ['chatbot@12', /version number/],
      ['chatbot@LATEST', /reserved/],
      ['chatbot@sha256:abc', /64 lowercase hex/],
      [`chatbot@${D.toUpperCase().replace('SHA256', 'sha256')}`, /64 lowercase hex/],
      ['models:/chatbot', /expected models:\/<name>\/<version>/],
      ['models:/', /expected models:\//],
      ['models:/chatbot/zero', /positive integer/],
      ['models:/chatbot/', /positive integer/],
      ['models:/@champion', /not a valid model name/],
      ['models:/chatbot@v1', /version reference/],
      ['models:/-x/1', /not a valid model name/],
    ];
    for (const [ref, m] of cases) {
      assert.throws(
        () => parseReference(ref),
        (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && e.details.field === 'reference' && m.test(e.message),
        String(ref),
      );
    }
  });
});

describe('formatReference', () => {
  it('writes the short form back when given a parsed reference', () => {
    for (const r of ['chatbot', 'chatbot:3', 'chatbot@champion', `chatbot@${D}`, 'my-team/chatbot:2']) assert.equal(formatReference(parseReference(r)), r);
  });
  it('writes models:/ URIs in the short form when they are parsed first', () => {
    assert.equal(formatReference(parseReference('models:/chatbot/3')), 'chatbot:3');
    assert.equal(formatReference(parseReference('models:/chatbot@champion')), 'chatbot@champion');
    assert.equal(formatReference(parseReference('models:/chatbot/latest')), 'chatbot');
  });
});
