import { percentile, type ServedVersion, type ShadowReport } from '@berth/core';
import type { RequestOutcome, ShadowOutcome } from '../contract.js';

/**
 * Per-version statistics of one deployment, in fixed memory: the latest REQUEST_CAPACITY
 * request samples and SCORE_CAPACITY quality scores in rings (what analysis reads: "since the
 * step started"), and the running totals of the current report window (what served reports
 * carry: exact counts, latencies from a bounded reservoir).
 */
const REQUEST_CAPACITY = 8192;
const SCORE_CAPACITY = 4096;
const RESERVOIR = 2048;

export type ScoreSource = 'feedback' | 'judge';

/** What analysis reads of one version since a time. */
export interface WindowStats {
  requests: number;
  errors: number;
  p50_ms: number | null;
  p99_ms: number | null;
  /** Oldest first; the SLO keeps the last `window` of them. */
  scores: number[];
  feedback: number;
  judge: number;
}

class Totals {
  requests = 0;
  errors = 0;
  tokensIn = 0;
  tokensOut = 0;
  seen = 0;
  latencies: number[] = [];
  judged = 0;
  below = 0;
  scoreSum = 0;

  latency(ms: number, random: () => number): void {
    // Reservoir sampling keeps a uniform sample of the window's latencies in bounded memory.
    this.seen++;
    if (this.latencies.length < RESERVOIR) this.latencies.push(ms);
    else {
      const j = Math.floor(random() * this.seen);
      if (j < RESERVOIR) this.latencies[j] = ms;
    }
  }
}

class VersionStats {
  private readonly at = new Float64Array(REQUEST_CAPACITY);
  private readonly latency = new Float64Array(REQUEST_CAPACITY);
  private readonly error = new Uint8Array(REQUEST_CAPACITY);
  private written = 0;
  private readonly scoreAt = new Float64Array(SCORE_CAPACITY);
  private readonly score = new Float64Array(SCORE_CAPACITY);
  private readonly scoreFromJudge = new Uint8Array(SCORE_CAPACITY);
  private scored = 0;
  totals = new Totals();

  request(at: number, latencyMs: number, error: boolean): void {
    const i = this.written++ % REQUEST_CAPACITY;
    this.at[i] = at;
    this.latency[i] = latencyMs;
    this.error[i] = error ? 1 : 0;
  }

  addScore(at: number, score: number, source: ScoreSource): void {
    const i = this.scored++ % SCORE_CAPACITY;
    this.scoreAt[i] = at;
    this.score[i] = score;
    this.scoreFromJudge[i] = source === 'judge' ? 1 : 0;
  }

  held(): { requests: number; scores: number } {
    return { requests: Math.min(this.written, REQUEST_CAPACITY), scores: Math.min(this.scored, SCORE_CAPACITY) };
  }

  since(from: number, to: number): WindowStats {
    const latencies: number[] = [];
    let errors = 0;
    for (let k = Math.max(0, this.written - REQUEST_CAPACITY); k < this.written; k++) {
      const i = k % REQUEST_CAPACITY;
      const at = this.at[i] ?? 0;
      if (at < from || at > to) continue;
      latencies.push(this.latency[i] ?? 0);
      errors += this.error[i] ?? 0;
    }
    latencies.sort((a, b) => a - b);
    const scores: number[] = [];
    let judge = 0;
    for (let k = Math.max(0, this.scored - SCORE_CAPACITY); k < this.scored; k++) {
      const i = k % SCORE_CAPACITY;
      const at = this.scoreAt[i] ?? 0;
      if (at < from || at > to) continue;
      scores.push(this.score[i] ?? 0);
      judge += this.scoreFromJudge[i] ?? 0;
    }
    return {
      requests: latencies.length,
      errors,
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
      scores,
      feedback: scores.length - judge,
      judge,
    };
  }
}

/** One deployment's statistics: client requests and scores per version, and the shadow side's copies. */
export class DeploymentStats {
  private readonly versions = new Map<number, VersionStats>();
  private shadowTotals = new Map<number, Totals>();
  private shadow = { compared: 0, differed: 0, candidate_errors: 0 };

  constructor(private readonly random: () => number = Math.random) {}

  private of(version: number): VersionStats {
    let v = this.versions.get(version);
    if (!v) {
      v = new VersionStats();
      this.versions.set(version, v);
    }
    return v;
  }

  request(o: RequestOutcome): void {
    const v = this.of(o.version);
    v.request(o.at, o.latencyMs, o.error);
    const t = v.totals;
    t.requests++;
    if (o.error) t.errors++;
    t.tokensIn += o.tokensIn;
    t.tokensOut += o.tokensOut;
    t.latency(o.latencyMs, this.random);
  }

  /** A quality score; `minScore` is the quality SLO's threshold in force (null without one), for the report's `below`. */
  score(version: number, score: number, source: ScoreSource, at: number, minScore: number | null): void {
    const v = this.of(version);
    v.addScore(at, score, source);
    v.totals.judged++;
    v.totals.scoreSum += score;
    if (minScore !== null && score < minScore) v.totals.below++;
  }

  shadowCopy(o: ShadowOutcome): void {
    let t = this.shadowTotals.get(o.version);
    if (!t) {
      t = new Totals();
      this.shadowTotals.set(o.version, t);
    }
    t.requests++;
    if (o.error) {
      t.errors++;
      this.shadow.candidate_errors++;
    }
    t.latency(o.latencyMs, this.random);
    if (o.differed !== null) {
      this.shadow.compared++;
      if (o.differed) this.shadow.differed++;
    }
  }

  /** How many request samples and scores each version's window holds now. */
  held(): Record<string, { requests: number; scores: number }> {
    return Object.fromEntries([...this.versions].sort(([a], [b]) => a - b).map(([n, v]) => [String(n), v.held()]));
  }

  /** Forgets the windows of versions the deployment no longer names, once their totals are reported: memory stays bounded as versions come and go. */
  prune(keep: ReadonlySet<number>): void {
    for (const [n, v] of this.versions) if (!keep.has(n) && v.totals.requests + v.totals.judged === 0) this.versions.delete(n);
  }

  window(version: number, from: number, to: number): WindowStats {
    return this.of(version).since(from, to);
  }

  /**
   * Closes the report window: every version routed now (`weights`), the shadow version, and any
   * other that answered in the window (weight 0), with the window's totals; the totals restart.
   */
  takeReport(weights: ReadonlyMap<number, number>, shadowVersion: number | null): { versions: ServedVersion[]; shadow: ShadowReport | null } {
    const versions: ServedVersion[] = [];
    const numbers = new Set([...weights.keys(), ...[...this.versions].filter(([, v]) => v.totals.requests + v.totals.judged > 0).map(([n]) => n)]);
    for (const n of [...numbers].sort((a, b) => a - b)) {
      const v = this.of(n);
      versions.push(served(n, weights.get(n) ?? 0, false, v.totals));
      v.totals = new Totals();
    }
    const shadowNumbers = new Set([...(shadowVersion !== null ? [shadowVersion] : []), ...this.shadowTotals.keys()]);
    for (const n of [...shadowNumbers].sort((a, b) => a - b)) versions.push(served(n, 0, true, this.shadowTotals.get(n) ?? new Totals()));
    const s = this.shadow;
    const shadow = shadowNumbers.size > 0 ? { ...s, diff_rate: s.compared > 0 ? s.differed / s.compared : null } : null;
    this.shadowTotals = new Map();
    this.shadow = { compared: 0, differed: 0, candidate_errors: 0 };
    return { versions, shadow };
  }
}

function served(version: number, weight: number, shadow: boolean, t: Totals): ServedVersion {
  const sorted = [...t.latencies].sort((a, b) => a - b);
  return {
    version,
    weight,
    shadow,
    requests: t.requests,
    errors: t.errors,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    tokens_in: t.tokensIn,
    tokens_out: t.tokensOut,
    judged: t.judged,
    below: t.below,
    mean_score: t.judged > 0 ? t.scoreSum / t.judged : null,
  };
}
