import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeployment, type Rollout, type ServedReport, type ServedVersion } from '@berth/core';
import { evidenceSummary, seriesOf, splitNow, splitServed, versionStats } from './served-stats.js';

const v = (version: number, over: Partial<ServedVersion> = {}): ServedVersion => ({
  version,
  weight: 100,
  shadow: false,
  requests: 10,
  errors: 0,
  p50_ms: 10,
  p99_ms: 20,
  tokens_in: 0,
  tokens_out: 0,
  judged: 0,
  below: 0,
  mean_score: null,
  ...over,
});
const report = (gateway: string, to: string, versions: ServedVersion[]): ServedReport => ({
  deployment: 'chatbot',
  gateway,
  from: to,
  to,
  versions,
  shadow: null,
  received_at: to,
});

describe('versionStats', () => {
  it('sums requests and errors, weights medians by requests, keeps the highest p99 and weights scores by judged count', () => {
    const stats = versionStats([
      report('g1', '2026-03-08T14:32:00Z', [
        v(1, { requests: 30, errors: 3, p50_ms: 10, p99_ms: 50, judged: 2, mean_score: 0.5 }),
        v(2, { requests: 0, p50_ms: null, p99_ms: null }),
      ]),
      report('g2', '2026-03-08T14:32:00Z', [v(1, { requests: 10, errors: 1, p50_ms: 30, p99_ms: 40, judged: 6, mean_score: 0.9 }), v(3, { shadow: true })]),
    ]);
    assert.deepEqual(stats[0], {
      label: 'v1',
      version: 1,
      shadow: false,
      requests: 40,
      errors: 4,
      errorRate: 0.1,
      p50: 15,
      p99: 50,
      judged: 8,
      meanScore: 0.8,
    });
    assert.deepEqual(stats[1], {
      label: 'v2',
      version: 2,
      shadow: false,
      requests: 0,
      errors: 0,
      errorRate: null,
      p50: null,
      p99: null,
      judged: 0,
      meanScore: null,
    });
    assert.equal(stats[2]?.label, 'v3 (shadow)');
  });
});

describe('seriesOf', () => {
  it('makes one point per window end, null where a version reported nothing', () => {
    const s = seriesOf([
      report('g2', '2026-03-08T14:32:10.000Z', [v(1, { p99_ms: 30 }), v(2, { requests: 4, errors: 1, p99_ms: 90, judged: 1, mean_score: 0.25 })]),
      report('g1', '2026-03-08T14:32:00.000Z', [v(1, { p99_ms: 20 })]),
      report('g1', '2026-03-08T14:32:10.200Z', [v(1, { p99_ms: 60 })]),
    ]);
    const t0 = Date.parse('2026-03-08T14:32:00Z') / 1000;
    assert.deepEqual(s.t, [t0, t0 + 10]);
    assert.deepEqual(s.labels, ['v1', 'v2']);
    assert.deepEqual(s.p99, [
      [20, 60],
      [null, 90],
    ]);
    assert.deepEqual(s.errorRate, [
      [0, 0],
      [null, 25],
    ]);
    assert.deepEqual(s.quality, [
      [null, null],
      [null, 0.25],
    ]);
    assert.deepEqual(s.p50[0], [10, 10]);
  });
});

describe('splitNow and splitServed', () => {
  const doc = parseDeployment(
    'deployment: chatbot\nmodel: cs-bot\nstrategy: canary\nstable: champion\ncandidate: challenger\nsteps: [{weight: 10}, {weight: 100}]\nupstreams: [{versions: "*", url: "http://127.0.0.1:9/v1"}]\n',
  );
  const rollout: Rollout = {
    id: 'r1',
    deployment: 'chatbot',
    kind: 'canary',
    stable_version: 1,
    candidate_version: 2,
    state: 'progressing',
    step: 0,
    weight: 10,
    started_at: '2026-03-08T14:32:00Z',
    step_started_at: '2026-03-08T14:32:00Z',
    updated_at: '2026-03-08T14:32:00Z',
    last_decision: null,
  };
  it('shows the canary weight on the candidate while its rollout is live, and everything on the stable holder otherwise', () => {
    assert.deepEqual(splitNow(doc, { champion: 1, challenger: 2 }, rollout), [
      { version: 1, aliases: ['champion'], weight: 90, shadow: false },
      { version: 2, aliases: ['challenger'], weight: 10, shadow: false },
    ]);
    assert.deepEqual(splitNow(doc, { champion: 1, challenger: 2 }, { ...rollout, state: 'aborted' }), [
      { version: 1, aliases: ['champion'], weight: 100, shadow: false },
    ]);
  });
  it('lists a shadow candidate apart, at no client weight', () => {
    const shadow = parseDeployment(
      'deployment: s\nmodel: cs-bot\nstrategy: shadow\nstable: champion\ncandidate: challenger\nupstreams: [{versions: "*", url: "http://127.0.0.1:9/v1"}]\n',
    );
    assert.deepEqual(splitNow(shadow, { champion: 1, challenger: 3 }, null), [
      { version: 1, aliases: ['champion'], weight: 100, shadow: false },
      { version: 3, aliases: ['challenger'], weight: 0, shadow: true },
    ]);
  });
  it('reads a past split from what was served', () => {
    assert.deepEqual(
      splitServed({
        deployment: 'chatbot',
        at: '2026-03-08T14:32:00Z',
        reports: [],
        versions: [{ version: 1, requests: 9, share: 0.9, weight: 90, shadow: false }],
      }),
      [{ version: 1, aliases: [], weight: 90, shadow: false }],
    );
  });
});

describe('evidenceSummary', () => {
  it('puts the verdict, each SLO check, the window and the samples in words, and names anything else', () => {
    assert.deepEqual(
      evidenceSummary({
        slos: {
          verdict: 'fail',
          checks: [
            { slo: 'error_rate', observed: 0.25, threshold: 0.02, samples: 40, min_samples: 20, verdict: 'fail' },
            { slo: 'quality', observed: null, threshold: 0.1, samples: 0, min_samples: 50, verdict: 'inconclusive' },
            { slo: 'p99_latency_ms', observed: 812.4, threshold: 800, samples: 40, min_samples: 20, verdict: 'fail' },
          ],
        },
        window: { from: '2026-03-08T14:32:00.000Z', to: '2026-03-08T14:33:00.000Z' },
        samples: { requests: 40, errors: 10, p50_ms: 32.68528399999923 },
        probes: { consecutive: 3 },
      }),
      [
        'SLO verdict: fail',
        'error_rate: 0.25 against 0.02 (40 samples, 20 needed) — fail',
        'quality: no data against 0.1 (0 samples, 50 needed) — inconclusive',
        'p99_latency_ms: 812 against 800 (40 samples, 20 needed) — fail',
        'Window: 2026-03-08T14:32:00.000Z to 2026-03-08T14:33:00.000Z',
        'Samples: requests 40, errors 10, p50_ms 32.7',
        'Also recorded: probes',
      ],
    );
    assert.deepEqual(evidenceSummary({}), []);
  });
});
