import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyPatternMatches, modelPatternMatches, validateModelPattern } from './patterns.js';
import { BerthError } from './errors.js';

test('a pattern without * matches only the same name', () => {
  assert.equal(modelPatternMatches('chatbot', 'chatbot'), true);
  assert.equal(modelPatternMatches('chatbot', 'chatbot2'), false);
  assert.equal(modelPatternMatches('chatbot', 'Chatbot'), false);
});

test('* matches any run of characters, the whole name only', () => {
  assert.equal(modelPatternMatches('chatbot*', 'chatbot'), true);
  assert.equal(modelPatternMatches('chatbot*', 'chatbot-lora'), true);
  assert.equal(modelPatternMatches('chatbot*', 'my-chatbot'), false);
  assert.equal(modelPatternMatches('*-prod', 'a-prod'), true);
  assert.equal(modelPatternMatches('*-prod', 'a-prod-x'), false);
  assert.equal(modelPatternMatches('team/*/v*', 'team/x/v2'), true);
  assert.equal(modelPatternMatches('team/*/v*', 'team/x/w2'), false);
  assert.equal(modelPatternMatches('a*b*c', 'abc'), true);
  assert.equal(modelPatternMatches('a*b*c', 'acb'), false);
  assert.equal(modelPatternMatches('ab*ba', 'aba'), false);
  assert.equal(modelPatternMatches('a*bc*c', 'abc'), false);
  assert.equal(modelPatternMatches('*', 'anything'), true);
});

test('anyPatternMatches is true when one pattern matches', () => {
  assert.equal(anyPatternMatches(['x*', 'chat*'], 'chatbot'), true);
  assert.equal(anyPatternMatches(['x*'], 'chatbot'), false);
  assert.equal(anyPatternMatches([], 'chatbot'), false);
});

test('validateModelPattern refuses characters outside model names', () => {
  assert.equal(validateModelPattern('chat*'), 'chat*');
  for (const bad of ['', 'a b', 'a?', '../x', 'x'.repeat(257)]) {
    assert.throws(
      () => validateModelPattern(bad),
      (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && /pattern/.test(e.message),
    );
  }
});
