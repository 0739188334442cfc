import { canonicalJson } from './canonical-json.js';
import { sha256Hex } from './digest.js';
import type { ChainProblem, ChainVerdict } from './schemas.js';

/**
 * The audit trail is a hash chain (DESIGN §2 "Audit trail"): every event carries the hash of
 * the one before it, and its own hash covers its content and that link. Editing, deleting or
 * reordering any row changes a hash that a later row vouches for.
 */
export interface AuditEventBody {
  seq: number;
  at: number; // ms since epoch
  actor: string;
  action: string;
  model: string | null; // model name at the time of the event
  subject: string;
  before: unknown;
  after: unknown;
  reason: string | null;
}

export interface ChainedAuditEvent extends AuditEventBody {
  prev_hash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export function auditEventHash(prevHash: string, e: AuditEventBody): string {
  return sha256Hex(
    canonicalJson({
      v: 1,
      prev: prevHash,
      seq: e.seq,
      at: e.at,
      actor: e.actor,
      action: e.action,
      model: e.model,
      subject: e.subject,
      before: e.before ?? null,
      after: e.after ?? null,
      reason: e.reason ?? null,
    }),
  );
}

export function chainEvent(prevHash: string, body: AuditEventBody): ChainedAuditEvent {
  return { ...body, prev_hash: prevHash, hash: auditEventHash(prevHash, body) };
}

/**
 * Incremental verifier so a server can stream a million rows through it without holding them.
 * Feed events in ascending `seq`; the first problem sticks.
 */
export class ChainVerifier {
  private prevHash: string;
  private prevSeq: number;
  private checked = 0;
  private bad?: { seq: number; problem: ChainProblem };

  constructor(startHash = GENESIS_HASH, startSeq = 0) {
    this.prevHash = startHash;
    this.prevSeq = startSeq;
  }

  /** Returns false once a problem has been found (callers may stop feeding). */
  push(e: ChainedAuditEvent): boolean {
    if (this.bad) return false;
    this.checked++;
    if (e.seq !== this.prevSeq + 1) this.bad = { seq: this.prevSeq + 1, problem: 'sequence-gap' };
    else if (e.prev_hash !== this.prevHash) this.bad = { seq: e.seq, problem: 'broken-link' };
    else if (auditEventHash(e.prev_hash, e) !== e.hash) this.bad = { seq: e.seq, problem: 'hash-mismatch' };
    if (this.bad) return false;
    this.prevHash = e.hash;
    this.prevSeq = e.seq;
    return true;
  }

  /** `expectedLast`: the head the store recorded; a deleted tail shows as a gap against it. */
  verdict(expectedLast?: { seq: number; hash: string }): ChainVerdict {
    if (!this.bad && expectedLast && (expectedLast.seq !== this.prevSeq || expectedLast.hash !== this.prevHash)) {
      this.bad = { seq: Math.min(this.prevSeq + 1, expectedLast.seq), problem: expectedLast.seq > this.prevSeq ? 'sequence-gap' : 'hash-mismatch' };
    }
    return {
      ok: !this.bad,
      checked: this.checked,
      last_seq: this.prevSeq,
      last_hash: this.prevHash,
      ...(this.bad ? { first_bad_seq: this.bad.seq, problem: this.bad.problem } : {}),
    };
  }
}

export function verifyChain(events: Iterable<ChainedAuditEvent>, expectedLast?: { seq: number; hash: string }): ChainVerdict {
  const v = new ChainVerifier();
  for (const e of events) if (!v.push(e)) break;
  return v.verdict(expectedLast);
}
