import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '@berth/core';
import { bytes, shortDigest, table, when } from './format.js';
import { ProgressBar, render } from './progress.js';
import { conflictMessage } from '../commands/alias.js';

describe('CLI output', () => {
  it('formats sizes, digests and times', () => {
    assert.equal(bytes(512), '512 B');
    assert.equal(bytes(3_000_000), '2.9 MiB');
    assert.equal(bytes(1024 ** 3), '1.0 GiB');
    assert.equal(shortDigest(`sha256:${'ab'.repeat(32)}`), 'sha256:abababababab');
    assert.equal(when('2026-03-08T14:32:00.000Z'), '2026-03-08 14:32:00Z');
    assert.equal(when(null), '-');
  });
  it('aligns table columns and marks empty cells', () => {
    assert.equal(
      table(
        ['A', 'LONGER'],
        [
          ['xyz', ''],
          ['q', 5],
        ],
      ),
      'A    LONGER\nxyz  -\nq    5\n',
    );
  });
  it('renders a progress line with percent, bytes and rate', () => {
    const line = render('uploading', 512 * 1024 * 1024, 1024 ** 3, 2, 80);
    assert.match(line, /^uploading \[#+\.+\] {2}50% 512 MiB\/1\.0 GiB 256 MiB\/s$/);
    assert.ok(line.length <= 80);
  });
  it('draws progress only on a terminal, and ends at 100%', () => {
    const quiet: string[] = [];
    new ProgressBar({ write: (s) => quiet.push(s), isTTY: false }).update('x', 1, 2, true);
    assert.deepEqual(quiet, []);
    const out: string[] = [];
    const bar = new ProgressBar({ write: (s) => out.push(s), isTTY: true, columns: 60 });
    bar.update('pulling', 10, 100, true);
    bar.done();
    assert.match(out.at(-2) ?? '', /100%/);
    assert.equal(out.at(-1), '\n');
  });
  it('explains a lost compare-and-swap with the current value', () => {
    const e = new BerthError('CONFLICT', 'x', { alias: 'champion', expected: 1, current: 2 });
    assert.equal(conflictMessage(e), 'champion is at 2 now (expected 1); nothing was changed');
    const unset = new BerthError('CONFLICT', 'x', { alias: 'staging', expected: 3, current: null });
    assert.equal(conflictMessage(unset), 'staging is not set now (expected 3); nothing was changed');
  });
});
