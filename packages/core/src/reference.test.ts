import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatReference, parseReference } from './reference.js';

const D = `sha256:${'f'.repeat(64)}`;

describe('references', () => {
  it('parses every form of the grammar', () => {
    assert.deepEqual(parseReference('chatbot'), { name: 'chatbot', selector: { kind: 'latest' } });
    assert.deepEqual(parseReference('chatbot:3'), { name: 'chatbot', selector: { kind: 'version', version: 3 } });
    assert.deepEqual(parseReference('chatbot:latest'), { name: 'chatbot', selector: { kind: 'latest' } });
    assert.deepEqual(parseReference('chatbot@champion'), { name: 'chatbot', selector: { kind: 'alias', alias: 'champion' } });
    assert.deepEqual(parseReference('chatbot@latest'), { name: 'chatbot', selector: { kind: 'latest' } });
    assert.deepEqual(parseReference(`chatbot@${D}`), { name: 'chatbot', selector: { kind: 'digest', digest: D } });
    assert.deepEqual(parseReference('my-team/chatbot:3'), { name: 'my-team/chatbot', selector: { kind: 'version', version: 3 } });
  });
  it('parses MLflow model URIs', () => {
    assert.deepEqual(parseReference('models:/chatbot/3'), { name: 'chatbot', selector: { kind: 'version', version: 3 } });
    assert.deepEqual(parseReference('models:/chatbot/latest'), { name: 'chatbot', selector: { kind: 'latest' } });
    assert.deepEqual(parseReference('models:/chatbot@champion'), { name: 'chatbot', selector: { kind: 'alias', alias: 'champion' } });
    assert.deepEqual(parseReference('models:/my-team/chatbot/2'), { name: 'my-team/chatbot', selector: { kind: 'version', version: 2 } });
  });
  it('rejects malformed references with a message', () => {
    for (const [ref, m] of [
      ['', /reference is required/],
      [5, /reference is required/],
      ['chatbot:0', /positive integer/],
      ['chatbot:x', /positive integer/],
      ['chatbot:99999999999', /positive integer/],
      ['-bad:1', /not a valid model name/],
      ['chatbot@v2', /version reference/],
      ['chatbot@sha256:abc', /64 lowercase hex/],
      ['models:/chatbot', /expected models:\//],
      ['models:/chatbot/zero', /positive integer/],
    ] as [unknown, RegExp][]) {
      assert.throws(() => parseReference(ref), m, String(ref));
    }
  });
  it('formats back to the short form', () => {
    for (const r of ['chatbot', 'chatbot:3', 'chatbot@champion', `chatbot@${D}`]) assert.equal(formatReference(parseReference(r)), r);
  });
});
