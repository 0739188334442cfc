import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Promotion } from '@berth/core';
import { promotionAt } from './promotion-at.js';

const p: Promotion = {
  id: 'prm_1',
  model: 'chatbot',
  version: 2,
  alias: 'champion',
  kind: 'promotion',
  state: 'passed',
  previous_version: 1,
  policy: null,
  report: null,
  required_approvals: 2,
  approvals: [
    { by: 'ann', at: '2026-03-08T10:00:00.000Z', reason: null },
    { by: 'bob', at: '2026-03-08T12:00:00.000Z', reason: 'ok' },
  ],
  requested_by: 'ci',
  reason: null,
  created_at: '2026-03-08T09:00:00.000Z',
  decided_at: '2026-03-08T12:00:00.000Z',
};

describe('promotionAt', () => {
  it('is the promotion itself now', () => {
    assert.equal(promotionAt(p, null), p);
  });
  it('leaves out a promotion requested after the time', () => {
    assert.equal(promotionAt(p, '2026-03-08T08:59:59.000Z'), undefined);
  });
  it('shows a promotion decided later as pending, with the approvals given by then', () => {
    const then = promotionAt(p, '2026-03-08T11:00:00.000Z');
    assert.equal(then?.state, 'pending');
    assert.equal(then?.decided_at, null);
    assert.deepEqual(
      then?.approvals.map((a) => a.by),
      ['ann'],
    );
  });
  it('shows a promotion decided by then as it is', () => {
    assert.equal(promotionAt(p, '2026-03-08T12:00:00.000Z')?.state, 'passed');
  });
});
