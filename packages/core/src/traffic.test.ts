import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentDocument, Rollout } from './deployment-schemas.js';
import { outputsDiffer, parseAbKey, pick, splitFor, stickyBucket, withoutRefused } from './traffic.js';

function doc(over: Partial<DeploymentDocument>): DeploymentDocument {
  return {
    deployment: 'chatbot',
    model: 'cs-bot',
    strategy: 'single',
    stable: 'champion',
    candidate: null,
    steps: [],
    ab: null,
    upstreams: [{ versions: '*', url: 'http://127.0.0.1:1/v1', adapter: null, protocol: 'openai', health: null, timeout_ms: 60000 }],
    slos: { error_rate: null, p99_latency_ms: null, quality: null },
    analysis_interval_ms: 10000,
    bake_ms: 0,
    judge: null,
    shadow: null,
    warmup: { checks: 3, interval_ms: 1000, timeout_ms: 60000 },
    ...over,
  };
}

function rollout(over: Partial<Rollout>): Rollout {
  const t = '2026-03-08T14:32:00.000Z';
  return {
    id: 'ro_1',
    deployment: 'chatbot',
    kind: 'canary',
    stable_version: 12,
    candidate_version: 13,
    state: 'progressing',
    step: 0,
    weight: 10,
    started_at: t,
    step_started_at: t,
    updated_at: t,
    last_decision: null,
    ...over,
  };
}

const entries = (m: Map<number, number>) => [...m.entries()];

describe('splitFor', () => {
  it('sends everything to the stable holder when the strategy is single', () => {
    const s = splitFor(doc({}), { champion: 12 }, null);
    assert.deepEqual(entries(s.weights), [[12, 100]]);
    assert.equal(s.shadow, null);
  });
  it('routes nowhere when the stable alias is unset', () => {
    assert.deepEqual(entries(splitFor(doc({}), { champion: null }, null).weights), []);
    assert.deepEqual(entries(splitFor(doc({}), {}, null).weights), []);
  });
  it('gives a live canary its weight when the rollout is of the candidate holder', () => {
    const d = doc({ strategy: 'canary', candidate: 'challenger', steps: [{ weight: 10, pause_ms: 0 }] });
    assert.deepEqual(entries(splitFor(d, { champion: 12, challenger: 13 }, rollout({})).weights), [
      [12, 90],
      [13, 10],
    ]);
    assert.deepEqual(entries(splitFor(d, { champion: 12, challenger: 13 }, rollout({ state: 'held', weight: 100 })).weights), [[13, 100]]);
  });
  it('keeps a canary on the stable holder when the rollout is finished, of another version, or absent', () => {
    const d = doc({ strategy: 'canary', candidate: 'challenger' });
    const a = { champion: 12, challenger: 13 };
    assert.deepEqual(entries(splitFor(d, a, rollout({ state: 'aborted' })).weights), [[12, 100]]);
    assert.deepEqual(entries(splitFor(d, a, rollout({ state: 'completed' })).weights), [[12, 100]]);
    assert.deepEqual(entries(splitFor(d, a, rollout({ candidate_version: 14 })).weights), [[12, 100]]);
    assert.deepEqual(entries(splitFor(d, a, rollout({ kind: 'bake' })).weights), [[12, 100]]);
    assert.deepEqual(entries(splitFor(d, { champion: 12, challenger: null }, rollout({})).weights), [[12, 100]]);
    assert.deepEqual(entries(splitFor(d, a, null).weights), [[12, 100]]);
  });
  it('adds the shares up when canary candidate and stable are one version', () => {
    const d = doc({ strategy: 'canary', candidate: 'challenger' });
    assert.deepEqual(entries(splitFor(d, { champion: 13, challenger: 13 }, rollout({ weight: 50 })).weights), [[13, 100]]);
  });
  it('keeps blue-green on the old side until the switch, then the stable holder', () => {
    const d = doc({ strategy: 'blue-green', candidate: 'green' });
    const a = { champion: 13, green: 13 };
    assert.deepEqual(entries(splitFor(d, a, rollout({ kind: 'blue-green', weight: 0 })).weights), [[12, 100]]);
    assert.deepEqual(entries(splitFor(d, a, rollout({ kind: 'blue-green', state: 'completed' })).weights), [[13, 100]]);
    assert.deepEqual(entries(splitFor(d, a, rollout({ kind: 'blue-green', stable_version: null })).weights), [[13, 100]]);
    assert.deepEqual(entries(splitFor(d, a, rollout({ kind: 'bake' })).weights), [[13, 100]]);
  });
  it('names the candidate holder as shadow only when it differs from the stable one', () => {
    const d = doc({ strategy: 'shadow', candidate: 'challenger', shadow: { sample: 1 } });
    const s = splitFor(d, { champion: 12, challenger: 13 }, null);
    assert.deepEqual(entries(s.weights), [[12, 100]]);
    assert.equal(s.shadow, 13);
    assert.equal(splitFor(d, { champion: 12, challenger: 12 }, null).shadow, null);
    assert.equal(splitFor(d, { champion: 12, challenger: null }, null).shadow, null);
    assert.equal(splitFor(doc({ strategy: 'shadow', candidate: null }), { champion: 12 }, null).shadow, null);
  });
  it('gives each A/B alias its weight, adding aliases on one version and skipping unset ones', () => {
    const d = doc({ strategy: 'ab', candidate: 'challenger', ab: { weights: { champion: 50, challenger: 30, exp: 20 }, key: 'header:x-user-id' } });
    assert.deepEqual(entries(splitFor(d, { champion: 12, challenger: 13, exp: 14 }, null).weights), [
      [12, 50],
      [13, 30],
      [14, 20],
    ]);
    assert.deepEqual(entries(splitFor(d, { champion: 12, challenger: 12, exp: null }, null).weights), [[12, 80]]);
    assert.deepEqual(entries(splitFor(doc({ strategy: 'ab' }), { champion: 12 }, null).weights), []);
  });
});

describe('withoutRefused', () => {
  const ok = (v: number) => v !== 13;
  it("moves a refused version's share to the routable fallback", () => {
    assert.deepEqual(
      entries(
        withoutRefused(
          new Map([
            [12, 90],
            [13, 10],
          ]),
          ok,
          12,
        ),
      ),
      [[12, 100]],
    );
  });
  it('drops the share when the fallback is refused or absent', () => {
    assert.deepEqual(entries(withoutRefused(new Map([[13, 100]]), ok, 13)), []);
    assert.deepEqual(entries(withoutRefused(new Map([[13, 100]]), ok, null)), []);
  });
  it('keeps every routable share as it was', () => {
    assert.deepEqual(
      entries(
        withoutRefused(
          new Map([
            [12, 60],
            [14, 40],
          ]),
          ok,
          12,
        ),
      ),
      [
        [12, 60],
        [14, 40],
      ],
    );
  });
});

describe('pick', () => {
  const w = new Map([
    [12, 90],
    [13, 10],
  ]);
  it('picks by cumulative share when u falls in a version range', () => {
    assert.equal(pick(w, 0), 12);
    assert.equal(pick(w, 0.899), 12);
    assert.equal(pick(w, 0.9), 13);
    assert.equal(pick(w, 0.999999), 13);
  });
  it('scales shares that do not sum to 100 and skips zero shares', () => {
    const z = new Map([
      [12, 0],
      [13, 20],
      [14, 20],
    ]);
    assert.equal(pick(z, 0), 13);
    assert.equal(pick(z, 0.5), 14);
    assert.equal(pick(z, 1), 14);
  });
  it('returns null when nothing has a share', () => {
    assert.equal(pick(new Map(), 0.5), null);
    assert.equal(pick(new Map([[12, 0]]), 0.5), null);
  });
});

describe('stickyBucket', () => {
  it('maps one key to one bucket in [0, 1) when called again', () => {
    const b = stickyBucket('user-42');
    assert.equal(stickyBucket('user-42'), b);
    assert.ok(b >= 0 && b < 1);
    assert.notEqual(stickyBucket('user-43'), b);
  });
  it('spreads many keys close to the split when they are distinct', () => {
    let below = 0;
    for (let i = 0; i < 10000; i++) if (stickyBucket(`user-${i}`) < 0.3) below++;
    assert.ok(below > 2700 && below < 3300, `${below} of 10000 below 0.3`);
  });
  it('spreads keys that differ in one last character when they are short', () => {
    const below = Array.from({ length: 20 }, (_, i) => stickyBucket(`u${i}`) < 0.5).filter(Boolean).length;
    assert.ok(below > 4 && below < 16, `${below} of 20 below 0.5`);
  });
});

describe('parseAbKey', () => {
  it('reads header and body keys when well formed', () => {
    assert.deepEqual(parseAbKey('header:X-User-Id'), { from: 'header', name: 'x-user-id' });
    assert.deepEqual(parseAbKey('body:user'), { from: 'body', name: 'user' });
  });
  it('returns null when the source is unknown or the name empty', () => {
    assert.equal(parseAbKey('cookie:x'), null);
    assert.equal(parseAbKey('header:'), null);
  });
});

describe('outputsDiffer', () => {
  it('ignores whitespace runs, edges and case when comparing', () => {
    assert.equal(outputsDiffer('Hello  world\n', ' hello world'), false);
    assert.equal(outputsDiffer('a\tb', 'A B'), false);
  });
  it('reports a difference when the words differ', () => {
    assert.equal(outputsDiffer('hello world', 'hello there'), true);
    assert.equal(outputsDiffer('ab', 'a b'), true);
  });
});
