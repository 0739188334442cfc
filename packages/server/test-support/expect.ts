import assert from 'node:assert/strict';
import { BerthError } from '@berth/core';
import type { Clock } from '../src/registry/actor.js';

/** Awaits `p` and asserts it rejects with a BerthError of `code` (and a message matching `match`); returns the error. */
export async function expectCode(p: Promise<unknown>, code: string, match?: RegExp): Promise<BerthError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BerthError, `expected BerthError, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (match) assert.match(err.message, match);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/**
 * The registry's clock under a test's control: it starts on 2026-03-01, moves on `advance`,
 * and by `step` ms at every reading when given (so each change gets its own instant).
 */
export class FakeClock implements Clock {
  constructor(
    public t = Date.parse('2026-03-01T00:00:00Z'),
    private readonly step = 0,
  ) {}
  now(): number {
    const t = this.t;
    this.t += this.step;
    return t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
