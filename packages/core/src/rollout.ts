import type { DeploymentDocument, Rollout, Slos } from './deployment-schemas.js';

/**
 * The gateway's rollout analysis as pure rules (issue 12, decision 0023): SLO evaluation over a
 * window of samples, and the next decision a gateway takes for the rollout a deployment is in.
 * The gateway gathers the numbers and sends the decision; everything it decides is decided here.
 */

export type SloVerdict = 'pass' | 'fail' | 'inconclusive';
export type SloName = 'error_rate' | 'p99_latency_ms' | 'quality';

/** What a window of one version holds: request count, upstream errors, p99 latency (null with no request), the last `window` quality scores. */
export interface SloStats {
  requests: number;
  errors: number;
  p99_ms: number | null;
  scores: readonly number[];
}

export interface SloCheck {
  slo: SloName;
  /** error_rate: errors / requests; p99_latency_ms: the p99; quality: the fraction of scores below min_score. Null with no sample. */
  observed: number | null;
  threshold: number;
  samples: number;
  min_samples: number;
  verdict: SloVerdict;
}

export interface SloEvaluation {
  verdict: SloVerdict;
  checks: SloCheck[];
}

/** Nearest-rank percentile (p in 0..100) of an ascending list; null when it is empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * sorted.length);
  return sorted[Math.max(rank, 1) - 1] ?? null;
}

function check(slo: SloName, observed: number | null, threshold: number, samples: number, minSamples: number): SloCheck {
  const verdict: SloVerdict = samples < minSamples || observed === null ? 'inconclusive' : observed > threshold ? 'fail' : 'pass';
  return { slo, observed, threshold, samples, min_samples: minSamples, verdict };
}

/**
 * Each SLO the document sets, checked on its own: inconclusive under its minimum sample, failed
 * when the observed value exceeds its threshold. The verdict is fail if any check fails (one
 * broken SLO is enough to roll back, whatever the others still lack), else inconclusive if any
 * lacks its sample, else pass; no SLO at all passes.
 */
export function evaluateSlos(slos: Slos | null, stats: SloStats): SloEvaluation {
  const checks: SloCheck[] = [];
  if (slos?.error_rate) {
    const observed = stats.requests > 0 ? stats.errors / stats.requests : null;
    checks.push(check('error_rate', observed, slos.error_rate.max, stats.requests, slos.error_rate.min_samples));
  }
  if (slos?.p99_latency_ms) checks.push(check('p99_latency_ms', stats.p99_ms, slos.p99_latency_ms.max, stats.requests, slos.p99_latency_ms.min_samples));
  if (slos?.quality) {
    const q = slos.quality;
    const scores = stats.scores.slice(-q.window);
    const observed = scores.length > 0 ? scores.filter((s) => s < q.min_score).length / scores.length : null;
    checks.push(check('quality', observed, q.max_fraction_below, scores.length, q.min_samples));
  }
  const verdict: SloVerdict = checks.some((c) => c.verdict === 'fail') ? 'fail' : checks.some((c) => c.verdict === 'inconclusive') ? 'inconclusive' : 'pass';
  return { verdict, checks };
}

/** `error_rate 0.25 > 0.02 (40 samples)`: the broken SLOs, for an abort's reason. */
export function describeFailures(evaluation: SloEvaluation): string {
  return evaluation.checks
    .filter((c) => c.verdict === 'fail')
    .map((c) => `${c.slo} ${round(c.observed ?? 0)} > ${c.threshold} (${c.samples} samples)`)
    .join(', ');
}

function round(n: number): number {
  return Math.round(n * 10000) / 10000;
}

/** Blue-green warm-up so far: consecutive healthy probes of the new side, and when it was last seen healthy (epoch ms). */
export interface WarmupProbes {
  consecutive: number;
  lastHealthyAt: number | null;
}

/** A version seen healthy this recently switches at once: the old side after `berth rollback` is still warm. */
export const WARM_WITHIN_MS = 30_000;

export interface RolloutSituation {
  document: DeploymentDocument;
  rollout: Rollout;
  /** The SLOs over the candidate's (canary) or new stable's (bake) samples in this step. */
  evaluation: SloEvaluation;
  /** The holder of the document's candidate alias now (canary), or null. */
  candidateHolder: number | null;
  probes: WarmupProbes;
  /** Epoch milliseconds. */
  now: number;
}

export type RolloutAction =
  | { decision: 'advance' | 'complete' | 'abort' | 'hold'; reason: string }
  /** Nothing to decide yet; `reason` says what it waits for (shown in the gateway's status). */
  | { decision: 'wait'; reason: string };

/**
 * The next decision for a progressing or held rollout. Canary: a failed evaluation aborts at
 * once, even inside a pause; a passing one advances (or completes at the last step) once the
 * step's pause has elapsed; an inconclusive one holds once the pause (and at least one analysis
 * interval) has elapsed, once per step: a held rollout waits for its sample. Blue-green: `warmup.checks` consecutive healthy probes,
 * or a healthy sighting within WARM_WITHIN_MS, complete (the switch); `warmup.timeout_ms` since
 * the start without that aborts. Bake: a failed evaluation aborts; `bake_ms` after the step
 * started it completes, conclusive or not.
 */
export function nextRolloutAction(s: RolloutSituation): RolloutAction {
  const { document: doc, rollout, evaluation, now } = s;
  if (rollout.state !== 'progressing' && rollout.state !== 'held') return { decision: 'wait', reason: `rollout ${rollout.state}` };
  const stepElapsed = now - Date.parse(rollout.step_started_at);
  if (rollout.kind === 'blue-green') {
    const { checks, timeout_ms } = doc.warmup;
    if (s.probes.consecutive >= checks) return { decision: 'complete', reason: `${s.probes.consecutive} consecutive healthy probes` };
    if (s.probes.lastHealthyAt !== null && now - s.probes.lastHealthyAt <= WARM_WITHIN_MS)
      return { decision: 'complete', reason: `healthy ${now - s.probes.lastHealthyAt} ms ago` };
    const elapsed = now - Date.parse(rollout.started_at);
    if (elapsed >= timeout_ms)
      return { decision: 'abort', reason: `warm-up timed out after ${elapsed} ms with ${s.probes.consecutive} of ${checks} healthy probes` };
    return { decision: 'wait', reason: `warming up: ${s.probes.consecutive} of ${checks} healthy probes` };
  }
  if (evaluation.verdict === 'fail') return { decision: 'abort', reason: `SLO broken: ${describeFailures(evaluation)}` };
  if (rollout.kind === 'bake') {
    if (stepElapsed >= doc.bake_ms)
      return { decision: 'complete', reason: `baked ${doc.bake_ms} ms (${evaluation.verdict === 'pass' ? 'conclusive' : 'inconclusive: too few samples'})` };
    return { decision: 'wait', reason: `baking: ${stepElapsed} of ${doc.bake_ms} ms` };
  }
  if (s.candidateHolder !== rollout.candidate_version)
    return { decision: 'wait', reason: `the candidate alias no longer holds version ${rollout.candidate_version}` };
  const step = doc.steps[rollout.step];
  const pause = step?.pause_ms ?? 0;
  if (stepElapsed < pause) return { decision: 'wait', reason: `step ${rollout.step}: pause ${stepElapsed} of ${pause} ms` };
  if (evaluation.verdict === 'inconclusive') {
    if (rollout.state === 'held') return { decision: 'wait', reason: `held at step ${rollout.step}: waiting for samples` };
    // A step without a pause gets one analysis interval to gather samples before it counts as stuck.
    if (stepElapsed < doc.analysis_interval_ms) return { decision: 'wait', reason: `step ${rollout.step}: gathering samples` };
    const short = evaluation.checks
      .filter((c) => c.verdict === 'inconclusive')
      .map((c) => `${c.slo} ${c.samples} of ${c.min_samples} samples`)
      .join(', ');
    return { decision: 'hold', reason: `inconclusive at step ${rollout.step}: ${short}` };
  }
  if (rollout.step >= doc.steps.length - 1) return { decision: 'complete', reason: `SLOs passed at the last step (${rollout.step})` };
  return { decision: 'advance', reason: `SLOs passed at step ${rollout.step}` };
}

/**
 * A judge's score: `{"score": x}` (the whole answer as JSON, or the first JSON object in it), else
 * the first number in the text that lies in [0, 1]; null when there is none ("8/10" is not a score).
 */
export function parseJudgeScore(text: string): number | null {
  const json = text.match(/\{[^{}]*\}/);
  if (json) {
    try {
      const parsed = JSON.parse(json[0]) as { score?: unknown };
      if (typeof parsed.score === 'number' && parsed.score >= 0 && parsed.score <= 1) return parsed.score;
    } catch {
      // Not JSON after all: fall back to the first number in range.
    }
  }
  for (const m of text.matchAll(/(?<![\d.])-?\d+(?:\.\d+)?/g)) {
    const n = Number(m[0]);
    if (n >= 0 && n <= 1) return n;
  }
  return null;
}
