import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateGates, failingGateLines, formatGateReport, formatNumber } from './gates.js';
import { type Evaluation, type GateEvidence, GateEvidenceSchema, GateReportSchema, type GateSubject, PolicyDocumentSchema } from './governance-schemas.js';
import { parsePolicy } from './policy.js';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const POLICY = parsePolicy(`policy: chatbot-promotion
target_alias: champion
gates:
  - { name: accuracy, metric: accuracy, min: 0.90 }
  - { name: safety, metric: safety_score, min: 0.95 }
  - { name: latency, metric: p99_latency_ms, max: 500 }
  - { name: no-regression, metric: accuracy, compare_to: champion, max_drop: 0.01 }
`);

let counter = 0;
function evaluation(metrics: Record<string, number>, dataset: string | null = null): Evaluation {
  counter += 1;
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id: `ev${counter}`,
    model: 'chatbot',
    version: 12,
    metrics,
    dataset,
    source: 'ci',
    recorded_by: 'ci',
    measured_at: at,
    recorded_at: at,
    details: {},
  };
}

function subject(version: number | null, evaluations: Evaluation[], run: Record<string, number> | null = null): GateSubject {
  return { version, run_id: run ? 'run-1' : null, run_metrics: run, evaluations };
}

function evidence(candidate: GateSubject, champion: GateSubject = subject(11, [evaluation({ accuracy: 0.918 })])): GateEvidence {
  return { model: 'chatbot', version: 12, candidate, aliases: { champion } };
}

test('the report of the issue example: four passing gates, lines as printed by berth gate check', () => {
  const report = evaluateGates(POLICY, evidence(subject(12, [evaluation({ accuracy: 0.923, safety_score: 0.971, p99_latency_ms: 412 })])));
  assert.equal(report.passed, true);
  assert.deepEqual(formatGateReport(report), [
    '[gate-1] accuracy 0.923 >= 0.90 PASS',
    '[gate-2] safety 0.971 >= 0.95 PASS',
    '[gate-3] p99 latency 412ms <= 500ms PASS',
    '[gate-4] candidate 0.923 vs champion 0.918 (delta +0.005) PASS',
  ]);
  const compare = report.gates[3];
  assert.equal(compare?.compared_version, 11);
  assert.equal(compare?.compared_value, 0.918);
  assert.ok(Math.abs((compare?.delta ?? 0) - 0.005) < 1e-9);
  assert.equal(report.gates[0]?.threshold, 0.9);
  assert.equal(report.gates[0]?.evaluation, report.gates[1]?.evaluation);
  assert.deepEqual(failingGateLines(report), []);
});

test('the newest evaluation of each metric wins', () => {
  const report = evaluateGates(
    POLICY,
    evidence(subject(12, [evaluation({ accuracy: 0.85 }), evaluation({ accuracy: 0.95, safety_score: 0.99, p99_latency_ms: 100 })])),
  );
  assert.equal(report.gates[0]?.observed, 0.85);
  assert.equal(report.gates[0]?.passed, false);
  assert.equal(report.gates[1]?.observed, 0.99);
  assert.equal(report.passed, false);
  assert.deepEqual(failingGateLines(report), [
    '[gate-1] accuracy 0.85 >= 0.90 FAIL',
    '[gate-4] candidate 0.85 vs champion 0.918 (delta -0.068, max drop 0.01) FAIL',
  ]);
});

test('a missing metric fails its gate naming it, with a close recorded name suggested', () => {
  const report = evaluateGates(POLICY, evidence(subject(12, [evaluation({ accuracy: 0.93, safety_scor: 0.99, latency: 3 })])));
  const lines = formatGateReport(report);
  assert.equal(lines[1], '[gate-2] safety: no evaluation of metric safety_score for chatbot:12 (did you mean safety_scor?) FAIL');
  assert.equal(lines[2], '[gate-3] latency: no evaluation of metric p99_latency_ms for chatbot:12 FAIL');
  assert.equal(report.gates[1]?.observed, null);
  assert.equal(report.passed, false);
});

test('a pinned dataset only counts evaluations on it (a bare name matches any digest of it)', () => {
  const digest = `golden@sha256:${'b'.repeat(64)}`;
  const pinned = parsePolicy(
    `policy: p\ntarget_alias: champion\ndataset: golden\ngates:\n  - { name: acc, metric: accuracy, min: 0.9 }\n  - { name: exact, metric: accuracy, min: 0.9, dataset: "${digest}" }\n`,
  );
  const newestElsewhere = subject(12, [evaluation({ accuracy: 0.5 }, 'other'), evaluation({ accuracy: 0.6 }), evaluation({ accuracy: 0.95 }, digest)]);
  const report = evaluateGates(pinned, evidence(newestElsewhere));
  assert.equal(report.gates[0]?.observed, 0.95);
  assert.equal(report.gates[1]?.observed, 0.95);
  const none = evaluateGates(pinned, evidence(subject(12, [evaluation({ accuracy: 0.95 }, 'golden@sha256:other')])));
  assert.equal(none.gates[0]?.passed, true);
  assert.equal(formatGateReport(none)[1], `[gate-2] exact: no evaluation of metric accuracy on dataset ${digest} for chatbot:12 FAIL`);
});

test('run:<metric> reads the source run, and fails naming the metric or the missing run', () => {
  const policy = parsePolicy('policy: p\ntarget_alias: champion\ngates:\n  - { name: val, metric: run:val_accuracy, min: 0.8 }\n');
  assert.deepEqual(formatGateReport(evaluateGates(policy, evidence(subject(12, [], { val_accuracy: 0.81 })))), ['[gate-1] val 0.81 >= 0.80 PASS']);
  assert.deepEqual(formatGateReport(evaluateGates(policy, evidence(subject(12, [], { val_acuracy: 0.81 })))), [
    '[gate-1] val: no metric val_accuracy in run run-1 of chatbot:12 (did you mean run:val_acuracy?) FAIL',
  ]);
  assert.deepEqual(formatGateReport(evaluateGates(policy, evidence(subject(12, [], { loss: 1 })))), [
    '[gate-1] val: no metric val_accuracy in run run-1 of chatbot:12 FAIL',
  ]);
  assert.deepEqual(formatGateReport(evaluateGates(policy, evidence(subject(12, [])))), [
    '[gate-1] val: chatbot:12 has no source run to read val_accuracy from FAIL',
  ]);
});

test('compare_to passes with a clear message when the alias is unset (first promotion)', () => {
  const policy = parsePolicy('policy: p\ntarget_alias: champion\ngates:\n  - { name: no-regression, metric: accuracy, compare_to: champion }\n');
  const candidate = subject(12, [evaluation({ accuracy: 0.9 })]);
  for (const report of [evaluateGates(policy, evidence(candidate, subject(null, []))), evaluateGates(policy, { ...evidence(candidate), aliases: {} })]) {
    assert.equal(report.passed, true);
    assert.deepEqual(formatGateReport(report), ['[gate-1] no-regression: champion is unset, nothing to compare with (first promotion) PASS']);
  }
});

test('compare_to without max_drop refuses any drop, and fails when the holder lacks the metric', () => {
  const policy = parsePolicy('policy: p\ntarget_alias: champion\ngates:\n  - { name: nr, metric: accuracy, compare_to: champion }\n');
  const equal = evaluateGates(policy, evidence(subject(12, [evaluation({ accuracy: 0.918 })])));
  assert.deepEqual(formatGateReport(equal), ['[gate-1] candidate 0.918 vs champion 0.918 (delta +0) PASS']);
  assert.equal(equal.gates[0]?.threshold, 0.918);
  assert.equal(evaluateGates(policy, evidence(subject(12, [evaluation({ accuracy: 0.917 })]))).passed, false);
  const holderless = evaluateGates(policy, evidence(subject(12, [evaluation({ accuracy: 0.95 })]), subject(11, [evaluation({ f1: 1 })])));
  assert.deepEqual(formatGateReport(holderless), ['[gate-1] nr: no evaluation of metric accuracy for chatbot:11 (champion) FAIL']);
});

test('a gate with min, max and compare_to checks all of them', () => {
  const policy = parsePolicy(
    'policy: p\ntarget_alias: champion\ngates:\n  - { name: acc, metric: accuracy, min: 0.5, max: 0.99, compare_to: champion, max_drop: 0.1 }\n',
  );
  const report = evaluateGates(policy, evidence(subject(12, [evaluation({ accuracy: 0.995 })])));
  assert.equal(report.passed, false);
  assert.deepEqual(formatGateReport(report), ['[gate-1] acc 0.995 >= 0.50 and <= 0.99; candidate 0.995 vs champion 0.918 (delta +0.077) FAIL']);
  assert.equal(report.gates[0]?.threshold, 0.5);
});

test('units come from the metric suffix', () => {
  const policy = parsePolicy(
    'policy: p\ntarget_alias: c\ngates:\n  - { name: time, metric: load_time_seconds, max: 2 }\n  - { name: err, metric: error_pct, max: 1.5 }\n',
  );
  assert.deepEqual(formatGateReport(evaluateGates(policy, evidence(subject(12, [evaluation({ load_time_seconds: 1.25, error_pct: 2 })])))), [
    '[gate-1] load time 1.25s <= 2s PASS',
    '[gate-2] err 2% <= 1.50% FAIL',
  ]);
});

test('formatNumber writes thresholds as people do', () => {
  assert.equal(formatNumber(0.9), '0.90');
  assert.equal(formatNumber(0.923), '0.923');
  assert.equal(formatNumber(412), '412');
  assert.equal(formatNumber(0.1 + 0.2), '0.30');
  assert.equal(formatNumber(0.0000001), '0.00');
});

test('reports and evidence match their wire schemas', () => {
  if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)));
  const ev = evidence(subject(12, [evaluation({ accuracy: 0.923, safety_score: 0.971, p99_latency_ms: 412 })]));
  assert.equal(Value.Check(GateEvidenceSchema, ev), true);
  assert.equal(Value.Check(GateReportSchema, evaluateGates(POLICY, ev)), true);
  assert.equal(Value.Check(PolicyDocumentSchema, POLICY), true);
});
