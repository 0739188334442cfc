import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { looksLikeToken, parseExpiresIn, validateTokenName } from './tokens.js';

describe('tokens', () => {
  it('reads expiry durations in minutes, hours and days', () => {
    assert.equal(parseExpiresIn('90m'), 90 * 60_000);
    assert.equal(parseExpiresIn('12h'), 12 * 3_600_000);
    assert.equal(parseExpiresIn('30d'), 30 * 86_400_000);
  });
  it('refuses a duration without a unit, with a zero, a fraction or another unit, naming the field', () => {
    for (const bad of ['30', '0d', '1.5h', '2w', '-1d', 'd', '', '1234567d']) {
      assert.throws(
        () => parseExpiresIn(bad, '--expires'),
        (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && e.details.field === '--expires' && e.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
  });
  it('accepts token names of name characters and refuses others and the local user', () => {
    assert.equal(validateTokenName('ci-bot.v2_1'), 'ci-bot.v2_1');
    for (const bad of ['', '-x', 'a b', 'a:b', 'x'.repeat(65), 'local', 'self-declared:x']) {
      assert.throws(
        () => validateTokenName(bad),
        (e: unknown) => e instanceof BerthError && e.details.field === 'name',
        bad,
      );
    }
  });
  it('tells the shape of a token from other text', () => {
    assert.equal(looksLikeToken(`hf_${'a1B'.repeat(13)}x`), true);
    assert.equal(looksLikeToken(`hf_${'a'.repeat(39)}`), false);
    assert.equal(looksLikeToken(`hf_${'a'.repeat(39)}!`), false);
    assert.equal(looksLikeToken(`xx_${'a'.repeat(40)}`), false);
  });
});
