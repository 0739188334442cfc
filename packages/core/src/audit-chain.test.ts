import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditEventHash, chainEvent, ChainVerifier, GENESIS_HASH, verifyChain, type ChainedAuditEvent } from './audit-chain.js';

function chain(n: number): ChainedAuditEvent[] {
  const out: ChainedAuditEvent[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const e = chainEvent(prev, { seq: i, at: 1_700_000_000_000 + i, actor: 'local', action: 'alias.set', model: 'chatbot', subject: 'chatbot@champion', before: { version: i - 1 }, after: { version: i }, reason: i % 2 ? 'why' : null });
    out.push(e);
    prev = e.hash;
  }
  return out;
}

describe('audit chain', () => {
  it('verifies an untouched chain and reports its head', () => {
    const c = chain(5);
    const v = verifyChain(c, { seq: 5, hash: c[4].hash });
    assert.equal(v.ok, true);
    assert.equal(v.checked, 5);
    assert.equal(v.last_seq, 5);
    assert.equal(c[0].prev_hash, GENESIS_HASH);
    assert.equal(verifyChain([]).ok, true);
  });
  it('names the first edited row', () => {
    const c = chain(5);
    c[2] = { ...c[2], reason: 'rewritten' };
    assert.deepEqual([verifyChain(c).first_bad_seq, verifyChain(c).problem], [3, 'hash-mismatch']);
  });
  it('names a re-hashed edited row by its broken link', () => {
    const c = chain(5);
    c[1] = { ...c[1], actor: 'mallory' };
    c[1].hash = auditEventHash(c[1].prev_hash, c[1]);
    const v = verifyChain(c);
    assert.equal(v.first_bad_seq, 3);
    assert.equal(v.problem, 'broken-link');
  });
  it('finds a deleted middle row, a swapped pair and a deleted tail', () => {
    const c = chain(6);
    assert.deepEqual([verifyChain([...c.slice(0, 2), ...c.slice(3)]).first_bad_seq, verifyChain([...c.slice(0, 2), ...c.slice(3)]).problem], [3, 'sequence-gap']);
    assert.equal(verifyChain([c[0], c[2], c[1], ...c.slice(3)]).first_bad_seq, 2);
    const tail = verifyChain(c.slice(0, 4), { seq: 6, hash: c[5].hash });
    assert.equal(tail.ok, false);
    assert.equal(tail.first_bad_seq, 5);
    assert.equal(tail.problem, 'sequence-gap');
    const headEdited = verifyChain(c, { seq: 6, hash: 'f'.repeat(64) });
    assert.deepEqual([headEdited.ok, headEdited.problem], [false, 'hash-mismatch']);
  });
  it('stops accepting after the first problem', () => {
    const c = chain(3);
    const v = new ChainVerifier();
    assert.equal(v.push(c[1]), false);
    assert.equal(v.push(c[0]), false);
    assert.equal(v.verdict().first_bad_seq, 1);
  });
});
