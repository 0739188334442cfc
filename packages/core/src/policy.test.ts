import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { closestName, isPolicyName, parsePolicy } from './policy.js';

const DESIGN_POLICY = `policy: chatbot-promotion
target_alias: champion
gates:
  - { name: accuracy, metric: accuracy, min: 0.90 }
  - { name: safety, metric: safety_score, min: 0.95 }
  - { name: latency, metric: p99_latency_ms, max: 500 }
  - { name: no-regression, metric: accuracy, compare_to: champion, max_drop: 0.01 }
`;

function refusal(yaml: string): { message: string; line: unknown; key: unknown } {
  try {
    parsePolicy(yaml);
  } catch (error) {
    assert.ok(error instanceof BerthError);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return { message: error.message, line: error.details.line, key: error.details.key };
  }
  assert.fail(`accepted:\n${yaml}`);
}

test('parses the policy of DESIGN §2 into a normalised document', () => {
  assert.deepEqual(parsePolicy(DESIGN_POLICY), {
    policy: 'chatbot-promotion',
    target_alias: 'champion',
    dataset: null,
    require_approvals: 0,
    models: [],
    gates: [
      { name: 'accuracy', metric: 'accuracy', min: 0.9, max: null, compare_to: null, max_drop: null, dataset: null },
      { name: 'safety', metric: 'safety_score', min: 0.95, max: null, compare_to: null, max_drop: null, dataset: null },
      { name: 'latency', metric: 'p99_latency_ms', max: 500, min: null, compare_to: null, max_drop: null, dataset: null },
      { name: 'no-regression', metric: 'accuracy', min: null, max: null, compare_to: 'champion', max_drop: 0.01, dataset: null },
    ],
  });
});

test('reads the optional dataset, approvals, bound models, run metrics and a compare gate without max_drop', () => {
  const doc = parsePolicy(`policy: p
target_alias: prod
dataset: golden-set@sha256:${'a'.repeat(64)}
require_approvals: 2
models: ['chatbot*', fraud]
gates:
  - name: run-acc
    metric: run:val_accuracy
    min: 0.5
    max: 1
    dataset: other
  - { name: same, metric: acc, compare_to: champion }
`);
  assert.equal(doc.dataset, `golden-set@sha256:${'a'.repeat(64)}`);
  assert.equal(doc.require_approvals, 2);
  assert.deepEqual(doc.models, ['chatbot*', 'fraud']);
  assert.deepEqual(doc.gates[0], { name: 'run-acc', metric: 'run:val_accuracy', min: 0.5, max: 1, compare_to: null, max_drop: null, dataset: 'other' });
  assert.equal(doc.gates[1]?.max_drop, 0);
});

test('accepts a policy with no gates (approvals only)', () => {
  assert.deepEqual(parsePolicy('policy: p\ntarget_alias: prod\ngates: []\nrequire_approvals: 1\n').gates, []);
});

test('an unknown key is refused naming its line and key, with a close key suggested', () => {
  const r = refusal('policy: p\ntarget_alias: prod\ngates:\n  - name: a\n    metric: acc\n    minn: 0.9\n');
  assert.equal(r.line, 6);
  assert.equal(r.key, 'gates[0].minn');
  assert.match(r.message, /^policy line 6: gates\[0\]\.minn is not a known key \(did you mean min\?\)/);
  const top = refusal('policy: p\ntarget_alias: prod\ngates: []\ncolour: blue\n');
  assert.equal(top.line, 4);
  assert.equal(top.key, 'colour');
  assert.doesNotMatch(top.message, /did you mean/);
});

test('a threshold of the wrong type is refused naming its line, key and what it got', () => {
  const r = refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, min: "0.9" }\n');
  assert.equal(r.line, 4);
  assert.equal(r.key, 'gates[0].min');
  assert.match(r.message, /must be a number \(got string "0\.9"\)/);
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, max: }\n').message, /max must be a number \(got null\)/);
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, max: [1] }\n').message, /got a list/);
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, max: {a: 1} }\n').message, /got a mapping/);
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, max: .nan }\n').message, /must be a number/);
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: 7, metric: acc, max: 1 }\n').key, 'gates[0].name');
});

test('a gate without min, max or compare_to is refused', () => {
  const r = refusal('policy: p\ntarget_alias: prod\ngates:\n  - name: a\n    metric: acc\n');
  assert.equal(r.line, 4);
  assert.equal(r.key, 'gates[0]');
  assert.match(r.message, /needs a threshold: min, max or compare_to/);
});

test('max_drop needs compare_to and must not be negative; min above max is refused', () => {
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, min: 1, max_drop: 0.1 }\n').message, /max_drop needs compare_to/);
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, compare_to: c, max_drop: -0.1 }\n').message, /must not be negative/);
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, min: 2, max: 1 }\n').message, /gates\[0\]\.max is below min \(2\)/);
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, compare_to: latest }\n').message, /compare_to is not a valid alias/);
});

test('require_approvals must be a whole number from 0', () => {
  const r = refusal('policy: p\ntarget_alias: prod\ngates: []\nrequire_approvals: -1\n');
  assert.equal(r.line, 4);
  assert.equal(r.key, 'require_approvals');
  assert.match(refusal('policy: p\ntarget_alias: prod\ngates: []\nrequire_approvals: 1.5\n').message, /whole number/);
});

test('duplicate gate names and duplicate keys are refused', () => {
  const r = refusal('policy: p\ntarget_alias: prod\ngates:\n  - { name: a, metric: acc, min: 1 }\n  - { name: a, metric: acc, max: 2 }\n');
  assert.equal(r.line, 5);
  assert.equal(r.key, 'gates[1].name');
  const dup = refusal('policy: p\npolicy: q\ntarget_alias: prod\ngates: []\n');
  assert.equal(dup.line, 2);
  assert.match(dup.message, /^policy line 2: /);
});

test('required keys, names and shapes are checked', () => {
  assert.equal(refusal('target_alias: prod\ngates: []\n').key, 'policy');
  assert.equal(refusal('policy: p\ngates: []\n').key, 'target_alias');
  assert.equal(refusal('policy: p\ntarget_alias: prod\n').key, 'gates');
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates: {}\n').key, 'gates');
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates:\n').key, 'gates');
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates:\n  - acc\n').key, 'gates[0]');
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates:\n  - {metric: acc, min: 1}\n').key, 'gates[0].name');
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates:\n  - {name: a, metric: "acc?", min: 1}\n').key, 'gates[0].metric');
  assert.equal(refusal('policy: "bad name"\ntarget_alias: prod\ngates: []\n').key, 'policy');
  assert.equal(refusal('policy: p\ntarget_alias: "1"\ngates: []\n').key, 'target_alias');
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates: []\nmodels: chatbot\n').key, 'models');
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates: []\nmodels: ["bad name!"]\n').key, 'models[0]');
  assert.equal(refusal('- a\n- b\n').key, 'policy');
  assert.equal(refusal('').line, 1);
  assert.equal(refusal('policy: p\ntarget_alias: prod\ngates: []\n[1]: x\n').line, 4);
  const gates = Array.from({ length: 101 }, (_, i) => `  - { name: g${i}, metric: m, min: 0 }`).join('\n');
  assert.match(refusal(`policy: p\ntarget_alias: prod\ngates:\n${gates}\n`).message, /more than 100 gates/);
});

test('a YAML syntax error names its line', () => {
  const r = refusal('policy: p\ntarget_alias: prod\ngates: [\n  {name: a\n');
  assert.equal(typeof r.line, 'number');
  assert.match(r.message, /^policy line \d+: /);
  assert.equal(r.key, null);
});

test('a YAML alias is refused at the key that repeats a node, as in deployments', () => {
  const r = refusal('policy: p\ntarget_alias: prod\ngates:\n  - &g { name: a, metric: accuracy, min: 0.9 }\n  - *g\n');
  assert.equal(r.line, 5);
  assert.equal(r.key, 'gates[1]');
  assert.match(r.message, /^policy line 5: gates\[1\] repeats a node with a YAML alias/);
});

test('closestName suggests a near name and nothing for a far one', () => {
  assert.equal(closestName('safety_scor', ['accuracy', 'safety_score']), 'safety_score');
  assert.equal(closestName('ACCURACY', ['accuracy']), 'accuracy');
  assert.equal(closestName('latency', ['accuracy']), undefined);
  assert.equal(isPolicyName('chatbot-promotion'), true);
  assert.equal(isPolicyName('-x'), false);
});
