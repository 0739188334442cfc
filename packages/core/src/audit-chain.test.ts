import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditEventHash, chainEvent, ChainVerifier, GENESIS_HASH, verifyChain, type AuditEventBody, type ChainedAuditEvent } from './audit-chain.js';

function body(seq: number): AuditEventBody {
  return {
    seq,
    at: 1_700_000_000_000 + seq,
    actor: 'local',
    action: 'alias.set',
    model: 'chatbot',
    subject: 'chatbot@champion',
    before: seq === 1 ? null : { version: seq - 1 },
    after: { version: seq },
    reason: seq === 1 ? 'first release' : seq % 2 ? 'why' : null,
  };
}

function chain(n: number): ChainedAuditEvent[] {
  const out: ChainedAuditEvent[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const e = chainEvent(prev, body(i));
    out.push(e);
    prev = e.hash;
  }
  return out;
}

const head = (c: ChainedAuditEvent[]) => {
  const last = c.at(-1);
  assert.ok(last, 'a head needs at least one event');
  return { seq: last.seq, hash: last.hash };
};
const bad = (c: Iterable<ChainedAuditEvent>, expectedLast?: { seq: number; hash: string }) => {
  const v = verifyChain(c, expectedLast);
  return [v.ok, v.first_bad_seq, v.problem];
};

describe('auditEventHash', () => {
  it('keeps the hash of a known event fixed, since stored chains depend on it', () => {
    // Cross-checked with Python: sha256(json.dumps({v: 1, prev, ...event}, sort_keys=True, separators=(',', ':'))).
    assert.equal(auditEventHash(GENESIS_HASH, body(1)), '1e82e556ad21579683e7ed5987c9d97ee2c9a52984f93caef6b44caae4fe5f95');
    assert.equal(GENESIS_HASH, '0'.repeat(64));
  });
  it('hashes undefined before, after and reason as null when they are missing', () => {
    const b = { ...body(1), before: null, after: null, reason: null };
    assert.equal(
      auditEventHash(GENESIS_HASH, { ...b, before: undefined, after: undefined, reason: undefined as unknown as null }),
      auditEventHash(GENESIS_HASH, b),
    );
  });
  it('changes when the previous hash or any field changes', () => {
    const base = auditEventHash(GENESIS_HASH, body(2));
    assert.notEqual(auditEventHash('1'.repeat(64), body(2)), base);
    const edits: Partial<AuditEventBody>[] = [
      { seq: 3 },
      { at: 0 },
      { actor: 'mallory' },
      { action: 'alias.delete' },
      { model: null },
      { subject: 'x' },
      { before: { version: 9 } },
      { after: null },
      { reason: 'x' },
    ];
    for (const edit of edits) assert.notEqual(auditEventHash(GENESIS_HASH, { ...body(2), ...edit }), base, JSON.stringify(edit));
  });
});

describe('chainEvent', () => {
  it('links an event to the previous hash and hashes it', () => {
    const [e1, e2] = chain(2);
    assert.ok(e1 && e2);
    assert.equal(e1.prev_hash, GENESIS_HASH);
    assert.equal(e2.prev_hash, e1.hash);
    assert.equal(e2.hash, auditEventHash(e1.hash, body(2)));
    assert.equal(e2.reason, null);
  });
});

describe('verifyChain', () => {
  it('passes and reports the head when the chain is untouched', () => {
    const c = chain(5);
    assert.deepEqual(verifyChain(c, head(c)), { ok: true, checked: 5, last_seq: 5, last_hash: c[4]!.hash });
    assert.deepEqual(verifyChain(c), { ok: true, checked: 5, last_seq: 5, last_hash: c[4]!.hash });
  });
  it('passes when the chain is empty and no head was recorded', () => {
    assert.deepEqual(verifyChain([]), { ok: true, checked: 0, last_seq: 0, last_hash: GENESIS_HASH });
  });
  it('names the first bad seq when a row was edited in place', () => {
    const c = chain(5);
    c[2] = { ...c[2]!, reason: 'rewritten' };
    c[3] = { ...c[3]!, actor: 'mallory' };
    assert.deepEqual(bad(c), [false, 3, 'hash-mismatch']);
  });
  it('names the next row when an edited row was re-hashed to hide the edit', () => {
    const c = chain(5);
    c[1] = chainEvent(c[1]!.prev_hash, { ...c[1]!, actor: 'mallory' });
    assert.deepEqual(bad(c), [false, 3, 'broken-link']);
  });
  it('catches a re-hashed edit of the last row when the recorded head is given', () => {
    const c = chain(5);
    const recorded = head(c);
    c[4] = chainEvent(c[4]!.prev_hash, { ...c[4]!, after: { version: 99 } });
    assert.deepEqual(bad(c), [true, undefined, undefined]);
    assert.deepEqual(bad(c, recorded), [false, 5, 'hash-mismatch']);
  });
  it('names the missing seq when a middle row or the first row was deleted', () => {
    const c = chain(6);
    assert.deepEqual(bad([...c.slice(0, 2), ...c.slice(3)]), [false, 3, 'sequence-gap']);
    assert.deepEqual(bad(c.slice(1)), [false, 1, 'sequence-gap']);
  });
  it('names the missing row when a deleted row was hidden by renumbering the rest', () => {
    const c = chain(6);
    const renumbered = [...c.slice(0, 2), ...c.slice(3).map((e) => ({ ...e, seq: e.seq - 1 }))];
    assert.deepEqual(bad(renumbered), [false, 3, 'broken-link']);
  });
  it('finds a deleted tail only through the recorded head, as the first missing seq', () => {
    const c = chain(6);
    const recorded = head(c);
    assert.deepEqual(bad(c.slice(0, 4)), [true, undefined, undefined]);
    assert.deepEqual(bad(c.slice(0, 4), recorded), [false, 5, 'sequence-gap']);
    assert.deepEqual(bad([], recorded), [false, 1, 'sequence-gap']);
  });
  it('flags rows past the recorded head when rows were appended behind its back', () => {
    const c = chain(5);
    const v = verifyChain(c, { seq: 4, hash: c[3]!.hash });
    assert.equal(v.ok, false);
    assert.equal(v.problem, 'hash-mismatch');
  });
  it('names the first swapped position when two rows were swapped', () => {
    const c = chain(6);
    assert.deepEqual(bad([c[0]!, c[2]!, c[1]!, ...c.slice(3)]), [false, 2, 'sequence-gap']);
    const swappedSeqs = [c[0]!, { ...c[2]!, seq: 2 }, { ...c[1]!, seq: 3 }, ...c.slice(3)];
    assert.deepEqual(bad(swappedSeqs), [false, 2, 'broken-link']);
  });
  it('accepts any iterable when given a generator', () => {
    const c = chain(3);
    function* rows() {
      yield* c;
    }
    assert.equal(verifyChain(rows()).ok, true);
  });
});

describe('ChainVerifier', () => {
  it('stops accepting events after the first problem', () => {
    const c = chain(3);
    const v = new ChainVerifier();
    assert.equal(v.push(c[1]!), false);
    assert.equal(v.push(c[0]!), false);
    assert.deepEqual(v.verdict(), { ok: false, checked: 1, last_seq: 0, last_hash: GENESIS_HASH, first_bad_seq: 1, problem: 'sequence-gap' });
  });
  it('resumes from a checkpoint when given its hash and seq', () => {
    const c = chain(5);
    const v = new ChainVerifier(c[2]!.hash, 3);
    assert.equal(v.push(c[3]!), true);
    assert.equal(v.push(c[4]!), true);
    assert.deepEqual(v.verdict(head(c)), { ok: true, checked: 2, last_seq: 5, last_hash: c[4]!.hash });
    assert.equal(new ChainVerifier(c[1]!.hash, 3).push(c[3]!), false, 'a wrong checkpoint hash breaks the link');
  });
});
