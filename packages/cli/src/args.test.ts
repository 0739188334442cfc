import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCount, parseDuration, parseExpect, parseNameVersion, parsePairs, parseValue } from './args.js';
import { UsageError } from './io.js';

describe('CLI argument parsing', () => {
  it('types metadata values the way they read', () => {
    assert.equal(parseValue('0.342'), 0.342);
    assert.equal(parseValue('-3'), -3);
    assert.equal(parseValue('1e-3'), 0.001);
    assert.equal(parseValue('true'), true);
    assert.equal(parseValue('null'), null);
    assert.deepEqual(parseValue('{"r":16}'), { r: 16 });
    assert.equal(parseValue('meta-llama/Llama-3-8B'), 'meta-llama/Llama-3-8B');
    assert.equal(parseValue('007'), '007', 'a leading zero stays text');
    assert.equal(parseValue('{not json}'), '{not json}');
    assert.equal(parseValue('1e400'), '1e400', 'a number JSON would turn into null stays text');
    assert.equal(parseValue('12345678901234567890'), '12345678901234567890', 'an integer past 2^53 stays text');
    assert.equal(parseValue('True'), 'True');
  });
  it('splits key=value pairs at the first = and refuses pairs without a key', () => {
    assert.deepEqual(parsePairs(['a=1', 'b=x=y'], 'tag', 'u', false), { a: '1', b: 'x=y' });
    assert.deepEqual(parsePairs(['val_loss=0.342'], 'metadata', 'u', true), { val_loss: 0.342 });
    assert.throws(
      () => parsePairs(['novalue'], 'tag', 'u', false),
      (e: unknown) => e instanceof UsageError && /--tag takes key=value/.test(e.message),
    );
    assert.throws(() => parsePairs(['=x'], 'tag', 'u', false), UsageError);
  });
  it('reads durations in seconds, minutes, hours and days', () => {
    assert.equal(parseDuration('3600', 'u'), 3600);
    assert.equal(parseDuration('90s', 'u'), 90);
    assert.equal(parseDuration('15m', 'u'), 900);
    assert.equal(parseDuration('24h', 'u'), 86400);
    assert.equal(parseDuration('7d', 'u'), 604800);
    assert.equal(parseDuration('1.5h', 'u'), 5400);
    assert.equal(parseDuration('0', 'u'), 0);
    assert.throws(() => parseDuration('soon', 'u'), /invalid duration/);
  });
  it('reads counts as whole numbers within bounds', () => {
    assert.equal(parseCount(undefined, 'limit', 'u'), undefined);
    assert.equal(parseCount('25', 'limit', 'u'), 25);
    assert.equal(parseCount('0', 'port', 'u', 0, 65535), 0);
    for (const bad of ['0', '-1', '1.5', 'ten', '', '1e3'])
      assert.throws(
        () => parseCount(bad, 'limit', 'u'),
        (e: unknown) => e instanceof UsageError && /--limit must be a whole number/.test(e.message),
        bad,
      );
    assert.throws(() => parseCount('70000', 'port', 'u', 0, 65535), /from 0 to 65535/);
  });
  it('reads --expect as a version or none', () => {
    assert.equal(parseExpect(undefined, 'u'), undefined);
    assert.equal(parseExpect('none', 'u'), null);
    assert.equal(parseExpect('3', 'u'), 3);
    assert.throws(() => parseExpect('0', 'u'), /must be a version number/);
  });
  it('tells a model from a model version', () => {
    assert.deepEqual(parseNameVersion('chatbot:2', 'u'), { name: 'chatbot', version: 2 });
    assert.deepEqual(parseNameVersion('my-team/chatbot:12', 'u'), { name: 'my-team/chatbot', version: 12 });
    assert.deepEqual(parseNameVersion('chatbot', 'u'), { name: 'chatbot' });
    assert.throws(() => parseNameVersion(undefined, 'u'), UsageError);
  });
});
