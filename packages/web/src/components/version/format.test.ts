import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCount } from './format.js';

describe('formatBytes', () => {
  it('prints bytes below a KiB as bytes, and larger sizes in binary units with three significant digits', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(15 * 1024 * 1024), '15.0 MiB');
    assert.equal(formatBytes(500 * 1024 ** 3), '500 GiB');
    assert.equal(formatBytes(2 * 1024 ** 6), '2048 PiB');
  });
});

describe('formatCount', () => {
  it('prints parameter counts with K, M, B and T', () => {
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(1500), '1.50 K');
    assert.equal(formatCount(7_241_732_096), '7.24 B');
    assert.equal(formatCount(1.2e12), '1.20 T');
  });
});
