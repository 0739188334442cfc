import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentDocument, Rollout, Slos } from './deployment-schemas.js';
import { describeFailures, evaluateSlos, nextRolloutAction, parseJudgeScore, percentile, type RolloutSituation, type SloEvaluation } from './rollout.js';

const T0 = Date.parse('2026-03-08T14:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const slos: Slos = {
  error_rate: { max: 0.02, min_samples: 20 },
  p99_latency_ms: { max: 800, min_samples: 20 },
  quality: { min_score: 0.7, max_fraction_below: 0.1, window: 10, min_samples: 5 },
};

const doc: DeploymentDocument = {
  deployment: 'chatbot',
  model: 'cs-bot',
  strategy: 'canary',
  stable: 'champion',
  candidate: 'challenger',
  steps: [
    { weight: 10, pause_ms: 1000 },
    { weight: 50, pause_ms: 1000 },
    { weight: 100, pause_ms: 0 },
  ],
  ab: null,
  upstreams: [{ versions: '*', url: 'http://127.0.0.1:1/v1', adapter: null, protocol: 'openai', health: null, timeout_ms: 60000 }],
  slos,
  analysis_interval_ms: 200,
  bake_ms: 5000,
  judge: null,
  shadow: null,
  warmup: { checks: 3, interval_ms: 100, timeout_ms: 2000 },
};

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    id: 'ro_1',
    deployment: 'chatbot',
    kind: 'canary',
    stable_version: 1,
    candidate_version: 2,
    state: 'progressing',
    step: 0,
    weight: 10,
    started_at: iso(T0),
    step_started_at: iso(T0),
    updated_at: iso(T0),
    last_decision: null,
    ...over,
  };
}

const PASS: SloEvaluation = { verdict: 'pass', checks: [] };
const INCONCLUSIVE = evaluateSlos(slos, { requests: 3, errors: 0, p99_ms: 10, scores: [] });
const FAIL = evaluateSlos(slos, { requests: 40, errors: 10, p99_ms: 10, scores: [] });

function situation(over: Partial<RolloutSituation> = {}): RolloutSituation {
  return { document: doc, rollout: rollout(), evaluation: PASS, candidateHolder: 2, probes: { consecutive: 0, lastHealthyAt: null }, now: T0, ...over };
}

describe('percentile', () => {
  it('takes the nearest rank of an ascending list when it has values', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile(xs, 100), 100);
    assert.equal(percentile(xs, 0), 1);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile(xs, 250), 100);
  });
  it('is null when the list is empty', () => {
    assert.equal(percentile([], 50), null);
  });
});

describe('evaluateSlos', () => {
  it('passes when there are no SLOs at all', () => {
    assert.deepEqual(evaluateSlos(null, { requests: 0, errors: 0, p99_ms: null, scores: [] }), { verdict: 'pass', checks: [] });
  });
  it('is inconclusive with every check under its minimum sample when samples are few', () => {
    const e = evaluateSlos(slos, { requests: 0, errors: 0, p99_ms: null, scores: [] });
    assert.equal(e.verdict, 'inconclusive');
    assert.deepEqual(
      e.checks.map((c) => [c.slo, c.observed, c.verdict]),
      [
        ['error_rate', null, 'inconclusive'],
        ['p99_latency_ms', null, 'inconclusive'],
        ['quality', null, 'inconclusive'],
      ],
    );
  });
  it('passes when every check holds with its sample', () => {
    const e = evaluateSlos(slos, { requests: 100, errors: 2, p99_ms: 800, scores: [0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.1, 0.9, 0.9, 0.9] });
    assert.equal(e.verdict, 'pass');
    assert.deepEqual(
      e.checks.map((c) => [c.slo, c.observed, c.threshold, c.samples, c.min_samples]),
      [
        ['error_rate', 0.02, 0.02, 100, 20],
        ['p99_latency_ms', 800, 800, 100, 20],
        ['quality', 0.1, 0.1, 10, 5],
      ],
    );
  });
  it('fails when one check breaks even though another lacks its sample', () => {
    const e = evaluateSlos({ ...slos, quality: { ...slos.quality!, min_samples: 50 } }, { requests: 40, errors: 0, p99_ms: 900, scores: [] });
    assert.equal(e.verdict, 'fail');
    assert.deepEqual(
      e.checks.map((c) => c.verdict),
      ['pass', 'fail', 'inconclusive'],
    );
    assert.equal(describeFailures(e), 'p99_latency_ms 900 > 800 (40 samples)');
  });
  it('judges quality over the last `window` scores only when more are given', () => {
    const old = Array.from({ length: 20 }, () => 0.1);
    const recent = Array.from({ length: 10 }, () => 0.9);
    const e = evaluateSlos(
      { error_rate: null, p99_latency_ms: null, quality: slos.quality },
      { requests: 0, errors: 0, p99_ms: null, scores: [...old, ...recent] },
    );
    assert.equal(e.verdict, 'pass');
    assert.equal(e.checks[0]?.samples, 10);
    const bad = evaluateSlos(
      { error_rate: null, p99_latency_ms: null, quality: slos.quality },
      { requests: 0, errors: 0, p99_ms: null, scores: [0.9, 0.2, 0.3, 0.9, 0.9] },
    );
    assert.equal(bad.verdict, 'fail');
    assert.equal(describeFailures(bad), 'quality 0.4 > 0.1 (5 samples)');
  });
});

describe('nextRolloutAction for a canary', () => {
  it('waits inside the pause when the SLOs pass', () => {
    assert.deepEqual(nextRolloutAction(situation({ now: T0 + 500 })), { decision: 'wait', reason: 'step 0: pause 500 of 1000 ms' });
  });
  it('aborts at once, even inside the pause, when an SLO fails', () => {
    const a = nextRolloutAction(situation({ now: T0 + 1, evaluation: FAIL }));
    assert.equal(a.decision, 'abort');
    assert.equal(a.reason, 'SLO broken: error_rate 0.25 > 0.02 (40 samples)');
  });
  it('advances after the pause when the SLOs pass, and completes at the last step', () => {
    assert.deepEqual(nextRolloutAction(situation({ now: T0 + 1000 })), { decision: 'advance', reason: 'SLOs passed at step 0' });
    assert.deepEqual(nextRolloutAction(situation({ rollout: rollout({ step: 2, state: 'held' }), now: T0 })), {
      decision: 'complete',
      reason: 'SLOs passed at the last step (2)',
    });
  });
  it('holds once per step when inconclusive after the pause', () => {
    const a = nextRolloutAction(situation({ now: T0 + 1000, evaluation: INCONCLUSIVE }));
    assert.deepEqual(a, {
      decision: 'hold',
      reason: 'inconclusive at step 0: error_rate 3 of 20 samples, p99_latency_ms 3 of 20 samples, quality 0 of 5 samples',
    });
    const again = nextRolloutAction(situation({ rollout: rollout({ state: 'held' }), now: T0 + 2000, evaluation: INCONCLUSIVE }));
    assert.equal(again.decision, 'wait');
  });
  it('gives a step without a pause one analysis interval before holding', () => {
    const last = rollout({ step: 2 });
    assert.deepEqual(nextRolloutAction(situation({ rollout: last, now: T0 + 100, evaluation: INCONCLUSIVE })), {
      decision: 'wait',
      reason: 'step 2: gathering samples',
    });
    assert.equal(nextRolloutAction(situation({ rollout: last, now: T0 + 200, evaluation: INCONCLUSIVE })).decision, 'hold');
  });
  it('waits when the candidate alias has moved away from the rollout candidate', () => {
    assert.equal(nextRolloutAction(situation({ candidateHolder: 3, now: T0 + 5000 })).decision, 'wait');
  });
  it('treats a step beyond the document as pause-free when the document shrank', () => {
    assert.equal(nextRolloutAction(situation({ rollout: rollout({ step: 7 }) })).decision, 'complete');
  });
  it('waits when the rollout is finished', () => {
    assert.deepEqual(nextRolloutAction(situation({ rollout: rollout({ state: 'aborted' }), evaluation: FAIL })), {
      decision: 'wait',
      reason: 'rollout aborted',
    });
  });
});

describe('nextRolloutAction for blue-green', () => {
  const bg = rollout({ kind: 'blue-green', weight: 0 });
  it('completes after warmup.checks consecutive healthy probes', () => {
    assert.equal(nextRolloutAction(situation({ rollout: bg, probes: { consecutive: 2, lastHealthyAt: null }, now: T0 + 300 })).decision, 'wait');
    assert.deepEqual(nextRolloutAction(situation({ rollout: bg, probes: { consecutive: 3, lastHealthyAt: null }, now: T0 + 300 })), {
      decision: 'complete',
      reason: '3 consecutive healthy probes',
    });
  });
  it('completes at once when the new side was seen healthy within 30 s', () => {
    assert.deepEqual(nextRolloutAction(situation({ rollout: bg, probes: { consecutive: 0, lastHealthyAt: T0 - 1000 }, now: T0 })), {
      decision: 'complete',
      reason: 'healthy 1000 ms ago',
    });
  });
  it('aborts after the warm-up timeout without enough healthy probes', () => {
    const a = nextRolloutAction(situation({ rollout: bg, probes: { consecutive: 1, lastHealthyAt: T0 - 60_000 }, now: T0 + 2000 }));
    assert.deepEqual(a, { decision: 'abort', reason: 'warm-up timed out after 2000 ms with 1 of 3 healthy probes' });
  });
});

describe('nextRolloutAction for a bake', () => {
  const bake = rollout({ kind: 'bake', weight: 100 });
  it('aborts when an SLO breaks', () => {
    assert.equal(nextRolloutAction(situation({ rollout: bake, evaluation: FAIL, now: T0 + 10 })).decision, 'abort');
  });
  it('waits during bake_ms and completes after it, saying whether it was conclusive', () => {
    assert.deepEqual(nextRolloutAction(situation({ rollout: bake, now: T0 + 10 })), { decision: 'wait', reason: 'baking: 10 of 5000 ms' });
    assert.deepEqual(nextRolloutAction(situation({ rollout: bake, now: T0 + 5000 })), { decision: 'complete', reason: 'baked 5000 ms (conclusive)' });
    assert.deepEqual(nextRolloutAction(situation({ rollout: bake, evaluation: INCONCLUSIVE, now: T0 + 5000 })), {
      decision: 'complete',
      reason: 'baked 5000 ms (inconclusive: too few samples)',
    });
  });
});

describe('parseJudgeScore', () => {
  it('reads {"score": x} when the answer is JSON or holds a JSON object', () => {
    assert.equal(parseJudgeScore('{"score": 0.9}'), 0.9);
    assert.equal(parseJudgeScore('Verdict: {"score": 0.25, "why": "off topic"}'), 0.25);
  });
  it('takes the first number in [0, 1] when there is no usable JSON score', () => {
    assert.equal(parseJudgeScore('Score: 0.8'), 0.8);
    assert.equal(parseJudgeScore('{"score": 7} so 1'), 1);
    assert.equal(parseJudgeScore('{not json} 0.3'), 0.3);
    assert.equal(parseJudgeScore('out of 5 I give 0'), 0);
  });
  it('is null when no number in range appears', () => {
    assert.equal(parseJudgeScore('8/10'), null);
    assert.equal(parseJudgeScore('great answer'), null);
    assert.equal(parseJudgeScore('-0.5'), null);
  });
});
