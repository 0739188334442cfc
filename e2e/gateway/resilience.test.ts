import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Rollout } from '@berth/core';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';
import {
  Load,
  applyDeployment,
  chat,
  countVersions,
  deploymentEvents,
  metricSum,
  metrics,
  pushVersions,
  sleep,
  startGateway,
  startRegistry,
  waitUntil,
  type GatewayProcess,
  type Registry,
} from './support.js';

/**
 * The gateway under change and failure: alias moves under load, the registry going away while
 * the gateway serves, and a gateway killed in the middle of a rollout.
 */
describe('gateway resilience, end to end', () => {
  let reg: Registry;
  /** The gateway that analyses and decides. */
  let gw: GatewayProcess;
  /** A second gateway that only routes (`--no-analysis`): a move must reach every gateway. */
  let gw2: GatewayProcess;
  let up: FakeOpenAI;

  before(async () => {
    reg = await startRegistry('berth-e2e-resilience-');
    up = await startFakeOpenAI('up', { latencyMs: 2 });
    gw = await startGateway(reg.url, { id: 'gw-main' });
    gw2 = await startGateway(reg.url, { id: 'gw-router', noAnalysis: true });
  });
  after(async () => {
    await gw?.stop();
    await gw2?.stop();
    await up?.close();
    await reg?.stop();
  });

  const single = async (model: string, deployment: string) => {
    await pushVersions(reg.client, model, 2);
    await reg.client.setAlias(model, 'live', 1);
    await applyDeployment(
      reg,
      `deployment: ${deployment}
model: ${model}
strategy: single
stable: live
upstreams:
  - {versions: "*", url: ${up.url}}
analysis_interval: 200ms
`,
    );
    for (const g of [gw, gw2]) await waitUntil(`${deployment} routed by ${g.id}`, async () => (await chat(g.url, deployment)).version === `${model}:1`);
  };

  it('100 alias moves under 16 connections: no request fails, and every gateway serves each move within 1 s', async () => {
    await single('moves-m', 'moves-bot');
    const load = new Load([gw.url, gw2.url], 'moves-bot', 16);
    const delays: number[] = [];
    try {
      for (let i = 0; i < 100; i++) {
        const version = i % 2 === 0 ? 2 : 1;
        await reg.client.setAlias('moves-m', 'live', version, { expect: version === 2 ? 1 : 2 });
        const moved = performance.timeOrigin + performance.now();
        const want = `moves-m:${version}`;
        const seenBy = await waitUntil(
          `move ${i + 1} (to ${want}) served by both gateways`,
          () => {
            const later = load.since(moved).filter((s) => s.version === want);
            const first = [0, 1].map((t) => later.find((s) => s.target === t));
            return first.every(Boolean) && first.map((s) => s!.end - moved);
          },
          5000,
          5,
        );
        delays.push(Math.max(...seenBy));
      }
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures().slice(0, 5), [], `${load.failures().length} failed requests of ${load.samples.length}`);
    assert.ok(load.samples.length > 500, `${load.samples.length} requests under load`);
    const worst = Math.max(...delays);
    assert.ok(worst < 1000, `slowest move took ${worst.toFixed(0)} ms to reach both gateways; all: ${delays.map((d) => d.toFixed(0)).join(' ')}`);
  });

  it('the registry killed while the gateways serve: requests keep succeeding; restarted, the gateways catch up with a move', async () => {
    await single('survive-m', 'survive-bot');
    const load = new Load([gw.url, gw2.url], 'survive-bot', 8);
    try {
      await sleep(300);
      await reg.kill();
      const killed = load.samples.length;
      for (const g of [gw, gw2])
        await waitUntil(
          `${g.id} notices the registry is gone`,
          async () => metricSum(await metrics(g.url), 'berth_gateway_registry_connected', {}) === 0,
          10_000,
        );
      await sleep(1500);
      assert.ok(load.samples.length - killed > 50, `${load.samples.length - killed} requests answered while the registry was down`);
      assert.ok(
        load.samples.slice(killed).every((s) => s.version === 'survive-m:1'),
        'the last known state serves',
      );
      await reg.restart();
      for (const g of [gw, gw2])
        await waitUntil(`${g.id} reconnects`, async () => metricSum(await metrics(g.url), 'berth_gateway_registry_connected', {}) === 1, 20_000, 100);
      await reg.client.setAlias('survive-m', 'live', 2);
      const moved = performance.timeOrigin + performance.now();
      await waitUntil(
        'both gateways serve the move made after the restart',
        () => [0, 1].every((t) => load.since(moved).some((s) => s.target === t && s.version === 'survive-m:2')),
        5000,
      );
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures().slice(0, 5), [], `${load.failures().length} failed requests of ${load.samples.length}`);
  });

  it('a gateway killed in the middle of a canary resumes at the same step with the same weight', async () => {
    await pushVersions(reg.client, 'resume-m', 2);
    await reg.client.setAlias('resume-m', 'champion', 1);
    await applyDeployment(
      reg,
      `deployment: resume-bot
model: resume-m
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 10, pause: 500ms}, {weight: 40, pause: 60s}, {weight: 100}]
upstreams:
  - {versions: "*", url: ${up.url}}
analysis_interval: 200ms
`,
    );
    await waitUntil('resume-bot routed', async () => (await chat(gw.url, 'resume-bot')).status === 200);
    const load = new Load([gw.url], 'resume-bot', 2);
    await reg.client.setAlias('resume-m', 'challenger', 2);
    let before: Rollout;
    try {
      before = await waitUntil(
        'the canary at step 1',
        async () => {
          const r = (await reg.client.deploymentStatus('resume-bot')).rollout;
          return r?.step === 1 && r;
        },
        20_000,
      );
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures(), []);
    await gw.stop('SIGKILL');
    gw = await startGateway(reg.url, { id: 'gw-main' });
    await waitUntil('resume-bot routed again', async () => (await chat(gw.url, 'resume-bot')).status === 200);
    const answers = [];
    for (let i = 0; i < 200; i++) answers.push(await chat(gw.url, 'resume-bot'));
    assert.ok(
      answers.every((a) => a.status === 200),
      'every request answered',
    );
    const share = (countVersions(answers)['resume-m:2'] ?? 0) / answers.length;
    assert.ok(share > 0.25 && share < 0.55, `the candidate's share after the restart is ${share} (step 1: 40%)`);
    await sleep(1000);
    const now = (await reg.client.deploymentStatus('resume-bot')).rollout;
    assert.deepEqual(
      [now?.id, now?.step, now?.weight, now?.state],
      [before.id, 1, 40, 'progressing'],
      'the same rollout, at the same step: nothing restarted it',
    );
    const started = (await deploymentEvents(reg.client, 'resume-m', 'resume-bot')).filter((e) => e.type === 'deployment.rollout_started');
    assert.equal(started.length, 1);
  });
});
