import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEvent } from '@berth/core';
import { FakeUpstreams } from './fake-openai.js';
import {
  Load,
  applyDeployment,
  chat,
  deploymentEvents,
  feedbackCli,
  metricSum,
  metrics,
  pushVersions,
  reasonOf,
  rolloutOf,
  startGateway,
  startHookReceiver,
  startRegistry,
  waitUntil,
  type GatewayProcess,
  type Hook,
  type Registry,
} from './support.js';

/** How late after the quality minimum sample a rollback may come: one analysis interval, plus a decision's round trip on a busy machine. */
const INTERVAL_MS = 200;
const SLACK_MS = 500;

/**
 * A canary that passes and canaries rolled back by quality, through the real registry and
 * gateway processes: the rollback is an audited alias move, announced by webhook, and comes
 * within one analysis interval after the quality SLO's minimum sample.
 */
describe('canary analysis and rollback, end to end', () => {
  let reg: Registry;
  let gw: GatewayProcess;
  let hook: Hook;
  const fakes = new FakeUpstreams();
  const fake: FakeUpstreams['start'] = (name, behaviour) => fakes.start(name, behaviour);

  before(async () => {
    reg = await startRegistry('berth-e2e-canary-');
    hook = await startHookReceiver();
    await reg.ok(['webhook', 'add', hook.url, '--events', 'deployment.*,alias.*']);
    gw = await startGateway(reg.url);
  });
  after(async () => {
    await gw?.stop();
    await fakes.closeAll();
    await hook?.close();
    await reg?.stop();
  });

  const audit = async (model: string) => JSON.parse(await reg.ok(['audit', '--model', model, '--json'])) as AuditEvent[];
  const aborted = (model: string, deployment: string) =>
    waitUntil(
      `${deployment}'s rollout aborted`,
      async () => (await deploymentEvents(reg.client, model, deployment)).find((e) => e.type === 'deployment.aborted'),
      30_000,
      50,
    );

  it('a canary passing every step moves champion to the candidate, audited and announced', async () => {
    const up = await fake('pass-up', { latencyMs: 5 });
    await pushVersions(reg.client, 'pass-m', 2);
    await reg.ok(['alias', 'set', 'pass-m', 'champion', '1']);
    await applyDeployment(
      reg,
      `deployment: pass-bot
model: pass-m
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 50, pause: 1s}, {weight: 100}]
upstreams:
  - {versions: "*", url: ${up.url}}
slos:
  error_rate: {max: 0.05, min_samples: 5}
  p99_latency_ms: {max: 2000, min_samples: 5}
analysis_interval: 200ms
`,
    );
    await waitUntil('pass-bot routed', async () => (await chat(gw.url, 'pass-bot')).status === 200);
    const load = new Load([gw.url], 'pass-bot', 2);
    // As the flow runs it: a gated promotion to challenger, and the canary starts by itself.
    const policy = join(reg.dir, 'pass-challenger.yaml');
    await writeFile(
      policy,
      'policy: pass-challenger\ntarget_alias: challenger\nmodels: [pass-m]\ngates:\n  - { name: accuracy, metric: accuracy, min: 0.8 }\n',
    );
    await reg.ok(['policy', 'apply', policy]);
    await reg.ok(['eval', 'record', 'pass-m:2', '--metric', 'accuracy=0.91']);
    await reg.ok(['promote', 'pass-m:2', '--to', 'challenger']);
    await waitUntil('champion moved', async () => (await reg.client.resolveAlias('pass-m', 'champion')).version === 2, 30_000, 100);
    await load.stop();
    assert.deepEqual(load.failures(), []);

    const status = await reg.client.deploymentStatus('pass-bot');
    assert.deepEqual([status.rollout?.kind, status.rollout?.state, status.rollout?.candidate_version, status.rollout?.weight], ['canary', 'completed', 2, 100]);
    const completed = (await deploymentEvents(reg.client, 'pass-m', 'pass-bot')).find((e) => e.type === 'deployment.completed')!;
    const evidence = completed.data.evidence as { slos?: { verdict?: string } };
    assert.equal(evidence.slos?.verdict, 'pass', JSON.stringify(completed.data));
    assert.equal(rolloutOf(completed).state, 'completed');

    const rows = await audit('pass-m');
    assert.ok(rows.some((r) => r.action === 'deployment.completed' && r.subject === 'pass-bot'));
    const champion = rows.find((r) => r.action === 'alias.set' && r.subject === 'pass-m@champion' && (r.after as { version?: number } | null)?.version === 2);
    assert.ok(champion, 'the champion move is in the audit trail');
    assert.equal((champion.before as { version?: number } | null)?.version, 1);
    await waitUntil('the completion reached the webhook', () => hook.events.some((e) => e.type === 'deployment.completed' && e.subject === 'pass-bot'));
    assert.equal((await chat(gw.url, 'pass-bot')).version, 'pass-m:2');
  });

  it('a canary breaking its quality SLO on `berth feedback` scores is rolled back: weight 0, alias moved back, audited, webhook fired', async () => {
    const up = await fake('fb-up');
    await pushVersions(reg.client, 'fb-m', 2);
    await reg.ok(['alias', 'set', 'fb-m', 'champion', '1']);
    // The challenger held version 1 before: the rollback has somewhere to move it back to.
    await reg.ok(['alias', 'set', 'fb-m', 'challenger', '1']);
    await applyDeployment(
      reg,
      `deployment: fb-bot
model: fb-m
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 50, pause: 60s}, {weight: 100}]
upstreams:
  - {versions: "*", url: ${up.url}}
slos:
  quality: {min_score: 0.5, max_fraction_below: 0.2, window: 20, min_samples: 6}
analysis_interval: ${INTERVAL_MS}ms
`,
    );
    await waitUntil('fb-bot routed', async () => (await chat(gw.url, 'fb-bot')).status === 200);
    await reg.ok(['alias', 'set', 'fb-m', 'challenger', '2']);
    await waitUntil('the canary started', async () => (await reg.client.deploymentStatus('fb-bot')).rollout?.state === 'progressing');
    const candidateIds: string[] = [];
    await waitUntil(
      'six answers from the candidate',
      async () => {
        const r = await chat(gw.url, 'fb-bot');
        if (r.version === 'fb-m:2' && r.requestId) candidateIds.push(r.requestId);
        return candidateIds.length >= 6;
      },
      20_000,
      0,
    );
    // Five low scores: under the minimum sample the verdict is inconclusive, so the canary holds.
    const results = await Promise.all(candidateIds.slice(0, 5).map((id) => feedbackCli(reg, gw, id, 0.1)));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    assert.equal(
      (await deploymentEvents(reg.client, 'fb-m', 'fb-bot')).filter((e) => e.type === 'deployment.aborted').length,
      0,
      'no verdict under the minimum sample',
    );
    const last = await feedbackCli(reg, gw, candidateIds[5]!, 0.1);
    const reached = Date.now();
    assert.equal(last.code, 0, last.stderr);

    const event = await aborted('fb-m', 'fb-bot');
    const late = Date.parse(event.timestamp) - reached;
    assert.ok(late <= INTERVAL_MS + SLACK_MS, `rolled back ${late} ms after the minimum sample (interval ${INTERVAL_MS} ms)`);
    assert.match(reasonOf(event), /quality/);
    assert.deepEqual([rolloutOf(event).state, rolloutOf(event).weight], ['aborted', 0]);
    const evidence = event.data.evidence as { slos?: { verdict?: string; checks?: { slo: string; verdict: string }[] } };
    assert.equal(evidence.slos?.verdict, 'fail');
    assert.ok(
      evidence.slos?.checks?.some((c) => c.slo === 'quality' && c.verdict === 'fail'),
      JSON.stringify(evidence),
    );

    assert.equal((await reg.client.resolveAlias('fb-m', 'challenger')).version, 1, 'the candidate alias moved back');
    assert.equal((await reg.client.resolveAlias('fb-m', 'champion')).version, 1);
    await waitUntil('no more traffic to fb-m:2', async () => (await chat(gw.url, 'fb-bot')).version === 'fb-m:1', 2000);
    for (let i = 0; i < 20; i++) assert.equal((await chat(gw.url, 'fb-bot')).version, 'fb-m:1');

    const rows = await audit('fb-m');
    const abortRow = rows.find((r) => r.action === 'deployment.aborted' && r.subject === 'fb-bot');
    assert.ok(abortRow, 'the abort is audited');
    assert.match(abortRow.reason ?? '', /quality/);
    const moveBack = rows.find(
      (r) =>
        r.action === 'alias.set' &&
        r.subject === 'fb-m@challenger' &&
        (r.after as { version?: number } | null)?.version === 1 &&
        /deployment fb-bot: canary of fb-m:2 aborted: .*quality/.test(r.reason ?? ''),
    );
    assert.ok(moveBack, `the alias move back is audited with the reason: ${JSON.stringify(rows.map((r) => [r.action, r.subject, r.reason]))}`);

    await waitUntil('the webhook got the abort and the alias move', () => {
      const types = hook.events.filter((e) => e.model === 'fb-m').map((e) => e.type);
      return types.includes('deployment.aborted') && hook.events.some((e) => e.model === 'fb-m' && e.type === 'alias.moved' && e.data.version === 1);
    });
  });

  it('a canary whose answers the judge scores low is rolled back within one analysis interval of the minimum sample', async () => {
    const rubric = await reg.client.pushPrompt('fb-rubric', {
      template: 'Score the answer from 0 to 1.\nQuestion: {{ input }}\nAnswer: {{ output }}\nReply with JSON {"score": x}.',
    });
    const judgedBad: number[] = [];
    const judge = await fake('judge', {
      answer: (body) => {
        const text = JSON.stringify(body.messages ?? []);
        if (!text.includes('bad answer')) return '{"score": 0.9}';
        judgedBad.push(Date.now());
        return '{"score": 0.1}';
      },
    });
    const good = await fake('judge-stable', { answer: 'good answer' });
    const bad = await fake('judge-candidate', { answer: 'bad answer' });
    await pushVersions(reg.client, 'judge-m', 2);
    await reg.ok(['alias', 'set', 'judge-m', 'champion', '1']);
    await applyDeployment(
      reg,
      `deployment: judge-bot
model: judge-m
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 50, pause: 60s}, {weight: 100}]
upstreams:
  - {versions: [1], url: ${good.url}}
  - {versions: [2], url: ${bad.url}}
slos:
  quality: {min_score: 0.5, max_fraction_below: 0.2, window: 20, min_samples: 8}
analysis_interval: ${INTERVAL_MS}ms
judge: {url: ${judge.url}, model: judge, rubric: "fb-rubric:${rubric.version}", sample: 1, timeout: 5s}
`,
    );
    await waitUntil('judge-bot routed', async () => (await chat(gw.url, 'judge-bot')).status === 200);
    const load = new Load([gw.url], 'judge-bot', 2);
    await reg.ok(['alias', 'set', 'judge-m', 'challenger', '2']);
    const event = await aborted('judge-m', 'judge-bot');
    await load.stop();
    assert.deepEqual(load.failures(), []);

    const reachedAt = judgedBad[7];
    assert.ok(reachedAt !== undefined, `the judge scored ${judgedBad.length} candidate answers`);
    const late = Date.parse(event.timestamp) - reachedAt;
    assert.ok(late <= INTERVAL_MS + SLACK_MS, `rolled back ${late} ms after the minimum sample (interval ${INTERVAL_MS} ms)`);
    const asked = judge.completions()[0]!;
    assert.equal(asked.body?.model, 'judge');
    assert.match(JSON.stringify(asked.body?.messages), /Score the answer from 0 to 1/);
    assert.equal((await reg.client.resolveAlias('judge-m', 'champion')).version, 1);
    await assert.rejects(reg.client.resolveAlias('judge-m', 'challenger'), /challenger/, 'a candidate alias with no previous holder is removed');
    const m = await metrics(gw.url);
    assert.ok(metricSum(m, 'berth_gateway_quality_score_count', { deployment: 'judge-bot', version: '2', source: 'judge' }) >= 8);
    const rows = await audit('judge-m');
    assert.ok(rows.some((r) => r.action === 'deployment.aborted' && /quality/.test(r.reason ?? '')));
  });
});
