import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { atFromSlider, formatUtc, fromUtcInput, sliderStep, sliderValue, toUtcInput, withAtParam } from './time.js';

describe('time travel helpers', () => {
  it('round-trips an instant through the UTC date-time input', () => {
    assert.equal(toUtcInput('2026-03-08T14:32:05.120Z'), '2026-03-08T14:32:05.120');
    assert.equal(fromUtcInput('2026-03-08T14:32:05.120'), '2026-03-08T14:32:05.120Z');
    assert.equal(fromUtcInput('2026-03-08T14:32'), '2026-03-08T14:32:00.000Z');
    assert.equal(fromUtcInput('2026-03-08T14:32:05'), '2026-03-08T14:32:05.000Z');
  });

  it('reads nothing from an input that is not a time', () => {
    for (const v of ['', 'yesterday', '2026-03-08', '2026-13-40T99:99', '2026-03-08T14:32Z']) assert.equal(fromUtcInput(v), null, v);
  });

  it('prints instants in UTC, with milliseconds only when they are not zero', () => {
    assert.equal(formatUtc('2026-03-08T14:32:00.000Z'), '2026-03-08 14:32:00 UTC');
    assert.equal(formatUtc('2026-03-08T14:32:00.250Z'), '2026-03-08 14:32:00.250 UTC');
    assert.equal(formatUtc('2026-03-08T15:32:00+01:00'), '2026-03-08 14:32:00 UTC');
  });

  it('sets and clears at in a query string, keeping the other parameters', () => {
    assert.equal(withAtParam('action=alias.set', '2026-03-08T14:32:00.000Z'), '?action=alias.set&at=2026-03-08T14%3A32%3A00.000Z');
    assert.equal(withAtParam('at=x&model=chatbot', null), '?model=chatbot');
    assert.equal(withAtParam('at=x', null), '');
    assert.equal(withAtParam('', '2026-03-08T14:32:00.000Z'), '?at=2026-03-08T14%3A32%3A00.000Z');
  });

  it('steps the slider by at least a second and by about a thousandth of the trail', () => {
    assert.equal(sliderStep(0, 60_000), 1000);
    assert.equal(sliderStep(0, 10_000_000), 10_000);
    assert.equal(sliderStep(0, 10_000_001), 11_000);
  });

  it('places now at the right end, clamps to the trail, and reads the right end back as now', () => {
    const min = Date.parse('2026-03-01T00:00:00Z');
    const max = Date.parse('2026-03-10T00:00:00Z');
    assert.equal(sliderValue(null, min, max), max);
    assert.equal(sliderValue('2026-03-08T14:32:00.000Z', min, max), Date.parse('2026-03-08T14:32:00Z'));
    assert.equal(sliderValue('2020-01-01T00:00:00.000Z', min, max), min);
    assert.equal(sliderValue('2030-01-01T00:00:00.000Z', min, max), max);
    assert.equal(atFromSlider(max, max), null);
    assert.equal(atFromSlider(min, max), '2026-03-01T00:00:00.000Z');
  });
});
